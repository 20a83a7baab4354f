"""My challenges: the department's challenges by term, with their status, comments and next step.

A challenge paired with a team (a published pairing) is no longer reopened or archived: the
department proposes a revision from the form, which a facilitator reviews. A closed term's
challenges are kept for the record only. A draft that was never submitted can be deleted (after a
confirmation); one that was ever submitted is archived instead.
"""
import streamlit as st

import ui
from matching import challenges, lifecycle
from matching.i18n import format_day

FORM_PAGE = "views/dept_challenge_form.py"
TEAMS_PAGE = "views/dept_teams.py"
#: Moves that change what others see ask for a confirmation first.
CONFIRMED_MOVES = {"archive": challenges.archive, "reopen": challenges.reopen, "delete": challenges.delete_draft}
DONE = {"archive": "dept.list.archived", "reopen": "dept.list.reopened", "delete": "dept.list.deleted"}
PAGE = "dept"  # session-state prefix of this page

user = ui.user()


def status_order(status: str) -> tuple:
    """What needs the representative first: returned work, then drafts, then the rest in lifecycle order."""
    return (not lifecycle.challenge_editable(status), status != "returned", lifecycle.CHALLENGE_STATES.index(status))


def open_form(challenge_id: int | None) -> None:
    if challenge_id is None:
        st.session_state.pop("edit_challenge_id", None)
    else:
        st.session_state["edit_challenge_id"] = challenge_id
    st.switch_page(FORM_PAGE)


def ask_confirmation(action: str, row: dict) -> None:
    st.session_state["dept_pending"] = {"action": action, "id": row["id"], "version": row["version"]}


def apply_pending(row: dict) -> None:
    """The confirm/cancel box of a pending archive, reopen or delete of this challenge."""
    pending = st.session_state.get("dept_pending") or {}
    if pending.get("id") != row["id"]:
        return
    action = pending["action"]
    with st.container(border=True):
        st.warning(ui.t(f"dept.list.confirm_{action}"), icon=":material/warning:")
        confirm, cancel = st.columns(2)
        if confirm.button(ui.t(f"dept.list.confirm_{action}_button"), key=f"confirm_{row['id']}", type="primary"):
            st.session_state.pop("dept_pending", None)
            move = CONFIRMED_MOVES[action]
            # The version on screen when the move was asked for: a change made since is not overridden.
            ui.act(lambda: move(ui.db(), user, row["id"], expected_version=pending["version"]), page=PAGE,
                   success=lambda _: done(action, row), on_error=ui.notice_error(PAGE))
        if cancel.button(ui.t("dept.list.cancel"), key=f"cancel_{row['id']}"):
            st.session_state.pop("dept_pending", None)
            st.rerun()


def done(action: str, row: dict) -> ui.Message:
    """The confirmation of a move; a deleted draft is also forgotten by the form."""
    if action == "delete" and st.session_state.get("edit_challenge_id") == row["id"]:
        st.session_state.pop("edit_challenge_id", None)
        st.session_state.pop("cf_loaded", None)
    return DONE[action], {}


def actions_for(row: dict) -> list[tuple[str, str, str]]:
    """(move, label key, icon) of the buttons a challenge offers, main one first."""
    status = row["status"]
    if row["closed"]:
        return [("view", "dept.list.view", ":material/visibility:")]
    if row["paired"]:
        return [("revise", "dept.list.propose_revision", ":material/edit_note:"),
                ("teams", "dept.list.see_teams", ":material/groups:")]
    buttons = [("edit", "dept.list.edit", ":material/edit:") if lifecycle.challenge_editable(status)
               else ("view", "dept.list.view", ":material/visibility:")]
    if lifecycle.challenge_visible_to_all(status):
        buttons.insert(0, ("teams", "dept.list.see_teams", ":material/groups:"))
    moves = lifecycle.challenge_moves(status)
    buttons += [(move, f"dept.list.{move}", icon) for move, icon in
                (("reopen", ":material/undo:"), ("archive", ":material/inventory_2:")) if move in moves]
    if challenges.deletable(row):  # a never-submitted draft
        buttons.append(("delete", "dept.list.delete", ":material/delete:"))
    return buttons


def actions(row: dict) -> None:
    buttons = actions_for(row)
    for i, (col, (move, label, icon)) in enumerate(zip(st.columns(len(buttons)), buttons)):
        if not col.button(ui.t(label), key=f"{move}_{row['id']}", icon=icon,
                          type="primary" if i == 0 else "secondary"):
            continue
        if move in CONFIRMED_MOVES:
            ask_confirmation(move, row)
            st.rerun()
        elif move == "teams":
            st.switch_page(TEAMS_PAGE)
        else:  # edit, view, revise: all on the form, which knows what the challenge allows
            open_form(row["id"])


def next_step(row: dict) -> str:
    if row["closed"]:
        return "dept.list.next_closed"
    if row["paired"]:
        return "dept.list.next_paired"
    return f"dept.list.next_{row['status']}"


def programmes_section(row: dict) -> None:
    """The academic programs the challenge is filed in (its home and each offer) with the state
    in each, an edit button for an offer sent back; and the offer to another program."""
    offers = challenges.offers(ui.db(), user, row["id"])
    if len(offers) > 1:
        st.markdown("**" + ui.t("offer.list.programmes") + "**")
        for offer in offers:
            left, right = st.columns([3, 1])
            left.text(ui.t("offer.list.line", programme=ui.programme_label(offer["programme_id"]),
                           term=offer["term_name"] or ""))
            with right:
                ui.badge(offer["status"])
            if not offer["home"] and lifecycle.challenge_editable(offer["status"]) \
                    and not lifecycle.term_is_read_only(offer["term_state"]):
                if offer["comments"]:
                    st.text(offer["comments"])
                if st.button(ui.t("offer.list.edit", programme=ui.plain(ui.programme_label(offer["programme_id"]))),
                             key=f"edit_offer_{offer['challenge_id']}", icon=":material/edit:"):
                    open_form(offer["challenge_id"])
    targets = challenges.offer_terms(ui.db(), user, row["id"])
    if not targets or row["closed"]:
        return
    with st.expander(ui.t("offer.list.offer_to"), icon=":material/share:"):
        st.caption(ui.t("offer.list.help"))
        labels = {term.id: ui.term_label(term) for term in targets}
        chosen = ui.choice(st.selectbox, ui.t("offer.list.term"), labels, labels=labels, key=f"offer_term_{row['id']}")
        if st.button(ui.t("offer.list.button"), key=f"offer_{row['id']}", icon=":material/share:"):
            term = next(t for t in targets if t.id == chosen)
            ui.act(lambda: challenges.offer(ui.db(), user, row["id"], chosen), page=PAGE,
                   success=lambda _: ("offer.list.offered", {"programme": ui.programme_label(term.programme_id)}),
                   on_error=ui.notice_error(PAGE))


def challenge_card(row: dict) -> None:
    with st.container(border=True):
        st.subheader(ui.plain(row["title"] or ui.t("dept.list.untitled")), anchor=False)
        ui.badge(row["status"])
        st.caption(ui.t("dept.list.updated", date=format_day(row["updated_at"], ui.lang())))
        st.info(ui.t(next_step(row)), icon=":material/arrow_forward:")
        if row.get("revision_waiting"):
            st.caption(ui.t("dept.list.revision_waiting"))
        if row["status"] == "returned" and row.get("comments"):
            st.markdown("**" + ui.t("dept.list.comments") + "**")
            st.text(row["comments"])
        actions(row)
        apply_pending(row)
        programmes_section(row)


def term_heading(row: dict) -> str:
    if row["term_name"] is None:
        return ui.t("dept.list.no_term")
    heading = ui.t("term.acts_on", name=ui.plain(row["term_name"]), state=ui.t("term_state." + row["term_state"]))
    programme = ui.plain(ui.programme_label(row.get("programme_id")))
    return f"{heading} · {programme}" if programme else heading


def with_facts(row: dict) -> dict:
    """The row, with what decides its buttons: a closed term, a published pairing, a waiting revision."""
    row["closed"] = lifecycle.term_is_read_only(row["term_state"])
    row["paired"] = challenges.has_published_pairing(ui.db(), row["id"])
    row["revision_waiting"] = row["paired"] and challenges.pending_revision(ui.db(), user, row["id"]) is not None
    return row


def main() -> None:
    st.title(ui.t("dept.list.title"))
    st.caption(ui.rep_t("dept.list.intro"))
    ui.show_notice(PAGE, icon=None)
    if st.button(ui.t("dept.list.new"), icon=":material/add:", type="primary", key="new_challenge"):
        open_form(None)
    # A challenge offered to other academic programs shows once, under its home term, with each
    # program and its state there (programmes_section).
    rows = [with_facts(r) for r in challenges.list_challenges(ui.db(), user, department_id=user.department_id)
            if r["offered_from"] is None]
    if not rows:
        st.info(ui.rep_t("dept.list.empty"), icon=":material/info:")
    # Grouped by term, newest term first (a challenge of no term last); closed terms after open ones.
    term_ids = sorted({r["term_id"] for r in rows}, key=lambda i: (i is None, i is not None and -i))
    term_ids.sort(key=lambda i: next(r["closed"] for r in rows if r["term_id"] == i))
    for term_id in term_ids:
        in_term = sorted((r for r in rows if r["term_id"] == term_id), key=lambda r: status_order(r["status"]))
        if len(term_ids) > 1 or term_id is not None:
            st.header(term_heading(in_term[0]), anchor=False)
        for row in in_term:
            challenge_card(row)


main()
