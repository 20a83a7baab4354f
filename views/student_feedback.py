"""Feedback: the expert's submitted feedback for our team, and our reply (what we changed)."""
import streamlit as st

import ui
from matching import feedback, i18n, terms
from matching.errors import PortalError
from matching.models import RUBRIC

user = ui.user()
db = ui.db()
PAGE = "student_fb"  # session-state prefix of this page


def level(criterion: str, score: int) -> str:
    return f"{score} — {ui.t(f'feedback.level.{criterion}.{score}')}"


def reply_form(entry: dict, can_reply: bool) -> None:
    errors_key = f"student_fb_errors_{entry['id']}"
    errors = ui.kept_errors(errors_key)
    with st.container(border=True):
        text = st.text_area(ui.t("feedback.student.reply_label"), key=f"student_fb_reply_{entry['id']}",
                            help=ui.t("feedback.student.reply_help"))
        ui.field_error(errors, "reply")
        sent = st.button(ui.t("feedback.student.send"), type="primary", disabled=not can_reply,
                         key=f"student_fb_send_{entry['id']}",
                                     icon=":material/send:")
    if sent:
        ui.act(lambda: feedback.reply(db, user, entry["id"], text), page=PAGE, errors_key=errors_key,
               success=lambda _: ("feedback.student.sent", {"round": entry["round_name"]}))


def entry_block(entry: dict, can_reply: bool) -> None:
    with st.container(border=True):
        st.subheader(ui.plain(entry["round_name"]), anchor=False)
        st.caption(ui.t("feedback.student.from", expert=ui.plain(entry["expert_name"] or entry["sme_name"]),
                        date=i18n.format_day(entry["submitted_at"], ui.lang())))
        for criterion in RUBRIC:
            value = entry["scores"].get(criterion)
            st.write(ui.t("feedback.score_line", criterion="**" + ui.t("data.col." + criterion) + "**",
                              level=level(criterion, value) if value else "—"))
        st.markdown(f"**{ui.t('data.col.comments')}**")
        st.text(entry["comments"])
        if entry["state"] == "answered":
            st.badge(ui.t("dash.feedback_status.answered"), icon=":material/forum:", color="violet")
            st.markdown(f"**{ui.t('feedback.student.your_reply')}**")
            st.text(entry["reply"])
        else:
            st.badge(ui.t("feedback.student.needs_reply"), icon=":material/reply:", color="orange")
            reply_form(entry, can_reply)


def main() -> None:
    st.title(ui.t("feedback.student.title"))
    ui.show_notice(PAGE)
    try:
        entries = feedback.entries_for_team(db, user, user.team_id)
    except PortalError as err:
        ui.show_error(err)
        st.stop()
    term = terms.current_term(db)
    can_reply = term is not None and term.state == "active"
    if not entries:
        st.info(ui.t("feedback.student.none"), icon=":material/hourglass_top:")
        st.stop()
    waiting = sum(1 for e in entries if e["state"] == "submitted")
    if waiting:
        st.info(ui.t("feedback.student.waiting", count=waiting), icon=":material/arrow_forward:")
    if not can_reply:
        st.caption(ui.t("term.requires_active"))
    for item in entries:
        entry_block(item, can_reply)


main()
