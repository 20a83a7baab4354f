"""Preferences: up to five approved challenges in order, each with a short reason.

Rows are slots with their own widget keys; reordering moves slots, so each row keeps what was
typed in it. Editable only while the team's own term takes preferences, among that term's
approved challenges. Every save carries the list version it started from: when a teammate saved
in between, their list is shown and these choices stay in the form to be re-applied.
"""
import streamlit as st

import ui
from matching import challenges, teams, terms
from matching.models import Team
from matching.models import MAX_PREFERENCES

MATCHES_PAGE = "views/student_matches.py"
REASON_MAX = 300
PAGE = "pf"  # session-state prefix of this page

user = ui.user()
state = st.session_state


def choice_key(uid: int) -> str:
    return f"pf_{uid}_challenge"


def reason_key(uid: int) -> str:
    return f"pf_{uid}_reason"


def new_slot() -> int:
    state["pf_next_uid"] = state.get("pf_next_uid", 0) + 1
    return state["pf_next_uid"]


def load_rows(saved: list[dict], version: int) -> None:
    rows = []
    for preference in saved:
        uid = new_slot()
        state[choice_key(uid)] = preference["challenge_id"]
        state[reason_key(uid)] = preference["reason"] or ""
        rows.append(uid)
    state["pf_rows"] = rows
    state["pf_errors"] = {}
    state["pf_version"] = version
    state.pop("pf_stale", None)


def keep_mine_on_latest() -> None:
    """Continue with these choices, now based on the list the teammate saved."""
    state["pf_version"] = state.pop("pf_stale")["preferences_version"]


def take_theirs() -> None:
    theirs = state["pf_stale"]
    load_rows(theirs["preferences"], theirs["preferences_version"])


def add_row() -> None:
    if len(state["pf_rows"]) < MAX_PREFERENCES:
        uid = new_slot()
        state[choice_key(uid)] = None
        state[reason_key(uid)] = ""
        state["pf_rows"] = state["pf_rows"] + [uid]


def move(uid: int, step: int) -> None:
    rows = list(state["pf_rows"])
    i = rows.index(uid)
    j = i + step
    if 0 <= j < len(rows):
        rows[i], rows[j] = rows[j], rows[i]
        state["pf_rows"] = rows
        state["pf_errors"] = {}


def remove(uid: int) -> None:
    state["pf_rows"] = [row for row in state["pf_rows"] if row != uid]
    state["pf_errors"] = {}


def save() -> None:
    # Rows left without a challenge are simply not saved; errors map back to the row typed in.
    filled = [uid for uid in state["pf_rows"] if state.get(choice_key(uid)) is not None]
    items = [{"challenge_id": state[choice_key(uid)], "reason": state.get(reason_key(uid), "")} for uid in filled]
    ui.act(lambda: teams.save_preferences(ui.db(), user, user.team_id, items, expected_version=state.get("pf_version")),
           page=PAGE, errors_key="pf_errors", map_errors=lambda errors: row_errors(errors, filled), stale_key="pf_stale",
           on_error=ui.notice_error(PAGE), success=lambda _: ("student.prefs.saved", {"count": len(items)}),
           forget=["pf_rows"])  # reload the saved list, in its saved order


def row_errors(errors: dict[str, str], filled: list[int]) -> dict[str, str]:
    """``preferences.<i>.<field>`` -> ``<uid>.<field>``; list-wide problems stay as they are."""
    shown = {}
    for field, key in errors.items():
        parts = field.split(".")
        if len(parts) == 3 and parts[1].isdigit():
            field = f"{filled[int(parts[1])]}.{parts[2]}"
        shown[field] = key
    return shown


def editable_list(options: dict[int, str]) -> None:
    errors = state.get("pf_errors") or {}
    if errors:
        st.error(ui.t("error.validation_summary", count=len(errors)), icon=":material/error:")
    ui.field_error(errors, "preferences")
    rows = state["pf_rows"]
    if not rows:
        st.info(ui.t("student.prefs.empty"), icon=":material/info:")
    for position, uid in enumerate(rows, start=1):
        with st.container(border=True):
            st.markdown("**" + ui.t("student.prefs.choice_n", n=position) + "**")
            ui.choice(st.selectbox, ui.t("student.prefs.challenge", n=position), options, key=choice_key(uid),
                      labels=options, placeholder=ui.t("student.prefs.choose"))
            ui.field_error(errors, f"{uid}.challenge_id")
            st.text_input(ui.t("student.prefs.reason", n=position), key=reason_key(uid), max_chars=REASON_MAX,
                          help=ui.t("student.prefs.reason_help"))
            ui.field_error(errors, f"{uid}.reason")
            up, down, drop = st.columns(3)
            up.button(ui.t("student.prefs.up"), key=f"pf_up_{uid}", icon=":material/arrow_upward:",
                      on_click=move, args=(uid, -1), disabled=position == 1)
            down.button(ui.t("student.prefs.down"), key=f"pf_down_{uid}", icon=":material/arrow_downward:",
                        on_click=move, args=(uid, 1), disabled=position == len(rows))
            drop.button(ui.t("student.prefs.remove"), key=f"pf_remove_{uid}", icon=":material/delete:",
                        on_click=remove, args=(uid,))
    stale_comparison()
    add, save_col = st.columns(2)
    add.button(ui.t("student.prefs.add"), key="pf_add", icon=":material/add:", on_click=add_row,
               disabled=len(rows) >= MAX_PREFERENCES)
    if len(rows) >= MAX_PREFERENCES:
        add.caption(ui.t("student.prefs.full", max=MAX_PREFERENCES))
    if save_col.button(ui.t("student.prefs.save"), key="pf_save", icon=":material/save:", type="primary"):
        save()


def stale_comparison() -> None:
    """A teammate saved the list since this one was loaded: theirs, and how to go on."""
    theirs = state.get("pf_stale")
    if not theirs:
        return
    with st.container(border=True):
        st.warning(ui.t("student.prefs.stale"), icon=":material/sync_problem:")
        st.markdown("**" + ui.t("student.prefs.theirs") + "**")
        saved_list(theirs["preferences"])
        keep, take = st.columns(2)
        keep.button(ui.t("student.prefs.keep_mine"), on_click=keep_mine_on_latest, key="pf_keep_mine", type="primary")
        take.button(ui.t("student.prefs.take_theirs"), on_click=take_theirs, key="pf_take_theirs")


def saved_list(saved: list[dict]) -> None:
    if not saved:
        st.caption(ui.t("student.prefs.none_saved"))
    for preference in saved:
        with st.container(border=True):
            st.markdown("**" + ui.t("student.prefs.choice_n", n=preference["rank"]) + "**")
            st.text(f"{preference['title']} ({ui.acronym(preference['acronym'])})")
            if preference["reason"]:
                st.caption(ui.t("student.prefs.reason_label"))
                st.text(preference["reason"])


def read_only_list(saved: list[dict], term) -> None:
    if term is None:
        st.info(ui.t("student.prefs.no_term"), icon=":material/lock:")
    else:
        st.info(ui.t("student.prefs.closed", state=ui.t("term_state." + term.state)), icon=":material/lock:")
    saved_list(saved)


def choices(team: Team, saved_preferences: list[dict]) -> dict[int, str]:
    """The team's own term's approved challenges (a chosen one no longer offered is kept, flagged)."""
    approved = sorted(challenges.approved_challenges(ui.db(), team.term_id), key=lambda c: c["title"].casefold())
    options = {c["id"]: f"{c['title']} ({ui.acronym(c['acronym'])})" for c in approved}
    for preference in saved_preferences:  # reopened since it was chosen: shown, and flagged on save
        options.setdefault(preference["challenge_id"],
                           ui.t("student.prefs.unavailable", title=preference["title"]))
    return options


def main() -> None:
    st.title(ui.t("student.prefs.title"))
    st.caption(ui.t("student.prefs.intro", max=MAX_PREFERENCES))
    ui.show_notice(PAGE, icon=None)
    team = teams.get_team(ui.db(), user, user.team_id)
    term = terms.term_of(ui.db(), team.term_id)
    ui.term_caption(term)
    saved_preferences = teams.get_preferences(ui.db(), user, user.team_id)
    if not teams.preferences_open(ui.db(), team.id):
        read_only_list(saved_preferences, term)
        return
    # Widget values vanish when the person visits another page, so reload the saved list then.
    if "pf_rows" not in state or any(choice_key(uid) not in state for uid in state["pf_rows"]):
        load_rows(saved_preferences, team.preferences_version)
    editable_list(choices(team, saved_preferences))
    if st.button(ui.t("student.prefs.browse"), key="pf_browse", icon=":material/travel_explore:"):
        st.switch_page(MATCHES_PAGE)


main()
