"""Attacker test (issue 12, Markdown injection): text someone typed never becomes a link, an
image, an HTML tag, an icon or formatting on anyone's page.

Streamlit renders Markdown in alerts, captions, headers, st.markdown/st.write, widget labels,
radio options, expander and tab labels, metric labels, progress text and badges. A team name
like ``![x](http://evil.example/p.png)`` would make every viewer's browser fetch an outside
image (with the portal's address as Referer); ``[click](http://evil.example)`` and a bare
``http://evil.example`` or ``www.evil.example`` would become live links.

The test fills every free-text column of a demo database that has reached every state a page
shows (pairings published, feedback given and answered, rules with reasons, a returned
challenge, a revision waiting, a next term taking challenges) with hostile text, walks every
page of every role in English and French, and checks every Markdown string of every element
with :func:`live_markdown`, a small model of what the browser's Markdown renderer (GFM with
Streamlit's plugins, as checked in Chromium) would turn into something live.
"""
from __future__ import annotations

import json
import re
import string
from datetime import date, timedelta

import pytest
from streamlit.testing.v1 import AppTest

import ui
from matching import accounts, challenges, feedback, matches, pairings, terms
from matching import db as storage
from matching.models import RUBRIC
from tests.conftest import ACCESSIBILITY, FISHERIES, term_around_today
from tests.test_app_smoke import APP

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

HOSTILE = ("Evil ![x](http://evil.example/p.png) [click](http://evil.example) http://evil.example/bare "
           "www.evil.example <img src=http://evil.example/i.png> :material/warning: **bold** "
           "<http://evil.example/auto> bob@evil.example &lt;b&gt; :smile: $x^2$ -> ~~gone~~ `code`")
MARK = "Evil"


# --- The checker: what a Markdown renderer would make live ------------------------------------

_PUNCT = set(string.punctuation)
#: GFM literal autolinks, applied by remark-gfm to text *after* escapes are resolved.
_URL = re.compile(r"(?<![A-Za-z0-9])(?:https?://|www\.)", re.I)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._+-])[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
#: :emoji: and :material_icon: shortcodes, found in text after escapes are resolved.
_SHORTCODE = re.compile(r":[\w+-]*[A-Za-z][\w+-]*:")  # a name, not a time like 5:00:15
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.I)
#: Formatting the hostile text carries; (source, formatting characters to check) pairs.
_FORMATTING = (("**bold**", "**"), ("~~gone~~", "~~"), ("`code`", "`"), ("$x^2$", "$"))


def _tokens(markdown: str) -> list[tuple[str, bool]]:
    """(character, escaped) pairs: a backslash before ASCII punctuation makes it literal."""
    out, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\" and i + 1 < len(markdown) and markdown[i + 1] in _PUNCT:
            out.append((markdown[i + 1], True))
            i += 2
        else:
            out.append((markdown[i], False))
            i += 1
    return out


def live_markdown(markdown: str) -> list[str]:
    """What in ``markdown`` a browser would render as a link, an image, HTML, an icon or
    formatting (empty: it shows as the text it is)."""
    found = []
    if re.search(r":material[/_]warning:", markdown):  # the page's own badges carry other icons
        found.append("material icon")                  # (":material/" is matched before parsing)
    tokens = _tokens(markdown)
    live = [(c if not escaped else "\0") for c, escaped in tokens]
    source = "".join(live)                             # escaped characters blanked out
    text = "".join(c for c, _ in tokens)              # the text nodes, escapes resolved
    if "](" in source:
        found.append("link or image: ](")
    if "![" in source:
        found.append("image: ![")
    if re.search(r"<[A-Za-z/!?]", source):
        found.append("HTML tag or <autolink>")
    if _ENTITY.search(source):
        found.append("HTML entity")
    if _URL.search(text):
        found.append("bare URL autolink")
    if _EMAIL.search(text):
        found.append("e-mail autolink")
    if _SHORTCODE.search(text):
        found.append("emoji or icon shortcode")
    for sample, marks in _FORMATTING:
        at = text.find(sample)
        while at != -1:
            ends = (at, at + len(sample) - len(marks))
            if any(tokens[i + k][1] is False for i in ends for k in range(len(marks))):
                found.append(f"formatting {marks}")
                break
            at = text.find(sample, at + 1)
    return found


BAD = [HOSTILE, "[click](http://evil.example)", "![x](http://evil.example/p.png)", "<img src=x>",
       "see http://evil.example/bare", "www.evil.example", "(www.evil.example)", "mail bob@evil.example",
       "icon :material/warning:", "icon :material_warning:", "emoji :smile:", "**bold**", "&lt;b&gt;", "<http://evil.example>",
       # what ui.plain produced before this fix: escaped brackets, live bare URLs
       r"\[click\]\(http://evil\.example\) www\.evil\.example",
       # a badge of pre-escaped text: st.badge escapes "[" again, the backslash escapes itself
       r"\\[click\\]\(http://evil\.example\)"]
GOOD = ["Winter 2027", "**Problem statement**", "Thèmes : accessibilité", "[TC] Title",
        r"\!\[x\]\(http\:" + "\u2060" + r"\/\/evil\.example\)", "www\u2060\\.evil\\.example",
        "bob\u2060\\@evil\\.example", ":\u2060smile\\:\u2060", r"\*\*bold\*\*", r"\&lt\;b\&gt\;",
        "3 — Solid", ":green-badge[:material/check_circle: Approved]", "Proposed Dec 2, 2026, 5:00:15\u202fa.m."]


@pytest.mark.parametrize("bad", BAD)
def test_the_checker_sees_what_a_browser_would_render_live(bad):
    assert live_markdown(bad), bad


@pytest.mark.parametrize("good", GOOD)
def test_the_checker_accepts_inert_text(good):
    assert live_markdown(good) == [], good


def test_ui_plain_of_hostile_text_is_inert_in_every_markdown_place():
    assert live_markdown(ui.plain(HOSTILE)) == []
    badge = ui.plain(HOSTILE, badge=True).replace("[", "\\[").replace("]", "\\]")  # what st.badge does
    assert live_markdown(badge) == []
    for piece in HOSTILE.split(" "):
        assert live_markdown(ui.plain(piece)) == [], piece
    assert "\n" not in ui.plain("Title\n===\n\n- item")   # no setext heading, paragraph or list


# --- Every Markdown string on a page ----------------------------------------------------------

#: Elements whose text is shown as is (no Markdown): their strings are not checked.
AS_IS = {"text", "code", "dataframe", "arrow_data_frame", "table", "json", "exception"}
#: Fields that are Markdown in every element that has them.
MARKDOWN_FIELDS = ("body", "label", "help", "text")


def _children(node):
    children = getattr(node, "children", None)
    return list(children.values()) if isinstance(children, dict) else []


def markdown_strings(at) -> list[tuple[str, str]]:
    """(element type, Markdown string) of every element on the page and in the sidebar."""
    found = []

    def walk(node):
        kind = getattr(node, "type", "")
        proto = getattr(node, "proto", None)
        if proto is not None and kind not in AS_IS and hasattr(proto, "DESCRIPTOR"):
            names = {f.name for f in proto.DESCRIPTOR.fields}
            for name in MARKDOWN_FIELDS:
                if name in names and isinstance(getattr(proto, name), str):
                    found.append((f"{kind}.{name}", getattr(proto, name)))
            for block in ("expandable", "tab", "popover"):   # expander, tab, popover labels
                if block in names and proto.HasField(block):
                    found.append((f"{block}.label", getattr(proto, block).label))
            if kind == "radio":                             # radio options are Markdown
                found.extend(("radio.option", option) for option in proto.options)
            if kind == "button_group":                      # pills / segmented control
                found.extend(("button_group.option", o.content) for o in proto.options)
        for child in _children(node):
            walk(child)

    walk(at._tree)
    return found


def open_as(user_id: int, lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["user_id"] = user_id
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    return at


def problems_on(at, where: str) -> list[str]:
    return [f"{where} {kind}: {live} in {value!r}" for kind, value in markdown_strings(at)
            for live in live_markdown(value)]


# --- A demo database in every state, then hostile text in every free-text column --------------

def _user(db, email):
    return accounts.find_user(db, email)


def _rep_of(db, department_id):
    row = storage.one(db, "SELECT email FROM users WHERE role = 'department_rep' AND department_id = ? "
                          "ORDER BY id", [department_id])
    return accounts.find_user(db, row["email"])


def _student_of(db, team_id):
    row = storage.one(db, "SELECT email FROM users WHERE role = 'student' AND team_id = ? ORDER BY id", [team_id])
    return accounts.find_user(db, row["email"])


def build_every_state(db) -> dict:
    """Winter 2027 active (a ban with a reason, pairings published, two rounds: one entry answered,
    one waiting), a revision returned then another waiting, Fall 2027 taking challenges (one
    submitted, one returned with comments). Returns the accounts to walk the pages as."""
    fac = _user(db, "facilitator@demo.gc.ca")
    rep = _user(db, "rep@demo.gc.ca")
    winter = next(t for t in terms.list_terms(db) if t.name == "Winter 2027")

    fall = terms.create_term(db, fac, {"name": "Fall 2027", "starts_on": "2027-09-07", "ends_on": "2027-12-17"})
    while fall.state != "intake":
        fall = terms.advance_term(db, fac, fall.id, reason="Test: next intake", override=True)
    submitted = challenges.save_draft(db, rep, {**ACCESSIBILITY, "sme_email": "expert@demo.gc.ca"}, term_id=fall.id)
    challenges.submit(db, rep, submitted.id)
    returned = challenges.save_draft(db, rep, {**FISHERIES, "sme_email": "expert@demo.gc.ca"}, term_id=fall.id)
    challenges.submit(db, rep, returned.id)
    challenges.return_for_changes(db, fac, returned.id, "Say more about the harbours.")

    terms.advance_term(db, fac, winter.id, reason="Test: matching", override=True)
    plan = pairings.run_assignment(db, fac, winter.id)
    del plan
    rows = pairings.plan(db, fac, winter.id).rows
    listed = pairings.term_challenges(db, winter.id)
    team_id = rows[-1]["team_id"]
    other = next(c["id"] for c in listed if c["id"] != rows[-1]["challenge_id"])
    pairings.ban(db, fac, winter.id, team_id, other, "Conflict of interest")
    pairings.publish(db, fac, winter.id)
    terms.advance_term(db, fac, winter.id, reason="Test: active", override=True)
    soon = (date.today() + timedelta(days=10)).isoformat()
    later = (date.today() + timedelta(days=40)).isoformat()
    term_around_today(db, winter.id)
    feedback.create_round(db, fac, winter.id, "Discovery", soon)
    feedback.create_round(db, fac, winter.id, "Midpoint", later)

    expert = _user(db, "expert@demo.gc.ca")
    entries = feedback.entries_for_expert(db, expert)
    first = entries[0]
    pairing = storage.one(db, "SELECT team_id, challenge_id FROM pairings WHERE id = ?", [first["pairing_id"]])
    student = _student_of(db, pairing["team_id"])
    for entry in [e for e in entries if e["pairing_id"] == first["pairing_id"]]:
        feedback.submit(db, expert, entry["id"], {c: 4 for c in RUBRIC}, "Good start.")
    feedback.reply(db, student, first["id"], "We narrowed the scope.")
    feedback.post_message(db, expert, first["id"], "Which users did you test with?")   # the thread (14.11)
    feedback.post_message(db, student, first["id"], "Three screen reader users.")

    paired = challenges.get_challenge(db, fac, pairing["challenge_id"])
    paired_rep = _rep_of(db, paired.department_id)
    revision = challenges.propose_revision(db, paired_rep, paired.id, {"title": "A clearer title"},
                                           expected_version=paired.version, note="Scope changed.")
    challenges.decide_revision(db, fac, revision["id"], "return", comments="Keep the old scope.",
                               expected_version=revision["version"])
    paired = challenges.get_challenge(db, fac, pairing["challenge_id"])
    challenges.propose_revision(db, paired_rep, paired.id, {"title": "A clearer title, again"},
                                expected_version=paired.version, note="Scope changed again.")
    return {"facilitator": [fac], "department_rep": [rep, paired_rep], "student": [student],
            "expert": [expert]}


def hostile(n) -> str:
    return f"{HOSTILE} #{n}"


def fill_with_hostile_text(db) -> None:
    """Every free-text column people type into (or import), rewritten with hostile text."""
    def each(table, key="id"):
        return [row[0] for row in db.execute(f"SELECT {key} FROM {table}").fetchall()]

    def update(table, row_id, values):
        sets = ", ".join(f"{column} = ?" for column in values)
        db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*values.values(), row_id])

    with storage.transaction(db):
        for i in each("terms"):
            update("terms", i, {"name": hostile(f"term {i}")})
        for i in each("departments"):
            update("departments", i, {"acronym": hostile(f"d{i}"), "name_en": hostile(f"dept {i}"),
                                      "name_fr": hostile(f"min {i}")})
        for i in each("teams"):
            update("teams", i, {"name": hostile(f"team {i}"), "program": hostile("program"),
                                "past_work": hostile("past work"),
                                "skills": json.dumps([hostile("skill"), "accessibility"]),
                                "interests": json.dumps([hostile("interest"), "oceans"])})
        for i in each("members"):
            update("members", i, {"name": hostile(f"member {i}"), "program_year": hostile("year")})
        for i in each("users"):
            update("users", i, {"name": hostile(f"user {i}")})
        for i in each("challenges"):
            update("challenges", i, {"title": hostile(f"challenge {i}"), "problem": hostile("problem"),
                                     "outcomes": hostile("outcomes"), "sme_name": hostile("expert name"),
                                     "themes": json.dumps([hostile("theme"), "accessibility"]),
                                     "comments": hostile("comments")})
        for i in each("feedback_rounds"):
            update("feedback_rounds", i, {"name": hostile(f"round {i}")})
        for i in each("feedback_entries"):
            update("feedback_entries", i, {"comments": hostile("feedback"), "reply": hostile("reply")})
        for i in each("feedback_messages"):
            update("feedback_messages", i, {"body": hostile(f"message {i}")})
        for i in each("pairing_rules"):
            update("pairing_rules", i, {"reason": hostile("rule reason")})
        for i in each("challenge_revisions"):
            update("challenge_revisions", i, {"note": hostile("note"), "comments": hostile("revision comments"),
                                              "changes": json.dumps({"title": hostile(f"revision {i}")})})
        db.execute("UPDATE preferences SET reason = ?", [hostile("preference reason")])
        # Issue 17: programmes and the outcomes of completed pairings (the library shows them all).
        for i in each("programmes"):
            update("programmes", i, {"institution_en": hostile(f"institution {i}"),
                                     "institution_fr": hostile(f"institution {i}"),
                                     "name_en": hostile(f"programme {i}"), "name_fr": hostile(f"programme {i}")})
        for i in each("final_summaries"):
            update("final_summaries", i, {"learned": hostile("learned"), "made": hostile("made"),
                                          "recommendations": hostile("recommendations"),
                                          "links": json.dumps(["http://evil.example/link", hostile("link")])})
        for i in each("final_assessments"):
            update("final_assessments", i, {"comments": hostile("final comments")})
        for i in each("outcome_reports"):
            update("outcome_reports", i, {"note": hostile("outcome note")})
    matches.clear_cache()


@pytest.fixture
def hostile_db(demo_db):
    people = build_every_state(demo_db)
    fill_with_hostile_text(demo_db)
    return demo_db, people


# --- The walk ---------------------------------------------------------------------------------

#: Pages that must show hostile text somewhere in Markdown (so the walk really tests something).
MUST_SHOW = {"views/home.py", "views/dept_challenges.py", "views/dept_teams.py", "views/expert_teams.py",
             "views/fac_review.py", "views/fac_terms.py", "views/fac_assignment.py", "views/fac_feedback.py",
             "views/fac_dashboard.py", "views/student_feedback.py", "views/student_pairing.py",
             "views/student_matches.py", "views/student_preferences.py", "views/dept_challenge_form.py",
             "views/library.py"}


def _page_states(at, page: str):
    """The page as opened, plus the states of it that show more user text."""
    yield page
    if page == "views/fac_assignment.py":
        for radio in at.radio:
            if radio.key and radio.key.startswith("assign_adjust_kind"):
                radio.set_value(radio.options[-1]).run()   # the rules list, with their reasons
                yield page + " (rules)"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_page_of_any_role_renders_hostile_text_as_markdown(hostile_db, lang):
    db, people = hostile_db
    problems, showing = [], set()
    for role, users in people.items():
        for user in users:
            at = open_as(user.id, lang)
            for page in ui.page_files(role):
                at.switch_page(page).run()
                assert not at.exception, (role, page, at.exception)
                for state in _page_states(at, page):
                    where = f"[{lang} {role} {user.email} {state}]"
                    problems += problems_on(at, where)
                    if any(MARK in value for _, value in markdown_strings(at)):
                        showing.add(page)
    assert not problems, "\n".join(problems[:40]) + f"\n... {len(problems)} in all"
    assert MUST_SHOW <= showing, sorted(MUST_SHOW - showing)


def test_a_departments_form_on_its_returned_and_its_paired_challenge(hostile_db):
    """The challenge form opened on a challenge (title in the caption, term, the revision waiting)."""
    db, people = hostile_db
    problems = []
    for rep in people["department_rep"]:
        for row in challenges.list_challenges(db, rep, department_id=rep.department_id):
            for lang in ("en", "fr"):
                at = AppTest.from_file(APP, default_timeout=120)
                at.session_state["user_id"] = rep.id
                at.session_state["lang"] = lang
                at.session_state["edit_challenge_id"] = row["id"]
                at.run()
                at.switch_page("views/dept_challenge_form.py").run()
                assert not at.exception, at.exception
                assert any(MARK in value for _, value in markdown_strings(at)), row["id"]  # the title, at least
                problems += problems_on(at, f"[{lang} form of challenge {row['id']} ({row['status']})]")
    assert not problems, "\n".join(problems[:40])


def test_confirmations_that_name_what_was_decided_stay_inert(hostile_db):
    """A facilitator approves a hostile challenge: the confirmation names it, inertly."""
    db, people = hostile_db
    at = open_as(people["facilitator"][0].id, "en")
    at.switch_page("views/fac_review.py").run()
    submitted = challenges.list_challenges(db, people["facilitator"][0], status="submitted")
    challenge_id = submitted[0]["id"]
    at.checkbox(key=f"review_confirm_{challenge_id}").check()
    at.button(key=f"review_approve_{challenge_id}").click().run()
    assert not at.exception, at.exception
    assert any(MARK in s.value for s in at.success), [s.value for s in at.success]
    assert not problems_on(at, "[review after approval]")
