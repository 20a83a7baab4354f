"""Our pairing: once the facilitators publish it, the team's challenge, department and expert."""
import streamlit as st

import ui
from matching import lifecycle, pairings, teams, terms
from matching.errors import PortalError

PREFERENCES_PAGE = "views/student_preferences.py"
PROFILE_PAGE = "views/student_profile.py"

user = ui.user()


def published_pairing() -> dict | None:
    """The team's published pairing (its newest); None until published."""
    return pairings.pairing_for_team(ui.db(), user, user.team_id)


def team_term():
    return terms.term_of(ui.db(), teams.get_team(ui.db(), user, user.team_id).term_id)


def not_published_yet() -> None:
    term = team_term()
    ui.term_caption(term)
    st.info(ui.t("student.pairing.not_yet"), icon=":material/hourglass_top:")
    if term is not None and lifecycle.term_takes_preferences(term.state):
        st.write(ui.t("student.pairing.meanwhile_intake"))
        st.page_link(PREFERENCES_PAGE, label=ui.t("student.pairing.to_preferences"),
                     icon=":material/format_list_numbered:")
        st.page_link(PROFILE_PAGE, label=ui.t("student.pairing.to_profile"), icon=":material/badge:")
    else:
        st.write(ui.t("student.pairing.meanwhile"))


def pairing(details: dict) -> None:
    st.caption(ui.t("term.acts_on", name=ui.plain(details["term_name"]),
                    state=ui.t("term_state." + details["term_state"])))
    st.success(ui.t("student.pairing.published"), icon=":material/handshake:")
    st.header(ui.plain(details["title"]), anchor=False)
    st.caption(ui.t("student.pairing.department", name=ui.plain(ui.department_name(details)),
                    acronym=ui.plain(ui.acronym(details["acronym"]))))
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
