"""Challenges for us: approved challenges ranked for the team, with why each one matches.

A challenge is shown as its department wrote it (a French challenge stays French); the labels
around it follow the reader's language. The challenges are those of the team's own term; they
can be added to the preferences while that term takes preferences.
"""
import streamlit as st

import ui
from matching import matches, teams, terms
from matching.errors import PortalError, ValidationFailed
from matching.models import CONTENT_LANGUAGES, MAX_PREFERENCES

PROFILE_PAGE = "views/student_profile.py"
PREFERENCES_PAGE = "views/student_preferences.py"
PAGE_SIZE = 10
PAGE = "sm"  # session-state prefix of this page
LANGUAGE_NAMES = {"en": "dept.content_language.en", "fr": "dept.content_language.fr",
                  "bilingual": "dept.content_language.bilingual"}

user = ui.user()
state = st.session_state


def department_label(item: dict) -> str:
    return f"{ui.acronym(item['acronym'])} — {ui.department_name(item)}"


def add_to_preferences(challenge_id: int, preferences: list[dict], version: int) -> None:
    """Append to the list as shown (``version``): a teammate's save in between is refused, not overwritten."""
    items = [{"challenge_id": p["challenge_id"], "reason": p["reason"]} for p in preferences]
    # Forget the preferences page's working copy, so it shows the saved list next time.
    state.pop("pf_rows", None)
    ui.act(lambda: teams.save_preferences(ui.db(), user, user.team_id, items + [{"challenge_id": challenge_id}],
                                          expected_version=version),
           page=PAGE, success=lambda _: ("student.matches.added", {"rank": len(items) + 1}), on_error=not_added)


def not_added(err: PortalError) -> None:
    """Said at the top like the confirmation: the card's button has no field to show it under."""
    if isinstance(err, ValidationFailed):
        key = "validation.too_many_preferences" if "preferences" in err.errors else next(iter(err.errors.values()))
        err = PortalError(key)
    ui.notice_error(PAGE)(err)  # e.g. term.requires_intake once preferences are closed


def filters(ranked: list[dict]) -> list[dict]:
    facets = matches.ranked_facets(ranked)
    departments = {d["id"]: department_label(d) for d in facets["departments"]}
    languages = {code: ui.t(LANGUAGE_NAMES[code]) for code in CONTENT_LANGUAGES}
    query = st.text_input(ui.t("student.matches.search"), key="sm_query",
                          placeholder=ui.t("student.matches.search_placeholder"))
    cols = st.columns(3)
    chosen_departments = ui.choice(cols[0].multiselect, ui.t("student.matches.department"), departments,
                                   labels=departments, key="sm_departments",
                                   placeholder=ui.t("student.matches.any"))
    chosen_themes = ui.choice(cols[1].multiselect, ui.t("student.matches.theme"), facets["themes"], key="sm_themes",
                              placeholder=ui.t("student.matches.any"))
    chosen_languages = ui.choice(cols[2].multiselect, ui.t("student.matches.language"), languages,
                                 labels=languages, key="sm_languages",
                                 placeholder=ui.t("student.matches.any"))
    return matches.filter_ranked(ranked, department_ids=chosen_departments, themes=chosen_themes,
                                 languages=chosen_languages, query=query)


def details(item: dict) -> None:
    """Everything about the challenge, as written; the headings are in the reader's language."""
    with st.expander(ui.t("student.matches.details")):
        for label, value in (("student.matches.problem", item["problem"]),
                             ("student.matches.outcomes", item["outcomes"]),
                             ("student.matches.themes", ", ".join(item["themes"]))):
            st.markdown("**" + ui.t(label) + "**")
            st.text(value)
        st.markdown("**" + ui.t("student.matches.facts") + "**")
        st.text("\n".join([
            ui.label_value(ui.organisation_heading(item.get("department_kind")), ui.department_name(item)),
            ui.t("student.matches.language_is", language=ui.t(LANGUAGE_NAMES.get(item["language"], "dept.content_language.en"))),
            ui.t("student.matches.capacity_is", count=item["capacity"])]))


def challenge_card(rank: int, item: dict, preferred: dict[int, int], preferences: list[dict],
                   can_add: bool, version: int) -> None:
    with st.container(border=True):
        st.markdown(f"**{rank}. {ui.plain(item['title'])}**")
        st.caption(ui.plain(ui.department_name(item)))
        ui.match_standing(item, "team")
        # Each side's own words ("their theme <-> your skill"); plain words for older items.
        ui.shared_terms(item.get("reason_pairs") or item["reasons"], label_key="student.matches.why",
                        empty_key="student.matches.no_shared_terms")
        details(item)
        if item["id"] in preferred:
            st.caption(ui.t("student.matches.in_preferences", rank=preferred[item["id"]]))
        elif can_add and st.button(ui.t("student.matches.add"), key=f"sm_add_{item['id']}",
                                     icon=":material/playlist_add:", disabled=len(preferences) >= MAX_PREFERENCES):
            add_to_preferences(item["id"], preferences, version)


def ranked_list(ranked: list[dict], can_add: bool, version: int) -> None:
    shown = filters(ranked)
    preferences = teams.get_preferences(ui.db(), user, user.team_id)
    preferred = {p["challenge_id"]: p["rank"] for p in preferences}
    st.caption(ui.t("student.matches.count", count=len(shown), shown=len(shown), total=len(ranked)))
    if len(preferences) >= MAX_PREFERENCES:
        st.caption(ui.t("student.matches.preferences_full", max=MAX_PREFERENCES))
    if not shown:
        st.info(ui.t("student.matches.no_results"), icon=":material/filter_alt_off:")
    limit = state.get("sm_limit", PAGE_SIZE)
    rank_of = {item["id"]: rank for rank, item in enumerate(ranked, start=1)}
    for item in shown[:limit]:
        challenge_card(rank_of[item["id"]], item, preferred, preferences, can_add, version)
    if len(shown) > limit:
        if st.button(ui.t("student.matches.more", count=min(PAGE_SIZE, len(shown) - limit)), key="sm_more"):
            state["sm_limit"] = limit + PAGE_SIZE
            st.rerun()


def main() -> None:
    st.title(ui.t("student.matches.title"))
    team = teams.get_team(ui.db(), user, user.team_id)
    term = terms.term_of(ui.db(), team.term_id)
    can_add = teams.preferences_open(ui.db(), team.id)
    ui.term_caption(term)
    st.caption(ui.t("student.matches.intro"))
    if term is not None and not can_add:
        st.caption(ui.t("student.matches.prefs_closed", state=ui.t("term_state." + term.state)))
    if ui.show_notice(PAGE, icon=":material/check:", error_icon=":material/error:") == "success":
        st.page_link(PREFERENCES_PAGE, label=ui.t("student.matches.to_preferences"),
                     icon=":material/format_list_numbered:")
    try:
        ranked_challenges = matches.ranked_challenges_for_team(ui.db(), user, user.team_id)
    except PortalError as err:  # RankingError too: e.g. ranking.empty_profile
        st.warning(ui.message(err.key, err.params), icon=":material/info:")
        st.page_link(PROFILE_PAGE, label=ui.t("student.matches.to_profile"), icon=":material/badge:")
    else:
        ranked_list(ranked_challenges, can_add, team.preferences_version)


main()
