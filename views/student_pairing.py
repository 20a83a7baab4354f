"""Our pairing: once the facilitators publish it, the team's challenge, department and expert."""
import streamlit as st

import ui
from matching import terms
from matching.errors import PortalError

PREFERENCES_PAGE = "views/student_preferences.py"
PROFILE_PAGE = "views/student_profile.py"

user = ui.user()


def published_pairing() -> dict | None:
    """The team's published pairing; None until published (or while pairings are not installed)."""
    try:
        from matching.pairings import pairing_for_team
    except ImportError:
        return None
    return pairing_for_team(ui.db(), user, user.team_id)


def not_published_yet() -> None:
    st.info(ui.t("student.pairing.not_yet"), icon=":material/hourglass_top:")
    term = terms.current_term(ui.db())
    if term is not None and term.state == "intake":
        st.write(ui.t("student.pairing.meanwhile_intake"))
        st.page_link(PREFERENCES_PAGE, label=ui.t("student.pairing.to_preferences"),
                     icon=":material/format_list_numbered:")
        st.page_link(PROFILE_PAGE, label=ui.t("student.pairing.to_profile"), icon=":material/badge:")
    else:
        st.write(ui.t("student.pairing.meanwhile"))


def pairing(details: dict) -> None:
    st.success(ui.t("student.pairing.published"), icon=":material/handshake:")
    st.header(ui.plain(details["title"]), anchor=False)
    st.caption(ui.t("student.pairing.department", name=ui.plain(ui.department_name(details)),
                    acronym=ui.plain(details["acronym"])))
    for label, value in (("student.pairing.problem", details["problem"]),
                         ("student.pairing.outcomes", details["outcomes"])):
        st.subheader(ui.t(label), anchor=False)
        st.text(value)
    st.subheader(ui.t("student.pairing.contact"), anchor=False)
    st.caption(ui.t("student.pairing.contact_help"))
    st.text(details["sme_name"] or "—")
    if details["sme_email"]:
        st.code(details["sme_email"], language=None)


def main() -> None:
    st.title(ui.t("student.pairing.title"))
    try:
        published = published_pairing()
    except PortalError as err:
        ui.show_error(err)
        return
    if published:
        pairing(published)
    else:
        not_published_yet()


main()
