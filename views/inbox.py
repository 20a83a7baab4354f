"""Inbox: every notification of the signed-in person, unread first, each with the page that acts on it."""
import streamlit as st

import ui
from matching import i18n, notifications

user = ui.user()
db = ui.db()
PAGE = "inbox"  # session-state prefix of this page


def open_page(item: dict) -> None:
    """Mark the notification read and go to the page that acts on it."""
    ok, _ = ui.attempt(lambda: notifications.mark_read(db, user, item["id"]))
    if ok:
        st.switch_page(item["page"])


def notification(item: dict) -> None:
    params = notifications.localised(item["params"], ui.lang())
    with st.container(border=True, key=f"inbox_item_{item['id']}"):
        head, when = st.columns([4, 1])
        with head:
            if item["unread"]:
                st.badge(ui.t("notify.inbox.new"), icon=":material/fiber_new:", color="blue")
            st.markdown("**" + ui.message(f"notify.{item['kind']}.subject", params) + "**")
            st.write(ui.message(f"notify.{item['kind']}.body", params))
        when.caption(i18n.format_date(item["created_at"], ui.lang(), fmt="short"))
        with st.container(horizontal=True):
            if st.button(ui.t("notify.inbox.open"), key=f"inbox_open_{item['id']}", icon=":material/open_in_new:",
                         type="primary" if item["unread"] else "secondary"):
                open_page(item)
            if item["unread"] and st.button(ui.t("notify.inbox.mark_read"), key=f"inbox_read_{item['id']}",
                                            icon=":material/done:"):
                ui.act(lambda: notifications.mark_read(db, user, item["id"]), page=PAGE, success=lambda _: [])


def main() -> None:
    st.title(ui.t("notify.inbox.title"))
    ui.show_notice(PAGE)
    st.caption(ui.t("notify.inbox.intro"))
    items = notifications.inbox(db, user)
    if not items:
        st.info(ui.t("notify.inbox.empty"), icon=":material/inbox:")
        return
    unread = sum(1 for item in items if item["unread"])
    with st.container(horizontal=True, vertical_alignment="center"):
        st.subheader(ui.t("notify.inbox.unread", count=unread) if unread else ui.t("notify.inbox.all_read"),
                     anchor=False)
        if unread and st.button(ui.t("notify.inbox.mark_all_read"), key="inbox_mark_all", icon=":material/done_all:"):
            ui.act(lambda: notifications.mark_all_read(db, user), page=PAGE,
                   success=lambda count: ("notify.inbox.marked_all", {"count": count}))
    for item in items:
        notification(item)


main()
