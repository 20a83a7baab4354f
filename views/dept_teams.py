"""Teams for my challenges: the paired teams, then the teams ranked for each approved challenge.

The ranking helps the department see who might take its challenge on; the facilitator decides
the pairings, and once they are published the paired teams' profiles are shown here. A
department may have pairings in several terms (the current cohort, the next one, past ones):
each says its term.
"""
import streamlit as st

import ui
from matching import challenges, lifecycle, matches, teams
from matching.errors import PortalError

TOP = 10
LIST_PAGE = "views/dept_challenges.py"

user = ui.user()


def published_pairings() -> list[dict]:
    """The department's published pairings; none while the pairings module is not installed."""
    try:
        from matching.pairings import pairings_for_department
    except ImportError:
        return []
    return pairings_for_department(ui.db(), user, user.department_id)


def ranked_team(rank: int, team: dict) -> None:
    with st.container(border=True):
        st.markdown(f"**{rank}. {ui.plain(team['name'])}**")
        ui.match_standing(team, "challenge")
        # Each side's own words ("their theme <-> your skill"); plain words for older items.
        ui.shared_terms(team.get("reason_pairs") or team["reasons"], label_key="dept.teams.shared_terms",
                        empty_key="dept.teams.no_shared_terms")


def team_profile(team_id: int) -> None:
    team = teams.get_team(ui.db(), user, team_id)
    st.markdown("**" + ui.plain(team.name) + "**")
    if team.program:
        st.caption(ui.t("dept.teams.program", program=ui.plain(team.program)))
    st.caption(ui.t("dept.teams.members"))
    st.text("\n".join(f"{m.name} ({m.program_year})" if m.program_year else m.name for m in team.members) or "—")
    st.caption(ui.t("dept.teams.skills"))
    st.text(", ".join(team.skills) or "—")
    st.caption(ui.t("dept.teams.interests"))
    st.text(", ".join(team.interests) or "—")
    st.caption(ui.t("dept.teams.past_work"))
    st.text(team.past_work or "—")


def term_line(name: str | None, term_state: str | None) -> str:
    if name is None:
        return ui.t("dept.list.no_term")
    return ui.t("term.acts_on", name=ui.plain(name), state=ui.t("term_state." + term_state))


def pairings_section(pairings: list[dict]) -> None:
    st.header(ui.t("dept.teams.paired_heading"), anchor=False)
    if not pairings:
        st.caption(ui.t("dept.teams.not_published"))
        return
    for pairing in pairings:  # newest term first
        with st.container(border=True):
            st.caption(term_line(pairing["term_name"], pairing["term_state"]))
            st.caption(ui.t("dept.teams.paired_with", title=ui.plain(pairing["challenge_title"])))
            team_profile(pairing["team_id"])


def ranked_section(approved: list[dict]) -> None:
    st.header(ui.t("dept.teams.ranked_heading"), anchor=False)
    if not approved:
        st.info(ui.t("dept.teams.none_approved"), icon=":material/info:")
        if st.button(ui.t("dept.teams.to_challenges"), icon=":material/list_alt:", key="to_challenges"):
            st.switch_page(LIST_PAGE)
        return
    for i, challenge in enumerate(approved):
        with st.expander(ui.plain(challenge["title"]), expanded=(i == 0)):
            st.caption(term_line(challenge["term_name"], challenge["term_state"]))
            st.caption(ui.t("dept.teams.capacity", count=challenge["capacity"]))
            try:
                ranked = matches.ranked_teams_for_challenge(ui.db(), user, challenge["id"], k=TOP)
            except PortalError as err:
                st.warning(ui.message(err.key, err.params), icon=":material/info:")
                continue
            st.caption(ui.t("dept.teams.top", count=len(ranked)))
            for rank, team in enumerate(ranked, start=1):
                ranked_team(rank, team)


def main() -> None:
    st.title(ui.t("dept.teams.title"))
    st.info(ui.t("dept.teams.facilitator_decides"), icon=":material/info:")
    try:
        pairings = published_pairings()
    except PortalError as err:
        ui.show_error(err)
        pairings = []
    pairings_section(pairings)
    # Ranking is for pairings still to come: a closed term's challenges are not ranked again.
    approved = [c for c in challenges.list_challenges(ui.db(), user, department_id=user.department_id)
                if lifecycle.challenge_visible_to_all(c["status"]) and not lifecycle.term_is_read_only(c["term_state"])]
    ranked_section(approved)


main()
