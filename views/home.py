"""Home: for each role, what to do next, in which term."""
import streamlit as st

import ui
from matching import home, notifications, organisations


def terms_line(terms: list[dict], student: bool) -> None:
    """The open terms (a student: the team's own term), named as their people call them."""
    if not terms:
        st.caption(ui.t("home.no_open_term"))
        return
    labels = [ui.t("term.acts_on", name=ui.plain(term["name"]), state=ui.t("term_state." + term["state"]))
              for term in terms]
    if student or len(terms) == 1:
        st.caption(labels[0])
        return
    names = ", ".join(f"{ui.plain(term['name'])} · {ui.t('term_state.' + term['state'])}" for term in terms)
    st.caption(ui.t("home.open_terms", terms=names))


def step_text(step: dict) -> str:
    text = ui.message(step["key"], step.get("params") or {})
    if step.get("term"):
        return ui.t("home.step.in_term", term=ui.plain(step["term"]), step=text)
    return text


#: Where each kind of step is done (a link under the step when the role has that page).
STEP_PAGES = {
    "home.step.review": "views/fac_review.py", "home.step.review_revisions": "views/fac_review.py",
    "home.step.run_assignment": "views/fac_assignment.py",
    "home.step.overdue_feedback": "views/fac_feedback.py", "home.step.entries_without_expert": "views/fac_feedback.py",
    "home.step.give_feedback": "views/expert_teams.py", "home.step.expert_overdue": "views/expert_teams.py",
    "home.step.replies_waiting": "views/expert_teams.py",
    "home.step.reply_feedback": "views/student_feedback.py", "home.step.expert_wrote": "views/student_feedback.py",
    "home.step.write_summary": "views/student_summary.py", "home.step.final_assessments": "views/expert_final.py",
    "home.step.outcome_reports": "views/dept_outcomes.py", "home.step.overdue_outcome_reports": "views/fac_dashboard.py",
}


def step_link(step: dict, role: str) -> None:
    path = STEP_PAGES.get(organisations.base_key(step["key"]))
    if path is None or path not in ui.page_files(role):
        return
    title, icon = next((t, i) for p, t, i in ui.PAGES[role] if p == path)
    st.page_link(path, label=ui.t("home.go_to", page=ui.t(title)), icon=icon)


def next_steps(steps: list[dict], role: str) -> None:
    if not steps:
        st.success(ui.t("home.nothing_to_do"), icon=":material/check:")
        return
    st.subheader(ui.t("home.next_steps"))
    for step in steps:
        st.info(step_text(step), icon=":material/arrow_forward:")
        step_link(step, role)


def challenge_counts(counts: dict) -> None:
    st.subheader(ui.rep_t("home.my_challenges"))
    cols = st.columns(len(counts))
    for col, (status, count) in zip(cols, counts.items()):
        col.metric(ui.t(f"status.{status}"), count)


def profile_completeness(share: float, missing: list[str]) -> None:
    st.subheader(ui.t("home.profile"))
    st.progress(share, text=ui.t("home.profile_complete", percent=round(share * 100)))
    for item in missing:
        st.write("• " + ui.t(f"profile.missing.{item}"))


def top_matches(matches: list[dict]) -> None:
    st.subheader(ui.t("home.top_matches"))
    for match in matches:
        with st.container(border=True):
            st.text(match["title"])
            ui.match_standing(match, "team")
            reasons = ", ".join(term for term, _ in match["reasons"])
            if reasons:
                st.caption(ui.t("matches.why", terms=ui.plain(reasons)))


def unread_notifications(user) -> None:
    """How many notifications wait in the inbox, with the way there."""
    unread = notifications.unread_count(ui.db(), user)
    if unread:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.info(ui.t("notify.home.unread", count=unread), icon=":material/notifications_active:")
            st.page_link(notifications.INBOX_PAGE, label=ui.t("notify.home.open_inbox"), icon=":material/inbox:")


def main() -> None:
    user = ui.user()
    st.title(ui.t("home.title", name=ui.plain(user.name)))
    unread_notifications(user)
    summary = home.next_steps(ui.db(), user)
    terms_line(summary.get("terms") or [], student=user.role == "student")
    next_steps(summary["steps"], user.role)
    if "counts" in summary:
        challenge_counts(summary["counts"])
    if "completeness" in summary:
        profile_completeness(*summary["completeness"])
    if summary.get("top_matches"):
        top_matches(summary["top_matches"])
    if summary.get("error"):
        st.warning(ui.t(summary["error"]), icon=":material/info:")


main()
