"""The dashboard's "Impact across terms" section (issue 17.5): every term and programme at once,
each figure an altair chart with the same numbers as a table beside it; the overdue outcome
reports listed. The figures come from :mod:`matching.impact` and :mod:`matching.outcomes`; this
module only draws them."""
import altair as alt
import pandas as pd
import streamlit as st

import ui
from matching import i18n, impact, outcomes


def _chart_and_table(title_key: str, chart, table: pd.DataFrame, empty: bool) -> None:
    st.subheader(ui.t(title_key), anchor=False)
    if empty:
        st.caption(ui.t("dash.no_data"))
        return
    left, right = st.columns([1, 1])
    left.altair_chart(chart, width="stretch")
    right.dataframe(table, width="stretch", hide_index=True)


def _stacked(frame: pd.DataFrame, y: str, colour: str, y_title: str, colour_title: str, terms: list[str]):
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("term:N", title=ui.t("data.col.term"), sort=terms, axis=alt.Axis(labelAngle=-45, labelOverlap=False, labelLimit=0)),
        y=alt.Y(f"sum({y}):Q", title=y_title, axis=alt.Axis(tickMinStep=1)),
        color=alt.Color(f"{colour}:N", title=colour_title),
        tooltip=[alt.Tooltip("term:N", title=ui.t("data.col.term")),
                 alt.Tooltip("programme:N", title=ui.t("data.col.programme")),
                 alt.Tooltip(f"{colour}:N", title=colour_title), alt.Tooltip(f"{y}:Q", title=y_title)])


def _by_programme(frame: pd.DataFrame, y: str, y_title: str, terms: list[str], fmt: str = ""):
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("term:N", title=ui.t("data.col.term"), sort=terms, axis=alt.Axis(labelAngle=-45, labelOverlap=False, labelLimit=0)),
        y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=fmt) if fmt else alt.Axis()),
        color=alt.Color("programme:N", title=ui.t("data.col.programme")),
        tooltip=[alt.Tooltip("term:N", title=ui.t("data.col.term")),
                 alt.Tooltip("programme:N", title=ui.t("data.col.programme")),
                 alt.Tooltip(f"{y}:Q", title=y_title, format=fmt or "")])


def _renamed(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    return frame[list(columns)].rename(columns={k: ui.t(v) for k, v in columns.items()})


def overdue_list(db, user) -> None:
    st.subheader(ui.t("impact.overdue_title"), anchor=False)
    rows = outcomes.overdue_reports(db, user)
    if not rows:
        st.caption(ui.t("impact.overdue_none"))
        return
    st.warning(ui.t("impact.overdue_count", count=len(rows)), icon=":material/flag:")
    frame = pd.DataFrame([{
        ui.t("data.col.term"): r["term"], ui.t("data.col.organisation"): r["acronym_fr"] or r["acronym"]
        if ui.lang() == "fr" else r["acronym"],
        ui.t("data.col.challenge"): r["challenge"], ui.t("impact.checkpoint"): ui.t("outcome.checkpoint", months=r["months"]),
        ui.t("data.col.due_on"): i18n.format_day(r["due_on"], ui.lang()), ui.t("impact.days_overdue"): r["days_overdue"]}
        for r in rows])
    st.dataframe(frame, width="stretch", hide_index=True)


def show(db, user) -> None:
    lang = ui.lang()
    st.header(ui.t("impact.title"), anchor=False)
    st.write(ui.t("impact.intro"))
    overdue_list(db, user)

    per_org = impact.challenges_per_organisation(db, user, lang)
    terms = list(dict.fromkeys(per_org["term"]))
    _chart_and_table("impact.per_organisation",
                     _stacked(per_org, "challenges", "kind_label", ui.t("impact.challenges_count"),
                              ui.t("data.col.organisation_type"), terms),
                     _renamed(per_org, {"term": "data.col.term", "programme": "data.col.programme",
                                        "kind_label": "data.col.organisation_type",
                                        "organisation": "data.col.organisation", "challenges": "impact.challenges_count"}),
                     per_org.empty)

    share = impact.report_share(db, user, lang)
    _chart_and_table("impact.report_share",
                     _by_programme(share, "share", ui.t("impact.share"), list(share["term"]), fmt="%"),
                     _renamed(share.assign(share=[i18n.format_percent(v, lang) for v in share["share"]]),
                              {"term": "data.col.term", "programme": "data.col.programme",
                               "completed": "impact.completed", "reported": "impact.reported",
                               "share": "impact.share"}),
                     share.empty)

    by_status = impact.outcomes_by_status(db, user, lang)
    _chart_and_table("impact.by_status",
                     _stacked(by_status, "pairings", "label", ui.t("impact.pairings_count"),
                              ui.t("data.col.latest_outcome"), list(dict.fromkeys(by_status["term"]))),
                     _renamed(by_status[by_status["pairings"] > 0],
                              {"term": "data.col.term", "programme": "data.col.programme",
                               "label": "data.col.latest_outcome", "pairings": "impact.pairings_count"}),
                     by_status.empty)

    approval = impact.approval_times(db, user, lang)
    _chart_and_table("impact.approval_times",
                     _by_programme(approval, "median_days", ui.t("impact.median_days"), list(approval["term"])),
                     _renamed(approval, {"term": "data.col.term", "programme": "data.col.programme",
                                         "challenges": "impact.challenges_count", "median_days": "impact.median_days",
                                         "mean_days": "impact.mean_days"}),
                     approval.empty)

    on_time = impact.feedback_on_time(db, user, lang)
    _chart_and_table("impact.feedback_on_time",
                     _stacked(on_time, "entries", "label", ui.t("dash.entries_count"), ui.t("data.col.status"),
                              list(dict.fromkeys(on_time["term"]))),
                     _renamed(on_time.assign(share=[i18n.format_percent(v, lang) for v in on_time["share"]]),
                              {"term": "data.col.term", "programme": "data.col.programme", "label": "data.col.status",
                               "entries": "dash.entries_count", "share": "impact.share"}),
                     on_time.empty)
