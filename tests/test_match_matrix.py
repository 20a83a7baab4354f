"""The facilitator's match matrix is served a page at a time, in either order."""
import unicodedata

import numpy as np
import pytest

from matching import accounts, matches, terms
from matching.errors import PermissionDenied

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


def _term(db) -> int:
    return terms.default_term(db).id


@pytest.fixture
def facilitator(demo_db):
    return accounts.find_user(demo_db, "facilitator@demo.gc.ca")


def test_pages_cover_every_cell_once(demo_db, facilitator):
    teams, challenges, scores = matches.match_matrix(demo_db, facilitator, _term(demo_db))
    seen = np.zeros_like(scores, dtype=int)
    team_index = {t["id"]: i for i, t in enumerate(teams)}
    challenge_index = {c["id"]: j for j, c in enumerate(challenges)}
    first = matches.matrix_view(demo_db, facilitator, _term(demo_db), page_size=10)
    for tp in range(first["team_pages"]):
        for cp in range(first["challenge_pages"]):
            page = matches.matrix_view(demo_db, facilitator, _term(demo_db), team_page=tp, challenge_page=cp, page_size=10)
            rows = [team_index[t["id"]] for t in page["teams"]]
            cols = [challenge_index[c["id"]] for c in page["challenges"]]
            np.testing.assert_allclose(page["scores"], scores[np.ix_(rows, cols)])
            seen[np.ix_(rows, cols)] += 1
    assert (seen == 1).all()


def test_best_order_puts_the_best_matched_rows_first(demo_db, facilitator):
    page = matches.matrix_view(demo_db, facilitator, _term(demo_db), order="best")
    best = page["scores"].max(axis=1)
    assert list(best) == sorted(best, reverse=True)
    names = [t["name"] for t in matches.matrix_view(demo_db, facilitator, _term(demo_db), order="name")["teams"]]
    # Alphabetical as people expect in both languages: "Étincelle" sorts with the E's.
    assert names == sorted(names, key=lambda n: unicodedata.normalize("NFKD", n).casefold())


def test_pages_out_of_range_are_clamped(demo_db, facilitator):
    page = matches.matrix_view(demo_db, facilitator, _term(demo_db), team_page=99, challenge_page=-3, page_size=20)
    assert page["team_page"] == page["team_pages"] - 1 and page["challenge_page"] == 0


def test_only_facilitators_see_the_matrix(demo_db):
    with pytest.raises(PermissionDenied):
        matches.matrix_view(demo_db, accounts.find_user(demo_db, "student@demo.sheridancollege.ca"), _term(demo_db))
