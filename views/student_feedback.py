"""Feedback: the expert's submitted feedback for our team, our reply (what we changed), and the
short thread under each entry where the team and the expert keep talking until the term closes.

Each round is an expander, open when it waits for the team (a reply to write, a message from the
expert to read)."""
import streamlit as st

import ui
from matching import feedback, i18n, lifecycle
from views import feedback_thread
from matching.errors import PortalError
from matching.models import RUBRIC

user = ui.user()
db = ui.db()
PAGE = "student_fb"  # session-state prefix of this page


def level(criterion: str, score: int) -> str:
    return f"{score} — {ui.t(f'feedback.level.{criterion}.{score}')}"


def reply_form(entry: dict) -> None:
    errors_key = f"student_fb_errors_{entry['id']}"
    errors = ui.kept_errors(errors_key)
    with st.container(border=True):
        text = st.text_area(ui.t("feedback.student.reply_label"), key=f"student_fb_reply_{entry['id']}",
                            help=ui.t("feedback.student.reply_help"))
        ui.field_error(errors, "reply")
        sent = st.button(ui.t("feedback.student.send"), type="primary", key=f"student_fb_send_{entry['id']}",
                         icon=":material/send:")
    if sent:
        ui.act(lambda: feedback.reply(db, user, entry["id"], text), page=PAGE, errors_key=errors_key,
               success=lambda _: feedback_thread.keep_open(PAGE, entry, ("feedback.student.sent",
                                                                         {"round": entry["round_name"]})))


def can_reply(entry: dict) -> bool:
    """A reply is written while the entry's own term is active (another term's state does not matter)."""
    return lifecycle.term_gives_feedback(entry["term_state"])


def term_note(entry: dict) -> None:
    """Why the reply cannot be written now, in the entry's term's words."""
    if lifecycle.term_is_read_only(entry["term_state"]):
        st.caption(ui.message("term.closed_read_only", {"term": entry["term_name"]}))
    else:
        st.caption(ui.t("term.requires_active"))


def entry_title(entry: dict) -> str:
    if entry["next"] == "reply":
        state = ui.t("feedback.student.needs_reply")
    elif entry["next"] == "answer_expert":
        state = ui.t("feedback.student.message_waiting")
    else:
        state = ui.t("dash.feedback_status." + entry["status"])
    return ui.t("feedback.student.entry_title", round=ui.plain(entry["round_name"]), state=state)


def entry_block(entry: dict) -> None:
    with st.expander(entry_title(entry), icon=":material/rate_review:",
                     expanded=feedback.waits_for(entry, "team") or feedback_thread.kept_open(PAGE, entry)):
        st.caption(ui.t("term.acts_on", name=ui.plain(entry["term_name"]),
                        state=ui.t("term_state." + entry["term_state"])))
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
            if can_reply(entry):
                reply_form(entry)
            else:
                term_note(entry)
        feedback_thread.show(entry, side="team", page=PAGE)


def main() -> None:
    st.title(ui.t("feedback.student.title"))
    ui.show_notice(PAGE)
    try:
        entries = feedback.entries_for_team(db, user, user.team_id)
    except PortalError as err:
        ui.show_error(err)
        st.stop()
    if not entries:
        st.info(ui.t("feedback.student.none"), icon=":material/hourglass_top:")
        st.stop()
    waiting = sum(1 for e in entries if e["state"] == "submitted" and can_reply(e))
    if waiting:
        st.info(ui.t("feedback.student.waiting", count=waiting), icon=":material/arrow_forward:")
    messages = sum(1 for e in entries if e["next"] == "answer_expert")
    if messages:
        st.info(ui.t("feedback.student.messages_waiting", count=messages), icon=":material/forum:")
    for item in entries:
        entry_block(item)


main()
