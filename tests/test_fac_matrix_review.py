"""Issue 14.8 on the match matrix and the review queue (AppTest on the demo data):

* every heatmap column carries a label (a short code, never dropped for overlapping) and the
  legend spells out every code; the ranked tables give titles and reasons room;
* a resubmitted challenge shows its earlier reviews (who, when, what) and what changed since the
  last one, field by field; comments are shown as typed (hostile text stays text).
"""
import json

import pytest

from matching import challenges, reviews, terms
from matching import db as storage
from tests.test_views_facilitator import demo_term, facilitator, page, rep_of, texts

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

HOSTILE = "See [our notes](http://evil.example/x) ![pixel](http://evil.example/p.png) <b>now</b> :material/warning: www.evil.example"


def shown(at) -> str:
    return texts(at).replace("\\", "").replace("\u2060", "").replace("\xa0", " ").replace("\u202f", " ")


# --- The match matrix ----------------------------------------------------------------------

def heatmap_spec(at) -> dict:
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_heatmap_column_is_labelled_and_every_code_is_in_the_legend(demo_db, lang):
    at = page(demo_db, "views/fac_matrix.py", lang)
    x = heatmap_spec(at)["encoding"]["x"]
    approved = challenges.approved_challenges(demo_db, demo_term(demo_db).id)
    assert x["field"] == "code"
    # One label per column: as many distinct codes as challenges, none hidden, none cut short.
    assert len(x["sort"]) == len(set(x["sort"])) == len(approved) == 35
    assert x["axis"]["labelOverlap"] is False and x["axis"]["labelLimit"] == 0
    assert x["axis"]["labelAngle"] == -90
    assert all(len(code) <= 10 for code in x["sort"])
    legend = next(d for d in at.dataframe if d.key == "matrix_legend").value
    assert sorted(legend["code"]) == sorted(x["sort"])
    assert set(legend["challenge"]) == {c["title"] for c in approved}
    # The same code for the same challenge whichever way the matrix is sorted.
    codes = dict(zip(legend["challenge"], legend["code"]))
    at.radio(key="matrix_sort").set_value("best").run()
    again = next(d for d in at.dataframe if d.key == "matrix_legend").value
    assert dict(zip(again["challenge"], again["code"])) == codes
    assert sorted(heatmap_spec(at)["encoding"]["x"]["sort"]) == sorted(x["sort"])


def test_ranked_tables_give_titles_and_reasons_room_and_show_a_selected_row_in_full(demo_db):
    at = page(demo_db, "views/fac_matrix.py")
    team_id = at.selectbox(key="matrix_team").value
    key = f"matrix_challenges_of_{team_id}"
    table = next(d for d in at.dataframe if d.key == key)
    config = json.loads(table.proto.columns)
    assert config["name"]["width"] == config["reasons"]["width"] == "large"
    first = table.value.iloc[0]
    at.session_state[key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert f"**Challenge**: {first['name']}" in shown(at)
    assert f"**Reason**: {first['reasons']}" in shown(at)


# --- The review queue ----------------------------------------------------------------------

def returned_and_resubmitted(db, challenge_id, comments, changes):
    fac = facilitator(db)
    challenges.return_for_changes(db, fac, challenge_id, comments)
    row = storage.one(db, "SELECT department_id FROM challenges WHERE id = ?", [challenge_id])
    challenges.submit(db, rep_of(db, row["department_id"]), challenge_id, changes)


def card_texts(at) -> list[str]:
    return [t.value for t in at.text]


def test_a_resubmitted_challenge_shows_the_earlier_comments_and_what_changed(demo_db):
    cid = 12                                             # ISC, submitted in the demo data
    before = storage.one(demo_db, "SELECT problem, themes FROM challenges WHERE id = ?", [cid])
    new_problem = "First Nations and Inuit students miss funding deadlines: we know which ones now."
    returned_and_resubmitted(demo_db, cid, HOSTILE, {"problem": new_problem, "themes": ["funding", "navigation"]})
    at = page(demo_db, "views/fac_review.py")
    assert not at.exception
    expander = next(e for e in at.expander if e.label == "Earlier reviews (1)")
    said = shown(at)
    assert "Returned for changes by Alex Tremblay on " in said
    # The comments exactly as typed, as text: no link, no image, nothing run.
    assert HOSTILE in card_texts(at)
    assert "evil.example" not in " ".join(m.value for m in at.markdown)
    assert "What changed since the last review" in said
    labels = [m.value for m in expander.markdown]
    assert "**Problem statement**" in labels and "**Themes and skills**" in labels
    assert "**Title**" not in labels and "**Capacity**" not in labels          # unchanged fields are not listed
    assert before["problem"] in card_texts(at) and new_problem in card_texts(at)
    assert "funding, navigation" in card_texts(at)
    assert ", ".join(json.loads(before["themes"])) in card_texts(at)


def test_a_challenge_never_reviewed_has_no_history_and_one_resubmitted_unchanged_says_so(demo_db):
    returned_and_resubmitted(demo_db, 29, "Name the farms you will work with.", {})
    at = page(demo_db, "views/fac_review.py", "fr")
    labels = [e.label for e in at.expander]
    assert labels.count("Examens précédents (1)") == 1                    # only the one returned before
    assert "Rien n’a changé depuis le dernier examen." in shown(at)
    assert "Renvoyé pour modifications par Alex Tremblay le " in shown(at)


def test_comments_recorded_before_copies_were_kept_are_still_shown(demo_db):
    """The demo's returned challenge has comments but no review event: they show, the
    difference is said to be unknown."""
    row = storage.one(demo_db, "SELECT department_id, comments FROM challenges WHERE id = 21")
    challenges.submit(demo_db, rep_of(demo_db, row["department_id"]), 21)
    at = page(demo_db, "views/fac_review.py")
    assert row["comments"] in card_texts(at)
    assert "Returned for changes earlier (who and when were not recorded):" in shown(at)
    assert "Not known: the portal kept no copy of the challenge at that review." in shown(at)


def test_two_terms_each_challenge_has_its_own_history(demo_db):
    fac = facilitator(demo_db)
    fall = terms.create_term(demo_db, fac, {"name": "Fall 2027"})
    terms.advance_term(demo_db, fac, fall.id)                                   # planning -> intake
    rep = rep_of(demo_db, 1)
    data = {"title": "Plain-language letters for EI claimants", "problem": "Claimants do not understand "
            "the letters they receive about their Employment Insurance claim and call the centre instead.",
            "outcomes": "Rewritten letters tested with claimants.", "themes": ["plain language"],
            "language": "en", "capacity": 1, "sme_name": "Sam Expert", "sme_email": "sme@esdc.gc.ca",
            "unclassified": True}
    draft = challenges.save_draft(demo_db, rep, data, term_id=fall.id)
    challenges.submit(demo_db, rep, draft.id)
    returned_and_resubmitted(demo_db, draft.id, "Say which letters.", {"title": "Plain-language EI decision letters"})
    history = reviews.history(demo_db, fac, challenges.list_challenges(demo_db, fac, status="submitted"))
    assert [r["comments"] for r in history[draft.id]["reviews"]] == ["Say which letters."]
    assert history[draft.id]["changes"] == [{"field": "title", "before": data["title"],
                                             "now": "Plain-language EI decision letters"}]
    assert history[12]["reviews"] == [] and history[12]["changes"] is None    # Winter's, never reviewed
    at = page(demo_db, "views/fac_review.py")
    assert [e.label for e in at.expander if e.label.startswith("Earlier reviews")] == ["Earlier reviews (1)"]
    assert "Plain-language EI decision letters" in card_texts(at) and data["title"] in card_texts(at)


def test_the_review_history_is_for_those_who_may_see_the_challenge(demo_db):
    from matching.errors import PermissionDenied
    rows = challenges.list_challenges(demo_db, facilitator(demo_db), status="submitted")
    other = rep_of(demo_db, 1)
    with pytest.raises(PermissionDenied):
        reviews.history(demo_db, other, [r for r in rows if r["department_id"] != 1][:1])
