"""The thread under one feedback entry, shared by the expert's and the team's pages (not a page).

Messages are shown as typed (``st.text``), in the order written, each with its side and author;
the writing box appears while the thread is open (``entry["thread_open"]``), and a "mark read"
button when the other side's last word waits for this side.
"""
from __future__ import annotations

import streamlit as st

import ui
from matching import feedback, i18n

AVATARS = {"expert": ":material/support_agent:", "team": ":material/groups:"}


def keep_open(page: str, entry: dict, said: ui.Message) -> ui.Message:
    """A success of an action on ``entry``: its round stays unfolded on the next run, so the
    person sees what they just did (a round otherwise folds once it no longer needs them)."""
    st.session_state[f"{page}_open_entry"] = entry["id"]
    return said


def kept_open(page: str, entry: dict) -> bool:
    return st.session_state.get(f"{page}_open_entry") == entry["id"]


def show(entry: dict, *, side: str, page: str) -> None:
    """The thread of ``entry`` for a writer on ``side`` ("expert" or "team"); ``page`` is the
    notice prefix of the page that shows it."""
    db, user = ui.db(), ui.user()
    messages = feedback.thread(db, user, entry["id"])
    st.markdown(f"**{ui.t('feedback.thread.title')}**")
    if not messages:
        st.caption(ui.t("feedback.thread.empty"))
    for message in messages:
        with st.chat_message(message["side"], avatar=AVATARS[message["side"]]):
            st.caption(ui.t(f"feedback.thread.by_{message['side']}", name=ui.plain(message["author_name"] or "—"),
                            date=i18n.format_date(message["created_at"], ui.lang())))
            st.text(message["body"])
    if not entry["thread_open"]:
        st.caption(ui.message("feedback.thread_closed", {"term": entry["term_name"]}))
        return
    write_box(entry, side=side, page=page)


def write_box(entry: dict, *, side: str, page: str) -> None:
    db, user = ui.db(), ui.user()
    entry_id = entry["id"]
    errors_key = f"thread_errors_{entry_id}"
    errors = ui.kept_errors(errors_key)
    text = st.text_area(ui.t("feedback.thread.label"), key=f"thread_text_{entry_id}", height=80,
                        help=ui.t("feedback.thread.help", maximum=feedback.THREAD_MESSAGE_MAX),
                        max_chars=feedback.THREAD_MESSAGE_MAX)
    ui.field_error(errors, "message")
    left, right = st.columns(2)
    send = left.button(ui.t("feedback.thread.send"), key=f"thread_send_{entry_id}", icon=":material/send:")
    waiting_for_me = feedback.waits_for(entry, side) and entry["next"] in feedback.THREAD_ACTIONS
    read = waiting_for_me and right.button(ui.t("feedback.thread.mark_read"), key=f"thread_read_{entry_id}",
                                           icon=":material/done_all:")
    if send:
        ui.act(lambda: feedback.post_message(db, user, entry_id, text), page=page, errors_key=errors_key,
               success=lambda _: keep_open(page, entry, ("feedback.thread.sent", {"round": entry["round_name"],
                                                                                   "team": entry["team_name"]})),
               forget=[f"thread_text_{entry_id}"])
    if read:
        ui.act(lambda: feedback.mark_read(db, user, entry_id), page=page,
               success=lambda _: keep_open(page, entry, ("feedback.thread.marked_read",
                                                         {"round": entry["round_name"], "team": entry["team_name"]})))
