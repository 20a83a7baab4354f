"""Create or edit a challenge: save a draft any time, submit for review when every field is ready.

The form's values live in keyed widgets, so an error, a language switch or a rerun never loses
what was typed. Saves carry the version that was loaded; if someone else saved in between, both
versions are shown and the representative chooses how to go on.

A new challenge is filed under a term that takes challenges (chosen here when several do). Once a
team is paired with the challenge (a published pairing), it is no longer edited directly: the
form proposes a *revision* that a facilitator reviews, and the team and the expert keep seeing
the approved text until then. A closed term's challenge is read-only.
"""
import streamlit as st

import ui
from matching import challenges, library, lifecycle, organisations, terms
from matching.errors import NotFound, ValidationFailed
from matching.i18n import format_day
from matching.models import CONTENT_LANGUAGES, MAX_CAPACITY, MAX_THEMES, SHORT_TEXT_MAX, TITLE_MAX

LIST_PAGE = "views/dept_challenges.py"
LIBRARY_PAGE = ui.LIBRARY_PAGE[0]
PAGE = "cf"  # session-state prefix of this form
# Form field -> widget key. Widget keys hold the typed values across reruns.
KEYS = {field: f"cf_{field}" for field in challenges.FORM_FIELDS}
TERM_KEY, NOTE_KEY = "cf_term", "cf_note"
LABELS = {
    "title": "dept.form.title", "problem": "dept.form.problem", "outcomes": "dept.form.outcomes",
    "themes": "dept.form.themes", "language": "dept.form.language", "capacity": "dept.form.capacity",
    "sme_name": "dept.form.sme_name", "sme_email": "dept.form.sme_email",
    "unclassified": "dept.form.unclassified",
}
LANGUAGE_NAMES = {"en": "dept.content_language.en", "fr": "dept.content_language.fr",
                  "bilingual": "dept.content_language.bilingual"}
EMPTY = {"title": "", "problem": "", "outcomes": "", "themes": [], "language": "en", "capacity": 1,
         "sme_name": "", "sme_email": "", "unclassified": False}

user = ui.user()
state = st.session_state


def load_into_form(record: dict | None, mode: str = "edit") -> None:
    """Put a saved challenge (or an empty one) into the widgets and remember its version."""
    values = {**EMPTY, **{k: record[k] for k in EMPTY if record and record.get(k) is not None}}
    values["themes"] = list(values["themes"])
    values["capacity"] = int(values["capacity"])
    values["unclassified"] = bool(values["unclassified"])
    for field, value in values.items():
        state[KEYS[field]] = value
    state["cf_loaded"] = {"id": record["id"] if record else None,
                          "version": record["version"] if record else None, "mode": mode}
    state["cf_errors"] = {}
    state.pop("cf_stale", None)


def form_data() -> dict:
    return {field: state.get(key, EMPTY[field]) for field, key in KEYS.items()}


def start_new() -> None:
    state.pop("edit_challenge_id", None)
    load_into_form(None, "new")


def keep_mine_on_latest() -> None:
    """Continue with the typed values, now based on the version someone else saved."""
    state["cf_loaded"] = {**state["cf_loaded"], "version": state.pop("cf_stale")["version"]}


def take_theirs() -> None:
    load_into_form(state["cf_stale"], state["cf_loaded"].get("mode", "edit"))


# --- Which challenge, in which mode ---------------------------------------------------------

def current_challenge():
    """The challenge being edited (None for a new one); a vanished id falls back to a new form."""
    challenge_id = state.get("edit_challenge_id")
    if challenge_id is None:
        return None
    try:
        challenge = challenges.get_challenge(ui.db(), user, challenge_id)
        if challenge.department_id != user.department_id:  # another department's approved challenge
            raise NotFound("error.not_found")
        return challenge
    except NotFound:
        state.pop("edit_challenge_id", None)
        ui.notify(PAGE, ("error.not_found", {}), kind="error")
        return None


def mode_of(challenge, term) -> str:
    """new | edit (draft, returned) | locked (under review, approved, archived) | revise | closed."""
    if challenge is None:
        return "new"
    if term is not None and lifecycle.term_is_read_only(term.state):
        return "closed"
    if challenges.has_published_pairing(ui.db(), challenge.id):
        return "revise"
    return "edit" if lifecycle.challenge_editable(challenge.status) else "locked"


def ensure_loaded(challenge, mode: str, revision: dict | None) -> None:
    """Load the challenge when another one (or another mode of it) is shown. In revision mode the
    form starts from the revision still to be decided or just returned, over the approved text."""
    loaded = state.get("cf_loaded") or {}
    wanted = challenge.id if challenge else None
    # Widget values disappear when the person visits another page, so reload then as well.
    if loaded.get("id", "none") != wanted or loaded.get("mode") != mode or KEYS["title"] not in state:
        record = dict(challenge.__dict__) if challenge else None
        if record and revision:
            record.update(revision["changes"])
        state[NOTE_KEY] = (revision or {}).get("note") or ""
        load_into_form(record, mode)


# --- Saving -----------------------------------------------------------------------------------

def save(submit: bool, term_id: int | None) -> None:
    def saved(challenge) -> ui.Message:
        remember(challenge)
        return ("dept.form.submitted" if submit else "dept.form.saved"), {}
    ui.act(lambda: store(submit, term_id), page=PAGE, success=saved, errors_key="cf_errors",
           stale_key="cf_stale", on_error=ui.notice_error(PAGE))


def store(submit: bool, term_id: int | None):
    """Save or submit the typed values. A new challenge is created under its term by its first
    save, or created and submitted at once: a refused submission saves nothing."""
    loaded = state["cf_loaded"]
    data = form_data()
    if loaded["id"] is None:
        if term_id is None and len(terms_taking_challenges()) > 1:
            raise ValidationFailed({"term_id": "dept.form.term_required"})
        if submit:
            return challenges.submit_new(ui.db(), user, data, term_id=term_id)
        return challenges.save_draft(ui.db(), user, data, term_id=term_id)
    if submit:
        return challenges.submit(ui.db(), user, loaded["id"], data, expected_version=loaded["version"])
    return challenges.save_draft(ui.db(), user, data, challenge_id=loaded["id"], expected_version=loaded["version"])


def remember(challenge) -> None:
    state["edit_challenge_id"] = challenge.id
    state["cf_loaded"] = {"id": challenge.id, "version": challenge.version, "mode": mode_of(challenge, None)}
    state["cf_errors"] = {}


def propose(challenge) -> None:
    data = {field: value for field, value in form_data().items() if field in lifecycle.REVISABLE_FIELDS}

    def sent(_) -> ui.Message:
        state.pop("cf_loaded", None)  # the next run shows the revision now waiting
        return "dept.form.revision_sent", {}
    ui.act(lambda: challenges.propose_revision(ui.db(), user, challenge.id, data,
                                               expected_version=state["cf_loaded"]["version"],
                                               note=state.get(NOTE_KEY, "")),
           page=PAGE, success=sent, errors_key="cf_errors", stale_key="cf_stale", on_error=ui.notice_error(PAGE))


# --- The term -------------------------------------------------------------------------------

def terms_taking_challenges() -> list:
    return terms.list_terms(ui.db(), lifecycle.TERM_STATES_TAKING_CHALLENGES)


def term_field(errors: dict) -> tuple[int | None, bool]:
    """The term a new challenge goes to: chosen when several take challenges, else said.
    Returns (term id, whether it can be saved at all)."""
    open_terms = terms_taking_challenges()
    if not open_terms:
        st.warning(ui.t("term.none_in_state"), icon=":material/event_busy:")
        return None, False
    if len(open_terms) == 1:
        st.caption(ui.t("dept.form.goes_to", term=ui.plain(ui.term_label(open_terms[0]))))
        return open_terms[0].id, True
    labels = {term.id: ui.term_label(term) for term in open_terms}
    if state.get(TERM_KEY) not in labels:
        state.pop(TERM_KEY, None)
    chosen = ui.choice(st.selectbox, ui.t("dept.form.term_choice"), labels, key=TERM_KEY, labels=labels,
                       index=None, placeholder=ui.t("dept.form.term_choose"), help=ui.t("dept.form.term_choice_help"))
    if "term_id" in errors:
        term = next((t for t in open_terms if t.id == chosen), None)
        st.error(ui.message(errors["term_id"], {"term": term.name if term else ""}), icon=":material/error:")
    return chosen, True


# --- Rendering --------------------------------------------------------------------------------

def stale_comparison() -> None:
    theirs = state.get("cf_stale")
    if not theirs:
        return
    with st.container(border=True):
        st.warning(ui.t("error.stale_record"), icon=":material/sync_problem:")
        mine = form_data()
        differing = [f for f in EMPTY if _shown(theirs.get(f)) != _shown(mine.get(f))]
        left, right = st.columns(2)
        left.markdown("**" + ui.t("dept.form.theirs") + "**")
        right.markdown("**" + ui.t("dept.form.yours") + "**")
        for field in differing:
            left.caption(ui.t(LABELS[field]))
            left.text(_shown(theirs.get(field)))
            right.caption(ui.t(LABELS[field]))
            right.text(_shown(mine.get(field)))
        if not differing:
            st.caption(ui.t("dept.form.no_difference"))
        keep, take = st.columns(2)
        keep.button(ui.t("dept.form.keep_mine"), on_click=keep_mine_on_latest, key="cf_keep_mine",
                    type="primary")
        take.button(ui.t("dept.form.take_theirs"), on_click=take_theirs, key="cf_take_theirs")


def _shown(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return ui.t("dept.form.yes") if value else ui.t("dept.form.no")
    if value in LANGUAGE_NAMES:
        return ui.t(LANGUAGE_NAMES[value])
    return "" if value is None else str(value)


def content_fields(errors: dict) -> None:
    """Title to capacity: the fields a department writes, and a revision may change."""
    st.text_input(ui.t(LABELS["title"]), key=KEYS["title"], max_chars=TITLE_MAX)
    ui.field_error(errors, "title")
    st.text_area(ui.t(LABELS["problem"]), key=KEYS["problem"], height=180, help=ui.t("dept.form.problem_help"))
    ui.field_error(errors, "problem")
    st.text_area(ui.t(LABELS["outcomes"]), key=KEYS["outcomes"], height=120, help=ui.t("dept.form.outcomes_help"))
    ui.field_error(errors, "outcomes")
    chosen = list(state.get(KEYS["themes"]) or [])
    vocabulary = challenges.sorted_terms(challenges.theme_vocabulary(ui.db(), user) + chosen)
    ui.choice(st.multiselect, ui.t(LABELS["themes"]), vocabulary, key=KEYS["themes"], accept_new_options=True,
              max_selections=MAX_THEMES, help=ui.t("dept.form.themes_help"),
              placeholder=ui.t("dept.form.themes_placeholder"))
    ui.field_error(errors, "themes")
    left, right = st.columns(2)
    with left:
        names = {code: ui.t(LANGUAGE_NAMES[code]) for code in CONTENT_LANGUAGES}
        ui.choice(st.selectbox, ui.t(LABELS["language"]), CONTENT_LANGUAGES, key=KEYS["language"], labels=names)
        ui.field_error(errors, "language")
    with right:
        st.number_input(ui.t(LABELS["capacity"]), min_value=1, max_value=MAX_CAPACITY, step=1,
                        key=KEYS["capacity"], help=ui.t("dept.form.capacity_help"))
        ui.field_error(errors, "capacity")


def similar_past() -> None:
    """Completed challenges close to the text typed so far, with what they led to (issue 17.4):
    ranked by the matches' ranker on every rerun (a field left or a button pressed); nothing
    when nothing is close enough."""
    loaded = state.get("cf_loaded") or {}
    similar = library.similar_past_challenges(ui.db(), user, form_data(), exclude_id=loaded.get("id"))
    if not similar:
        return
    with st.container(border=True, key="cf_similar"):
        st.subheader(ui.t("library.similar.heading"), anchor=False)
        st.caption(ui.t("library.similar.intro"))
        for item in similar:
            first = item["entries"][0]
            st.markdown("**" + ui.plain(first["title"]) + "**")
            st.caption(" · ".join(ui.plain(part) for part in (
                f"{ui.acronym(first['acronym'])} — {ui.department_name(first)}",
                organisations.kind_label(first["kind"], ui.lang()), ui.t("library.term", term=first["term"]))))
            if item["reasons"]:
                ui.shared_terms([(words, 0.0) for words in item["reasons"]], label_key="library.similar.shared",
                                empty_key="library.similar.shared")
            for entry in item["entries"]:
                status = (ui.t(f"outcome.status.{entry['latest_status']}") if entry["latest_status"]
                          else ui.t("library.no_report"))
                st.caption(ui.plain(ui.t("library.similar.outcome", status=status)))
                recommendations = (entry["summary"] or {}).get("recommendations")
                if recommendations:
                    st.text(recommendations)
        st.page_link(LIBRARY_PAGE, label=ui.t("library.similar.open_library"), icon=":material/local_library:")


def error_summary(errors: dict) -> None:
    if errors:
        st.error(ui.t("error.validation_summary", count=len(errors)), icon=":material/error:")


def editable_form(challenge) -> None:
    errors = state.get("cf_errors") or {}
    error_summary(errors)
    term_id, can_save = term_field(errors) if challenge is None else (challenge.term_id, True)
    content_fields(errors)
    similar_past()
    st.subheader(ui.t("dept.form.sme_heading"), anchor=False)
    st.caption(ui.t("dept.form.sme_help"))
    left, right = st.columns(2)
    with left:
        st.text_input(ui.t(LABELS["sme_name"]), key=KEYS["sme_name"], max_chars=SHORT_TEXT_MAX)
        ui.field_error(errors, "sme_name")
    with right:
        st.text_input(ui.t(LABELS["sme_email"]), key=KEYS["sme_email"], max_chars=SHORT_TEXT_MAX,
                      autocomplete="email")
        ui.field_error(errors, "sme_email")
    st.checkbox(ui.t(LABELS["unclassified"]), key=KEYS["unclassified"])
    ui.field_error(errors, "unclassified")
    stale_comparison()
    save_col, submit_col, new_col = st.columns(3)
    if save_col.button(ui.t("dept.form.save_draft"), icon=":material/save:", key="cf_save", disabled=not can_save):
        save(False, term_id)
    if submit_col.button(ui.t("dept.form.submit"), icon=":material/send:", type="primary", key="cf_submit",
                         disabled=not can_save):
        save(True, term_id)
    if challenge is not None:
        new_col.button(ui.t("dept.form.new"), icon=":material/add:", on_click=start_new, key="cf_new")


def saved_values(challenge, fields) -> None:
    for field in fields:
        st.caption(ui.t(LABELS[field]))
        st.text(_shown(getattr(challenge, field)) or "—")


def read_only(challenge, mode: str) -> None:
    """A challenge under review, approved, archived, or of a closed term: shown as saved."""
    if mode == "closed":
        st.info(ui.t("dept.form.closed_term"), icon=":material/lock:")
    else:
        st.info(ui.t(f"dept.form.locked_{challenge.status}"), icon=":material/lock:")
    saved_values(challenge, EMPTY)
    left, right = st.columns(2)
    if mode == "locked" and "reopen" in lifecycle.challenge_moves(challenge.status):
        if left.button(ui.t("dept.form.reopen"), icon=":material/undo:", key="cf_reopen", type="primary",
                       help=ui.t("dept.form.reopen_help")):
            ui.act(lambda: challenges.reopen(ui.db(), user, challenge.id, expected_version=challenge.version),
                   page=PAGE, success=reopened, on_error=ui.notice_error(PAGE))
    right.button(ui.t("dept.form.new"), icon=":material/add:", on_click=start_new, key="cf_new_ro")


def reopened(_) -> ui.Message:
    state.pop("cf_loaded", None)  # the next run loads the reopened draft into the form
    return "dept.form.reopened", {}


def revision_status(pending: dict | None, last: dict | None) -> None:
    if pending:
        st.info(ui.t("dept.form.revision_pending", date=format_day(pending["proposed_at"], ui.lang())),
                icon=":material/hourglass_top:")
    elif last and last["state"] == "returned":
        with st.container(border=True):
            st.warning(ui.t("dept.form.revision_returned"), icon=":material/undo:")
            st.text(last["comments"] or "—")
    elif last and last["state"] == "approved":
        st.caption(ui.t("dept.form.revision_approved", date=format_day(last["decided_at"], ui.lang())))


def revision_form(challenge, pending: dict | None, last: dict | None) -> None:
    """A paired challenge: the department proposes a revision, the approved text stays until a
    facilitator approves it; the SME is changed by a facilitator."""
    st.subheader(ui.t("dept.form.revision_heading"), anchor=False)
    st.info(ui.t("dept.form.revision_intro"), icon=":material/info:")
    revision_status(pending, last)
    with st.expander(ui.t("dept.form.approved_text"), icon=":material/visibility:"):
        saved_values(challenge, lifecycle.REVISABLE_FIELDS)
    errors = state.get("cf_errors") or {}
    error_summary(errors)
    content_fields(errors)
    st.subheader(ui.t("dept.form.sme_read_only"), anchor=False)
    st.text(f"{challenge.sme_name or '—'} · {challenge.sme_email or '—'}")
    st.caption(ui.t("challenge.sme_change_by_facilitator"))
    ui.field_error(errors, "sme_email")
    st.text_area(ui.t("dept.form.revision_note"), key=NOTE_KEY, max_chars=challenges.REASON_MAX,
                 help=ui.t("dept.form.revision_note_help"))
    ui.field_error(errors, "note")
    stale_comparison()
    left, right = st.columns(2)
    if left.button(ui.t("dept.form.revision_submit"), icon=":material/send:", type="primary", key="cf_propose"):
        propose(challenge)
    right.button(ui.t("dept.form.new"), icon=":material/add:", on_click=start_new, key="cf_new_rv")


def heading(challenge, term) -> None:
    st.title(ui.t("dept.form.edit_title") if challenge else ui.t("dept.form.new_title"))
    if challenge:
        st.caption(ui.t("dept.form.editing", title=ui.plain(challenge.title or ui.t("dept.list.untitled"))))
        ui.term_caption(term)
        ui.badge(challenge.status)
    ui.show_notice(PAGE, icon=None)
    if challenge is not None and challenge.status == "returned" and challenge.comments:
        with st.container(border=True):
            st.markdown("**" + ui.t("dept.list.comments") + "**")
            st.text(challenge.comments)


def main() -> None:
    challenge = current_challenge()
    term = terms.term_of(ui.db(), challenge.term_id) if challenge else None
    mode = mode_of(challenge, term)
    pending = last = None
    if mode == "revise":
        pending = challenges.pending_revision(ui.db(), user, challenge.id)
        last = challenges.last_revision(ui.db(), user, challenge.id)
    returned = last if last and last["state"] == "returned" else None
    ensure_loaded(challenge, mode, pending or returned)
    heading(challenge, term)
    if mode == "revise":
        revision_form(challenge, pending, last)
    elif mode in ("new", "edit"):
        st.caption(ui.t("dept.form.intro"))
        editable_form(challenge)
    else:
        read_only(challenge, mode)
    if st.button(ui.t("dept.form.back"), icon=":material/arrow_back:", key="cf_back"):
        st.switch_page(LIST_PAGE)


main()
