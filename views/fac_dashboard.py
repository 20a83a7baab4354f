"""Dashboard: counts by state and the charts facilitators compare, each with its numbers beside it."""
import altair as alt
import streamlit as st

import ui
from matching import dashboard, lifecycle
from views import impact_section

user = ui.user()
db = ui.db()


def chart_with_table(title_key: str, chart, table, empty: bool) -> None:
    """The chart and, beside it, the same numbers as a table (what a screen reader reads)."""
    st.subheader(ui.t(title_key), anchor=False)
    if empty:
        st.caption(ui.t("dash.no_data"))
        return
    left, right = st.columns([1, 1])
    left.altair_chart(chart, width="stretch")
    right.dataframe(table, width="stretch", hide_index=True)


def bars(frame, x: str, y: str, x_title: str, y_title: str, sort=None):
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X(f"{x}:N", sort=sort if sort is not None else "-y", title=x_title,
                axis=alt.Axis(labelAngle=-45, labelOverlap=False)),
        y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(tickMinStep=1)),
        tooltip=[alt.Tooltip(f"{x}:N", title=x_title), alt.Tooltip(f"{y}:Q", title=y_title)])


def state_counts(term) -> None:
    counts = dashboard.counts_by_state(db, user, term.id, ui.lang())
    for kind, title in (("challenges", "dash.challenges"), ("pairings", "dash.pairings"), ("feedback", "dash.feedback")):
        st.subheader(ui.t(title), anchor=False)
        frame = counts[kind]
        cols = st.columns(len(frame))
        for col, (_, row) in zip(cols, frame.iterrows()):
            col.metric(row["label"], int(row["count"]))


def per_department(term) -> None:
    per_dept = dashboard.pairings_per_department(db, user, term.id, ui.lang())
    chart_with_table("dash.per_department",
                     bars(per_dept, "acronym", "pairings", ui.t("data.col.department"), ui.t("dash.pairings_count")),
                     per_dept.rename(columns={"acronym": ui.t("data.col.department"), "department": ui.t("dash.name"),
                                              "pairings": ui.t("dash.pairings_count")}),
                     per_dept.empty)


def labelled_bars(title_key: str, frame, count: str, label_title: str, count_title: str) -> None:
    """A distribution over ordered labels (ranks, score bands), bars in the labels' order."""
    chart_with_table(title_key,
                     bars(frame, "label", count, label_title, count_title, sort=list(frame["label"])),
                     frame[["label", count]].rename(columns={"label": label_title, count: count_title}),
                     int(frame[count].sum()) == 0)


def timeliness_chart(term) -> None:
    timeliness = dashboard.feedback_timeliness(db, user, term.id, ui.lang())
    stacked = alt.Chart(timeliness).mark_bar().encode(
        x=alt.X("round:N", title=ui.t("data.col.round"), sort=None),
        y=alt.Y("entries:Q", title=ui.t("dash.entries_count"), axis=alt.Axis(tickMinStep=1)),
        color=alt.Color("label:N", title=ui.t("data.col.status"), sort=list(timeliness["label"].unique())),
        tooltip=["round:N", "label:N", "entries:Q"])
    chart_with_table("dash.timeliness_title", stacked,
                     timeliness[["round", "label", "entries"]].rename(columns={
                         "round": ui.t("data.col.round"), "label": ui.t("data.col.status"),
                         "entries": ui.t("dash.entries_count")}),
                     timeliness.empty)


def round_progress(term) -> None:
    progress = dashboard.round_progress(db, user, term.id)
    if progress.empty:
        return
    st.subheader(ui.t("dash.rounds"), anchor=False)
    for _, row in progress.iterrows():
        state = "dash.round_complete" if row["complete"] else "dash.round_in_progress"
        icon = ":material/task_alt:" if row["complete"] else ":material/pending:"
        st.markdown(ui.label_value(ui.plain(row["round"]), f"**{ui.t(state)}**") + " — "
                    + ui.t("dash.round_counts", given=int(row["given"]), total=int(row["entries"]),
                           answered=int(row["answered"]), overdue=int(row["overdue"])))
        st.badge(ui.t(state), icon=icon, color="green" if row["complete"] else "orange")


def main() -> None:
    st.title(ui.t("dash.title"))
    term = ui.pick_term("dash_term", lifecycle.TERM_STATES_OPEN)
    if lifecycle.term_is_read_only(term.state):
        st.caption(ui.t("term.closed_read_only", term=ui.plain(term.name)))
    st.write(ui.t("dash.intro"))
    state_counts(term)
    per_department(term)
    labelled_bars("dash.ranks", dashboard.rank_achieved(db, user, term.id, ui.lang()), "teams",
                  ui.t("data.col.preference_rank"), ui.t("dash.teams_count"))
    labelled_bars("dash.similarity", dashboard.similarity_distribution(db, user, term.id), "pairs",
                  ui.t("data.col.score"), ui.t("dash.pairs_count"))
    timeliness_chart(term)
    round_progress(term)
    st.divider()
    impact_section.show(db, user)   # every term and programme at once (issue 17.5)


main()
