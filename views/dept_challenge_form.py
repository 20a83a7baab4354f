"""Create or edit a challenge: save a draft any time, submit for review when every field is ready.

The form's values live in keyed widgets, so an error, a language switch or a rerun never loses
what was typed. Saves carry the version that was loaded; if someone else saved in between, both
versions are shown and the representative chooses how to go on.
"""
import streamlit as st

import ui
from matching import challenges
from matching.errors import NotFound
from matching.models import CONTENT_LANGUAGES, MAX_CAPACITY, MAX_THEMES, SHORT_TEXT_MAX, TITLE_MAX

LIST_PAGE = "views/dept_challenges.py"
PAGE = "cf"  # session-state prefix of this form
# Form field -> widget key. Widget keys hold the typed values across reruns.
KEYS = {field: f"cf_{field}" for field in challenges.FORM_FIELDS}
LABELS = {
    "title": "dept.form.title", "problem": "dept.form.problem", "outcomes": "dept.form.outcomes",
    "themes": "dept.form.themes", "language": "dept.form.language", "capacity": "dept.form.capacity",
    "sme_name": "dept.form.sme_name", "sme_email": "dept.form.sme_email",
    "unclassified": "dept.form.unclassified",
}
LANGUAGE_NAMES = {"en": "dept.content_language.en", "fr": "dept.content_language.fr",
                  "bilingual": "dept.content_language.bilingual"}
LOCKED = {"submitted": "dept.form.locked_submitted", "approved": "dept.form.locked_approved",
          "archived": "dept.form.locked_archived"}
EMPTY = {"title": "", "problem": "", "outcomes": "", "themes": [], "language": "en", "capacity": 1,
         "sme_name": "", "sme_email": "", "unclassified": False}

user = ui.user()
state = st.session_state


def load_into_form(record: dict | None) -> None:
    """Put a saved challenge (or an empty one) into the widgets and remember its version."""
    values = {**EMPTY, **{k: record[k] for k in EMPTY if record and record.get(k) is not None}}
    values["themes"] = list(values["themes"])
    values["capacity"] = int(values["capacity"])
    values["unclassified"] = bool(values["unclassified"])
    for field, value in values.items():
        state[KEYS[field]] = value
    state["cf_loaded"] = {"id": record["id"] if record else None,
                          "version": record["version"] if record else None}
    state["cf_errors"] = {}
    state.pop("cf_stale", None)


def form_data() -> dict:
    return {field: state.get(key, EMPTY[field]) for field, key in KEYS.items()}


def start_new() -> None:
    state.pop("edit_challenge_id", None)
    load_into_form(None)


def keep_mine_on_latest() -> None:
    """Continue with the typed values, now based on the version someone else saved."""
    state["cf_loaded"] = {**state["cf_loaded"], "version": state.pop("cf_stale")["version"]}


def take_theirs() -> None:
    load_into_form(state["cf_stale"])


# --- Which challenge ------------------------------------------------------------------------

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


def ensure_loaded(challenge) -> None:
    loaded = state.get("cf_loaded") or {}
    wanted = challenge.id if challenge else None
    # Widget values disappear when the person visits another page, so reload then as well.
    if loaded.get("id", "none") != wanted or KEYS["title"] not in state:
        load_into_form(challenge.__dict__ if challenge else None)


# --- Saving -----------------------------------------------------------------------------------

def save(submit: bool) -> None:
    def saved(challenge) -> ui.Message:
        remember(challenge)
        return ("dept.form.submitted" if submit else "dept.form.saved"), {}
    ui.act(lambda: store(submit), page=PAGE, success=saved, errors_key="cf_errors", stale_key="cf_stale",
           on_error=ui.notice_error(PAGE))


def store(submit: bool):
    """Save (creating the draft first if it is new) or submit the typed values."""
    loaded = state["cf_loaded"]
    data = form_data()
    if loaded["id"] is None:
        remember(challenges.save_draft(ui.db(), user, data))
        loaded = state["cf_loaded"]
    if submit:
        return challenges.submit(ui.db(), user, loaded["id"], data, expected_version=loaded["version"])
    return challenges.save_draft(ui.db(), user, data, challenge_id=loaded["id"], expected_version=loaded["version"])


def remember(challenge) -> None:
    state["edit_challenge_id"] = challenge.id
    state["cf_loaded"] = {"id": challenge.id, "version": challenge.version}
    state["cf_errors"] = {}


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


def editable_form(challenge) -> None:
    errors = state.get("cf_errors") or {}
    if errors:
        st.error(ui.t("error.validation_summary", count=len(errors)), icon=":material/error:")
    st.text_input(ui.t(LABELS["title"]), key=KEYS["title"], max_chars=TITLE_MAX)
    ui.field_error(errors, "title")
    st.text_area(ui.t(LABELS["problem"]), key=KEYS["problem"], height=180, help=ui.t("dept.form.problem_help"))
    ui.field_error(errors, "problem")
    st.text_area(ui.t(LABELS["outcomes"]), key=KEYS["outcomes"], height=120, help=ui.t("dept.form.outcomes_help"))
    ui.field_error(errors, "outcomes")
    chosen = list(state.get(KEYS["themes"]) or [])
    vocabulary = challenges.sorted_terms(challenges.theme_vocabulary(ui.db(), user) + chosen)
    st.multiselect(ui.t(LABELS["themes"]), vocabulary, key=KEYS["themes"], accept_new_options=True,
                   max_selections=MAX_THEMES, help=ui.t("dept.form.themes_help"),
                   placeholder=ui.t("dept.form.themes_placeholder"))
    ui.field_error(errors, "themes")
    left, right = st.columns(2)
    with left:
        names = {code: ui.t(LANGUAGE_NAMES[code]) for code in CONTENT_LANGUAGES}
        st.selectbox(ui.t(LABELS["language"]), CONTENT_LANGUAGES, key=KEYS["language"], format_func=names.get)
        ui.field_error(errors, "language")
    with right:
        st.number_input(ui.t(LABELS["capacity"]), min_value=1, max_value=MAX_CAPACITY, step=1,
                        key=KEYS["capacity"], help=ui.t("dept.form.capacity_help"))
        ui.field_error(errors, "capacity")
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
    if save_col.button(ui.t("dept.form.save_draft"), icon=":material/save:", key="cf_save"):
        save(submit=False)
    if submit_col.button(ui.t("dept.form.submit"), icon=":material/send:", type="primary", key="cf_submit"):
        save(submit=True)
    if challenge is not None:
        new_col.button(ui.t("dept.form.new"), icon=":material/add:", on_click=start_new, key="cf_new")


def read_only(challenge) -> None:
    """A challenge under review, approved or archived: shown as saved, with what can be done."""
    st.info(ui.t(LOCKED[challenge.status]), icon=":material/lock:")
    for field in EMPTY:
        st.caption(ui.t(LABELS[field]))
        st.text(_shown(getattr(challenge, field)) or "—")
    left, right = st.columns(2)
    if challenge.status in ("submitted", "approved"):
        if left.button(ui.t("dept.form.reopen"), icon=":material/undo:", key="cf_reopen", type="primary",
                       help=ui.t("dept.form.reopen_help")):
            ui.act(lambda: challenges.reopen(ui.db(), user, challenge.id), page=PAGE, success=reopened,
                   on_error=ui.notice_error(PAGE))
    right.button(ui.t("dept.form.new"), icon=":material/add:", on_click=start_new, key="cf_new_ro")


def reopened(_) -> ui.Message:
    state.pop("cf_loaded", None)  # the next run loads the reopened draft into the form
    return "dept.form.reopened", {}


def heading(challenge) -> None:
    st.title(ui.t("dept.form.edit_title") if challenge else ui.t("dept.form.new_title"))
    if challenge:
        st.caption(ui.t("dept.form.editing", title=ui.plain(challenge.title or ui.t("dept.list.untitled"))))
        ui.badge(challenge.status)
    ui.show_notice(PAGE, icon=None)
    if challenge is not None and challenge.status == "returned" and challenge.comments:
        with st.container(border=True):
            st.markdown("**" + ui.t("dept.list.comments") + "**")
            st.text(challenge.comments)


def main() -> None:
    challenge = current_challenge()
    ensure_loaded(challenge)
    heading(challenge)
    if challenge is None or challenge.status in challenges.EDITABLE_STATES:
        st.caption(ui.t("dept.form.intro"))
        editable_form(challenge)
    else:
        read_only(challenge)
    if st.button(ui.t("dept.form.back"), icon=":material/arrow_back:", key="cf_back"):
        st.switch_page(LIST_PAGE)


main()
