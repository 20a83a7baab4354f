"""Outcomes library: every completed challenge, across terms and programmes, with the team's
summary, the rubric averages and what the challenge led to (issue 17.4).

Every signed-in role reads it; it is the read-only public servant's only page. Entries come
from :mod:`matching.library` already anonymised (a team that did not opt in is "anonymised
team"); every text written by someone is shown through ``st.text`` or :func:`ui.plain`.
"""
import streamlit as st

import ui
from matching import library, organisations
from matching.i18n import format_day, format_number
from matching.models import RUBRIC

PAGE_SIZE = 10
PAGE = "lib"  # session-state prefix of this page
LANGUAGE_NAMES = {"en": "dept.content_language.en", "fr": "dept.content_language.fr",
                  "bilingual": "dept.content_language.bilingual"}

user = ui.user()
state = st.session_state


def organisation_label(org: dict) -> str:
    return f"{ui.acronym(org['acronym'])} — {ui.department_name(org)}"


def programme_label(item: dict) -> str:
    if ui.lang() == "fr":
        return f"{item['institution_fr']} — {item['programme_fr']}"
    return f"{item['institution_en']} — {item['programme_en']}"


def status_label(status: str | None) -> str:
    return ui.t(f"outcome.status.{status}") if status else ui.t("library.no_report")


def filters(items: list[dict]) -> dict:
    facets = library.facets_of(items)
    query = st.text_input(ui.t("library.search"), key="lib_query", placeholder=ui.t("library.search_placeholder"),
                          help=ui.t("library.search_help"))
    any_label = ui.t("library.any")
    organisations_offered = {o["id"]: organisation_label(o) for o in facets["organisations"]}
    kinds = {kind: organisations.kind_label(kind, ui.lang()) for kind in facets["kinds"]}
    programmes = {p["id"]: programme_label(p) for p in facets["programmes"]}
    statuses = {s: status_label(None if s == "none" else s) for s in facets["statuses"]}
    first = st.columns(3)
    chosen = {"query": query}
    chosen["organisation_ids"] = ui.choice(first[0].multiselect, ui.t("library.organisation"), organisations_offered,
                                           labels=organisations_offered, key="lib_organisations", placeholder=any_label)
    chosen["kinds"] = ui.choice(first[1].multiselect, ui.t("library.kind"), kinds, labels=kinds, key="lib_kinds",
                                placeholder=any_label)
    chosen["programme_ids"] = ui.choice(first[2].multiselect, ui.t("library.programme"), programmes,
                                        labels=programmes, key="lib_programmes", placeholder=any_label)
    second = st.columns(3)
    chosen["themes"] = ui.choice(second[0].multiselect, ui.t("library.theme"), facets["themes"], key="lib_themes",
                                 placeholder=any_label)
    chosen["years"] = ui.choice(second[1].multiselect, ui.t("library.year"), facets["years"], key="lib_years",
                                labels={y: str(y) for y in facets["years"]}, placeholder=any_label)
    chosen["statuses"] = ui.choice(second[2].multiselect, ui.t("library.status"), statuses, labels=statuses,
                                   key="lib_statuses", placeholder=any_label)
    return chosen


def averages(entry: dict) -> None:
    figures = entry["averages"]
    if not figures.get("count"):
        st.caption(ui.t("library.no_rubric"))
        return
    lines = [ui.label_value(ui.t(f"data.col.{criterion}"), "—" if figures[criterion] is None
                            else format_number(figures[criterion], ui.lang(), digits=1))
             for criterion in RUBRIC]
    overall = figures["overall"]
    st.caption(ui.t("library.rubric_intro", count=figures["count"]))
    st.text("\n".join(lines))
    if overall is not None:
        st.markdown("**" + ui.plain(ui.t("library.overall", score=format_number(overall, ui.lang(), digits=1))) + "**")


def summary(entry: dict) -> None:
    shown = entry["summary"]
    if not shown:
        st.caption(ui.t("library.no_summary"))
        return
    for field in ("learned", "made", "recommendations"):
        if shown[field]:
            st.markdown("**" + ui.t(f"library.summary_{field}") + "**")
            st.text(shown[field])
    if shown["links"]:
        st.markdown("**" + ui.t("library.links") + "**")
        st.text("\n".join(shown["links"]))  # as text: a link is read, copied, never followed from here


def reports(entry: dict) -> None:
    if not entry["reports"]:
        st.caption(ui.t("library.no_report_yet"))
        return
    for report in entry["reports"]:
        st.markdown("**" + ui.plain(ui.t("library.report_heading", months=report["months"],
                                           status=status_label(report["status"]),
                                           date=format_day(report["reported_on"], ui.lang()))) + "**")
        if report["note"]:
            st.text(report["note"])


def entry_card(entry: dict) -> None:
    with st.container(border=True, key=f"lib_entry_{entry['key']}"):
        st.markdown("**" + ui.plain(entry["title"]) + "**")
        st.caption(" · ".join(ui.plain(part) for part in (
            organisation_label(entry), organisations.kind_label(entry["kind"], ui.lang()), programme_label(entry),
            ui.t("library.term", term=entry["term"]))))
        team = entry["team"] if entry["named"] else ui.t("library.anonymised_team")
        with st.container(horizontal=True, gap="small"):
            st.badge(ui.plain(status_label(entry["latest_status"]), badge=True),
                     icon=":material/flag:" if entry["latest_status"] else ":material/hourglass_empty:",
                     color="green" if entry["latest_status"] else "gray")
            st.caption(ui.plain(ui.label_value(ui.t("library.team"), team)))
        with st.expander(ui.t("library.challenge"), icon=":material/description:"):
            for label, value in (("library.problem", entry["problem"]), ("library.outcomes", entry["outcomes"]),
                                 ("library.themes", ", ".join(entry["themes"]))):
                if value:
                    st.markdown("**" + ui.t(label) + "**")
                    st.text(value)
        with st.expander(ui.t("library.summary"), icon=":material/summarize:"):
            summary(entry)
        with st.expander(ui.t("library.assessment"), icon=":material/grading:"):
            averages(entry)
        with st.expander(ui.t("library.outcomes_heading"), icon=":material/flag:"):
            reports(entry)


def main() -> None:
    st.title(ui.t("library.title"))
    st.caption(ui.t("library.intro"))
    items = library.entries(ui.db(), user)
    shown = library.filter_entries(items, **filters(items))
    total = len(items)
    st.caption(ui.t("library.count", count=len(shown), total=total))
    if not shown:
        st.info(ui.t("library.none_found" if total else "library.empty"), icon=":material/filter_alt_off:")
    limit = state.get("lib_limit", PAGE_SIZE)
    for entry in shown[:limit]:
        entry_card(entry)
    if len(shown) > limit:
        if st.button(ui.t("library.more", count=min(PAGE_SIZE, len(shown) - limit)), key="lib_more"):
            state["lib_limit"] = limit + PAGE_SIZE
            st.rerun()


main()
