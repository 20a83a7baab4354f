"""Match matrix: every team x approved challenge as a heatmap, and both ranked directions."""
import altair as alt
import pandas as pd
import streamlit as st

import ui
from matching import i18n, lifecycle, matches
from matching.errors import PortalError

user = ui.user()
db = ui.db()
TOP = 25  # rows in each ranked list below the matrix

def page_pickers(pages: dict) -> None:
    """Big terms are drawn a page of teams by a page of challenges at a time."""
    if pages["team_pages"] > 1 or pages["challenge_pages"] > 1:
        left, right = st.columns(2)
        left.number_input(ui.t("matrix.team_page", pages=pages["team_pages"], count=pages["n_teams"]),
                          min_value=1, max_value=pages["team_pages"], key="matrix_team_page")
        right.number_input(ui.t("matrix.challenge_page", pages=pages["challenge_pages"], count=pages["n_challenges"]),
                           min_value=1, max_value=pages["challenge_pages"], key="matrix_challenge_page")


def heatmap(pages: dict) -> None:
    team_names = [team["name"] for team in pages["teams"]]
    challenge_names = [f"[{c['acronym']}] {c['title']}" for c in pages["challenges"]]
    frame = pd.DataFrame([{"team": team, "challenge": challenge, "score": round(float(pages["scores"][i, j]), 3)}
                          for i, team in enumerate(team_names) for j, challenge in enumerate(challenge_names)])
    chart = alt.Chart(frame).mark_rect().encode(
        x=alt.X("challenge:N", sort=challenge_names, title=ui.t("data.col.challenge"),
                axis=alt.Axis(labelLimit=180, labelAngle=-60)),
        y=alt.Y("team:N", sort=team_names, title=ui.t("data.col.team"), axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("score:Q", title=ui.t("data.col.score"), scale=alt.Scale(scheme="viridis")),
        tooltip=[alt.Tooltip("team:N", title=ui.t("data.col.team")),
                 alt.Tooltip("challenge:N", title=ui.t("data.col.challenge")),
                 alt.Tooltip("score:Q", title=ui.t("data.col.score"), format=".3f")],
    ).properties(height=alt.Step(16))
    st.altair_chart(chart, width="stretch")
    with st.expander(ui.t("matrix.table"), icon=":material/table:"):
        st.dataframe(pd.DataFrame(pages["scores"].round(3), index=team_names, columns=challenge_names), width="stretch")


def reasons_text(match: dict) -> str:
    return ", ".join(term for term, _ in match["reasons"]) or "—"


def ranked_table(rows: list[dict], name_key: str, name_label: str) -> None:
    table = pd.DataFrame([{name_label: r[name_key], ui.t("data.col.score"): round(r["score"], 3),
                           ui.t("matrix.label"): ui.t("label." + r["label"]),
                           ui.t("data.col.reason"): reasons_text(r)} for r in rows])
    st.dataframe(table, width="stretch", hide_index=True)


def by_challenge(challenges: list[dict]) -> None:
    st.subheader(ui.t("matrix.by_challenge"), anchor=False)
    names = {c["id"]: f"[{c['acronym']}] {c['title']}" for c in challenges}
    chosen = st.selectbox(ui.t("matrix.choose_challenge"), list(names), key="matrix_challenge", format_func=names.get)
    try:
        ranked_table(matches.ranked_teams_for_challenge(db, user, chosen, k=TOP), "name", ui.t("data.col.team"))
    except (PortalError, ValueError) as err:
        st.warning(ui.t(getattr(err, "key", "error.generic")), icon=":material/info:")


def by_team(teams: list[dict]) -> None:
    st.subheader(ui.t("matrix.by_team"), anchor=False)
    names = {team["id"]: team["name"] for team in teams}
    chosen = st.selectbox(ui.t("matrix.choose_team"), list(names), key="matrix_team", format_func=names.get)
    try:
        ranked_table(matches.ranked_challenges_for_team(db, user, chosen, k=TOP), "title",
                     ui.t("data.col.challenge"))
    except (PortalError, ValueError) as err:
        st.warning(ui.t(getattr(err, "key", "error.generic")), icon=":material/info:")


def main() -> None:
    st.title(ui.t("matrix.title"))
    term = ui.pick_term("matrix_term", lifecycle.TERM_STATES_OPEN)
    if lifecycle.term_is_read_only(term.state):
        st.caption(ui.t("term.closed_read_only", term=ui.plain(term.name)))
    st.write(ui.t("matrix.intro"))
    sorts = {"name": ui.t("matrix.sort.name"), "best": ui.t("matrix.sort.best")}
    sort = st.radio(ui.t("matrix.sort.label"), list(sorts), format_func=sorts.get, horizontal=True, key="matrix_sort")
    pages = matches.matrix_view(db, user, term.id, order=sort, team_page=st.session_state.get("matrix_team_page", 1) - 1,
                                challenge_page=st.session_state.get("matrix_challenge_page", 1) - 1)
    if not pages["n_teams"] or not pages["n_challenges"]:
        st.info(ui.t("matrix.empty"), icon=":material/grid_off:")
        st.stop()
    page_pickers(pages)
    heatmap(pages)
    teams, challenges, _ = matches.match_matrix(db, user, term.id)
    left, right = st.columns(2)
    with left:
        by_challenge(challenges)
    with right:
        by_team(teams)
    st.caption(ui.t("matrix.scale", low=i18n.format_number(pages["low"], ui.lang(), digits=2),
                    high=i18n.format_number(pages["high"], ui.lang(), digits=2)))


main()
