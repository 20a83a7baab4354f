"""Match matrix: every team x approved challenge as a heatmap, and both ranked directions."""
import altair as alt
import pandas as pd
import streamlit as st

import ui
from matching import i18n, lifecycle, matches
from matching.errors import PortalError
from matching.textprep import fold

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


def challenge_codes(challenges: list[dict]) -> dict[int, str]:
    """A short code per challenge of the term, its department's acronym and number (``ESDC-2``),
    numbered in title order, the same on every page and in either sort order; the legend under
    the chart spells each out."""
    codes, counts = {}, {}
    for c in sorted(challenges, key=lambda c: (fold(c["acronym"]), fold(c["title"]), c["id"])):
        counts[c["acronym"]] = counts.get(c["acronym"], 0) + 1
        codes[c["id"]] = f"{ui.acronym(c['acronym'])}-{counts[c['acronym']]}"  # MPO-1 in French
    return codes


def heatmap(pages: dict, codes: dict[int, str]) -> None:
    team_names = [team["name"] for team in pages["teams"]]
    columns = [codes[c["id"]] for c in pages["challenges"]]
    titles = {codes[c["id"]]: f"[{ui.acronym(c['acronym'])}] {c['title']}" for c in pages["challenges"]}
    frame = pd.DataFrame([{"team": team, "code": code, "challenge": titles[code],
                           "score": round(float(pages["scores"][i, j]), 3)}
                          for i, team in enumerate(team_names) for j, code in enumerate(columns)])
    # Every column is labelled: short codes written upwards (a 50-column page still gives each
    # more room than a line of text), never dropped for overlapping (Streamlit's chart theme
    # hides overlapping labels unless told otherwise); the legend below spells each out.
    chart = alt.Chart(frame).mark_rect().encode(
        x=alt.X("code:N", sort=columns, title=ui.t("matrix.code_axis"),
                axis=alt.Axis(labelAngle=-90, labelOverlap=False, labelLimit=0, labelFontSize=11)),
        y=alt.Y("team:N", sort=team_names, title=ui.t("data.col.team"),
                axis=alt.Axis(labelOverlap=False, labelLimit=0)),
        color=alt.Color("score:Q", title=ui.t("data.col.score"), scale=alt.Scale(scheme="viridis")),
        tooltip=[alt.Tooltip("team:N", title=ui.t("data.col.team")),
                 alt.Tooltip("code:N", title=ui.t("matrix.code")),
                 alt.Tooltip("challenge:N", title=ui.t("data.col.challenge")),
                 alt.Tooltip("score:Q", title=ui.t("data.col.score"), format=".3f")],
    ).properties(height=alt.Step(16))
    st.altair_chart(chart, width="stretch", key="matrix_heatmap")
    legend(pages["challenges"], codes)
    with st.expander(ui.t("matrix.table"), icon=":material/table:"):
        st.dataframe(pd.DataFrame(pages["scores"].round(3), index=team_names, columns=columns), width="stretch")


def legend(challenges: list[dict], codes: dict[int, str]) -> None:
    """What each column code stands for: department and full title."""
    st.subheader(ui.t("matrix.legend"), anchor=False)
    ui.wide_table([{"code": codes[c["id"]], "department": ui.department_name(c), "challenge": c["title"]}
                   for c in challenges],
                  {"code": (ui.t("matrix.code"), "small"), "department": (ui.t("matrix.department"), "medium"),
                   "challenge": (ui.t("data.col.challenge"), "large")}, key="matrix_legend")


def reasons_text(match: dict) -> str:
    return ", ".join(term for term, _ in match["reasons"]) or "—"


def ranked_table(rows: list[dict], name_key: str, name_label: str, key: str, side: str) -> None:
    """A ranked list as every page shows a match: label, rank, share of the list's best score."""
    ui.wide_table([{"name": r[name_key], "label": ui.match_line(r, side), "reasons": reasons_text(r)} for r in rows],
                  {"name": (name_label, "large"), "label": (ui.t("matrix.label"), "large"),
                   "reasons": (ui.t("data.col.reason"), "large")},
                  key=key)


def by_challenge(challenges: list[dict]) -> None:
    st.subheader(ui.t("matrix.by_challenge"), anchor=False)
    names = {c["id"]: f"[{ui.acronym(c['acronym'])}] {c['title']}" for c in challenges}
    chosen = ui.choice(st.selectbox, ui.t("matrix.choose_challenge"), names, key="matrix_challenge", labels=names)
    try:
        ranked_table(matches.ranked_teams_for_challenge(db, user, chosen, k=TOP), "name", ui.t("data.col.team"),
                     key=f"matrix_teams_of_{chosen}", side="challenge")
    except (PortalError, ValueError) as err:
        st.warning(ui.t(getattr(err, "key", "error.generic")), icon=":material/info:")


def by_team(teams: list[dict]) -> None:
    st.subheader(ui.t("matrix.by_team"), anchor=False)
    names = {team["id"]: team["name"] for team in teams}
    chosen = ui.choice(st.selectbox, ui.t("matrix.choose_team"), names, key="matrix_team", labels=names)
    try:
        ranked_table(matches.ranked_challenges_for_team(db, user, chosen, k=TOP), "title",
                     ui.t("data.col.challenge"), key=f"matrix_challenges_of_{chosen}", side="team")
    except (PortalError, ValueError) as err:
        st.warning(ui.t(getattr(err, "key", "error.generic")), icon=":material/info:")


def main() -> None:
    st.title(ui.t("matrix.title"))
    term = ui.pick_term("matrix_term", lifecycle.TERM_STATES_OPEN)
    if lifecycle.term_is_read_only(term.state):
        st.caption(ui.t("term.closed_read_only", term=ui.plain(term.name)))
    st.write(ui.t("matrix.intro"))
    sorts = {"name": ui.t("matrix.sort.name"), "best": ui.t("matrix.sort.best")}
    sort = ui.choice(st.radio, ui.t("matrix.sort.label"), sorts, labels=sorts, horizontal=True, key="matrix_sort")
    pages = matches.matrix_view(db, user, term.id, order=sort, team_page=st.session_state.get("matrix_team_page", 1) - 1,
                                challenge_page=st.session_state.get("matrix_challenge_page", 1) - 1)
    if not pages["n_teams"] or not pages["n_challenges"]:
        st.info(ui.t("matrix.empty"), icon=":material/grid_off:")
        st.stop()
    page_pickers(pages)
    teams, challenges, _ = matches.match_matrix(db, user, term.id)
    heatmap(pages, challenge_codes(challenges))
    # One under the other, full width: side by side, titles and reasons were cut off.
    by_challenge(challenges)
    by_team(teams)
    st.caption(ui.t("matrix.scale", low=i18n.format_number(pages["low"], ui.lang(), digits=2),
                    high=i18n.format_number(pages["high"], ui.lang(), digits=2)))


main()
