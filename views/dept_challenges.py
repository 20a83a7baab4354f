"""My challenges: the department's challenges with their status, comments and next step."""
import streamlit as st

import ui
from matching import challenges
from matching.i18n import format_day

FORM_PAGE = "views/dept_challenge_form.py"
TEAMS_PAGE = "views/dept_teams.py"
# What needs the representative first: returned work, then drafts, then the rest.
STATUS_ORDER = ("returned", "draft", "submitted", "approved", "archived")
NEXT_STEP = {
    "draft": "dept.list.next_draft", "returned": "dept.list.next_returned",
    "submitted": "dept.list.next_submitted", "approved": "dept.list.next_approved",
    "archived": "dept.list.next_archived",
}
# Moves that change what others see ask for a confirmation first.
CONFIRM = {"archive": "dept.list.confirm_archive", "reopen": "dept.list.confirm_reopen"}
CONFIRM_BUTTON = {"archive": "dept.list.confirm_archive_button", "reopen": "dept.list.confirm_reopen_button"}
DONE = {"archive": "dept.list.archived", "reopen": "dept.list.reopened"}
PAGE = "dept"  # session-state prefix of this page

user = ui.user()


def open_form(challenge_id: int | None) -> None:
    if challenge_id is None:
        st.session_state.pop("edit_challenge_id", None)
    else:
        st.session_state["edit_challenge_id"] = challenge_id
    st.switch_page(FORM_PAGE)


def ask_confirmation(action: str, challenge_id: int) -> None:
    st.session_state["dept_pending"] = {"action": action, "id": challenge_id}


def apply_pending(row: dict) -> None:
    """The confirm/cancel box of a pending archive or reopen of this challenge."""
    pending = st.session_state.get("dept_pending") or {}
    if pending.get("id") != row["id"]:
        return
    action = pending["action"]
    with st.container(border=True):
        st.warning(ui.t(CONFIRM[action]), icon=":material/warning:")
        confirm, cancel = st.columns(2)
        if confirm.button(ui.t(CONFIRM_BUTTON[action]), key=f"confirm_{row['id']}",
                          type="primary"):
            st.session_state.pop("dept_pending", None)
            move = challenges.archive if action == "archive" else challenges.reopen
            ui.act(lambda: move(ui.db(), user, row["id"]), page=PAGE, success=lambda _: (DONE[action], {}),
                   on_error=ui.notice_error(PAGE))
        if cancel.button(ui.t("dept.list.cancel"), key=f"cancel_{row['id']}"):
            st.session_state.pop("dept_pending", None)
            st.rerun()


def actions_for(status: str) -> list[tuple[str, str, str]]:
    """(move, label key, icon) of the buttons a challenge in ``status`` offers, main one first."""
    edit = ("edit", "dept.list.edit", ":material/edit:")
    view = ("view", "dept.list.view", ":material/visibility:")
    teams = ("teams", "dept.list.see_teams", ":material/groups:")
    reopen = ("reopen", "dept.list.reopen", ":material/undo:")
    archive = ("archive", "dept.list.archive", ":material/inventory_2:")
    return {"draft": [edit, archive], "returned": [edit, archive], "submitted": [view, reopen, archive],
            "approved": [teams, view, reopen, archive], "archived": [view]}[status]


def actions(row: dict) -> None:
    buttons = actions_for(row["status"])
    for i, (col, (move, label, icon)) in enumerate(zip(st.columns(len(buttons)), buttons)):
        if not col.button(ui.t(label), key=f"{move}_{row['id']}", icon=icon,
                          type="primary" if i == 0 else "secondary"):
            continue
        if move in ("edit", "view"):
            open_form(row["id"])
        elif move == "teams":
            st.switch_page(TEAMS_PAGE)
        else:
            ask_confirmation(move, row["id"])
            st.rerun()


def challenge_card(row: dict) -> None:
    with st.container(border=True):
        st.subheader(ui.plain(row["title"] or ui.t("dept.list.untitled")), anchor=False)
        ui.badge(row["status"])
        st.caption(ui.t("dept.list.updated", date=format_day(row["updated_at"], ui.lang())))
        st.info(ui.t(NEXT_STEP[row["status"]]), icon=":material/arrow_forward:")
        if row["status"] == "returned" and row.get("comments"):
            st.markdown("**" + ui.t("dept.list.comments") + "**")
            st.text(row["comments"])
        actions(row)
        apply_pending(row)


def main() -> None:
    st.title(ui.t("dept.list.title"))
    st.caption(ui.t("dept.list.intro"))
    ui.show_notice(PAGE, icon=None)
    if st.button(ui.t("dept.list.new"), icon=":material/add:", type="primary", key="new_challenge"):
        open_form(None)
    rows = challenges.list_challenges(ui.db(), user, department_id=user.department_id)
    if not rows:
        st.info(ui.t("dept.list.empty"), icon=":material/info:")
    for status in STATUS_ORDER:
        for row in (r for r in rows if r["status"] == status):
            challenge_card(row)


main()
