"""Team profile: who the team is and what it is good at, which is what the ranking reads.

Typed values live in keyed widgets, so errors and language switches never lose them. Member rows
are slots with their own keys; blank slots are ignored when saving.
"""
import streamlit as st

import ui
from matching import lifecycle, teams, terms
from matching.models import CONTENT_LANGUAGES, MAX_MEMBERS, Team

MATCHES_PAGE = "views/student_matches.py"
PAGE = "tp"  # session-state prefix of this page
FIELDS = ("name", "program", "year", "language", "skills", "interests", "past_work")
KEYS = {field: f"tp_{field}" for field in FIELDS}
LABELS = {
    "name": "student.profile.name", "program": "student.profile.program", "year": "student.profile.year",
    "language": "student.profile.language", "skills": "student.profile.skills",
    "interests": "student.profile.interests", "past_work": "student.profile.past_work",
    "members": "student.profile.members",
}
MEMBER_LABELS = {"name": "student.profile.member_name", "email": "student.profile.member_email",
                 "program_year": "student.profile.member_program_year"}
LANGUAGE_NAMES = {"en": "dept.content_language.en", "fr": "dept.content_language.fr",
                  "bilingual": "dept.content_language.bilingual"}

user = ui.user()
state = st.session_state


def member_key(uid: int, field: str) -> str:
    return f"tp_m{uid}_{field}"


def new_slot() -> int:
    state["tp_next_uid"] = state.get("tp_next_uid", 0) + 1
    return state["tp_next_uid"]


def load_into_form(team: Team | dict) -> None:
    """Put a saved profile into the widgets and remember the version it came from."""
    values = team if isinstance(team, dict) else team.__dict__
    for field in FIELDS:
        state[KEYS[field]] = values.get(field)
    state[KEYS["skills"]] = list(values.get("skills") or [])
    state[KEYS["interests"]] = list(values.get("interests") or [])
    state[KEYS["program"]] = values.get("program") or ""
    state[KEYS["past_work"]] = values.get("past_work") or ""
    state[KEYS["language"]] = values.get("language") or "en"
    slots = []
    for member in values.get("members") or []:
        member = member if isinstance(member, dict) else member.__dict__
        uid = new_slot()
        for field in MEMBER_LABELS:
            state[member_key(uid, field)] = member.get(field) or ""
        slots.append(uid)
    state["tp_slots"] = slots or [new_slot()]
    state["tp_version"] = values["version"]
    state["tp_errors"] = {}
    state.pop("tp_stale", None)


def form_data() -> tuple[dict, list[int]]:
    """The typed profile, and for each member kept the slot it was typed in."""
    rows = [{field: state.get(member_key(uid, field), "") for field in MEMBER_LABELS} for uid in state["tp_slots"]]
    members, kept = teams.compact_member_rows(rows)
    data = {field: state.get(KEYS[field]) for field in FIELDS}
    data["members"] = members
    return data, [state["tp_slots"][i] for i in kept]


def add_member() -> None:
    if len(state["tp_slots"]) < MAX_MEMBERS:
        state["tp_slots"] = state["tp_slots"] + [new_slot()]


def remove_member(uid: int) -> None:
    state["tp_slots"] = [slot for slot in state["tp_slots"] if slot != uid] or [new_slot()]


def keep_mine_on_latest() -> None:
    state["tp_version"] = state.pop("tp_stale")["version"]


def take_theirs() -> None:
    load_into_form(state["tp_stale"])


def slot_errors(errors: dict[str, str], slots: list[int]) -> dict[str, str]:
    """``members.<i>.<field>`` (position among kept members) -> ``members.<slot>.<field>``."""
    shown = {}
    for field, key in errors.items():
        parts = field.split(".")
        if len(parts) == 3 and parts[0] == "members" and parts[1].isdigit():
            field = f"members.{slots[int(parts[1])]}.{parts[2]}"
        shown[field] = key
    return shown


def save() -> None:
    data, slots = form_data()
    ui.act(lambda: teams.save_team(ui.db(), user, user.team_id, data, expected_version=state["tp_version"]),
           page=PAGE, errors_key="tp_errors", map_errors=lambda errors: slot_errors(errors, slots),
           stale_key="tp_stale", on_error=ui.notice_error(PAGE), success=saved)


def saved(team: Team) -> ui.Message:
    state["tp_version"] = team.version  # the next save is based on this one
    return "student.profile.saved", {}


# --- Rendering --------------------------------------------------------------------------------

def completeness_meter(team: Team, editable: bool) -> None:
    share, missing = teams.completeness(team)
    st.progress(share, text=ui.t("student.profile.complete", percent=round(share * 100)))
    if missing and editable:
        st.caption(ui.t("student.profile.missing"))
        for item in missing:
            st.markdown("- " + ui.t(f"profile.missing.{item}"))
    elif not missing:
        st.success(ui.t("student.profile.all_complete"), icon=":material/check:")
        if st.button(ui.t("student.profile.see_matches"), icon=":material/travel_explore:", key="tp_to_matches"):
            st.switch_page(MATCHES_PAGE)


def member_rows(errors: dict, editable: bool) -> None:
    st.subheader(ui.t(LABELS["members"]), anchor=False)
    st.caption(ui.t("student.profile.members_help", max=MAX_MEMBERS))
    ui.field_error(errors, "members")
    for position, uid in enumerate(state["tp_slots"], start=1):
        with st.container(border=True):
            st.markdown("**" + ui.t("student.profile.member_n", n=position) + "**")
            cols = st.columns([3, 3, 2])
            for col, field in zip(cols, MEMBER_LABELS):
                with col:
                    st.text_input(ui.t(MEMBER_LABELS[field]), key=member_key(uid, field), max_chars=200,
                                  disabled=not editable)
                    ui.field_error(errors, f"members.{uid}.{field}")
            if editable:
                st.button(ui.t("student.profile.remove_member", n=position), key=f"tp_remove_{uid}",
                          icon=":material/person_remove:", on_click=remove_member, args=(uid,))
    if editable:
        st.button(ui.t("student.profile.add_member"), key="tp_add_member", icon=":material/person_add:",
                  on_click=add_member, disabled=len(state["tp_slots"]) >= MAX_MEMBERS)


def stale_comparison() -> None:
    theirs = state.get("tp_stale")
    if not theirs:
        return
    mine, _ = form_data()
    with st.container(border=True):
        st.warning(ui.t("error.stale_record"), icon=":material/sync_problem:")
        left, right = st.columns(2)
        left.markdown("**" + ui.t("dept.form.theirs") + "**")
        right.markdown("**" + ui.t("dept.form.yours") + "**")
        for field in FIELDS + ("members",):
            if _shown(theirs.get(field)) != _shown(mine.get(field)):
                for col, values in ((left, theirs), (right, mine)):
                    col.caption(ui.t(LABELS[field]))
                    col.text(_shown(values.get(field)) or "—")
        keep, take = st.columns(2)
        keep.button(ui.t("dept.form.keep_mine"), on_click=keep_mine_on_latest, key="tp_keep_mine", type="primary")
        take.button(ui.t("dept.form.take_theirs"), on_click=take_theirs, key="tp_take_theirs")


def _shown(value) -> str:
    if isinstance(value, (list, tuple)):
        return "\n".join(_member_line(v) if not isinstance(v, str) else v for v in value)
    return "" if value is None else str(value)


def _member_line(member) -> str:
    member = member if isinstance(member, dict) else member.__dict__
    return " · ".join(str(member.get(f) or "") for f in MEMBER_LABELS if member.get(f))


def profile_form(editable: bool) -> None:
    """The profile's fields; all disabled (and no save) when the team's term is closed."""
    errors = state.get("tp_errors") or {}
    if errors:
        st.error(ui.t("error.validation_summary", count=len(errors)), icon=":material/error:")
    locked = not editable
    st.text_input(ui.t(LABELS["name"]), key=KEYS["name"], max_chars=80, disabled=locked)
    ui.field_error(errors, "name")
    left, middle, right = st.columns([3, 1, 2])
    with left:
        st.text_input(ui.t(LABELS["program"]), key=KEYS["program"], max_chars=200, disabled=locked)
        ui.field_error(errors, "program")
    with middle:
        st.number_input(ui.t(LABELS["year"]), min_value=1, max_value=6, step=1, key=KEYS["year"],
                        placeholder=ui.t("student.profile.year_placeholder"), disabled=locked)
        ui.field_error(errors, "year")
    with right:
        names = {code: ui.t(LANGUAGE_NAMES[code]) for code in CONTENT_LANGUAGES}
        ui.choice(st.selectbox, ui.t(LABELS["language"]), CONTENT_LANGUAGES, key=KEYS["language"], labels=names,
                  disabled=locked)
        ui.field_error(errors, "language")
    member_rows(errors, editable)
    st.subheader(ui.t("student.profile.strengths"), anchor=False)
    st.caption(ui.t("student.profile.strengths_help"))
    for field in ("skills", "interests"):
        chosen = list(state.get(KEYS[field]) or [])
        options = teams.keyword_vocabulary(ui.db(), field)
        options += [c for c in chosen if c.casefold() not in {o.casefold() for o in options}]
        ui.choice(st.multiselect, ui.t(LABELS[field]), options, key=KEYS[field], accept_new_options=True,
                  placeholder=ui.t("student.profile.keywords_placeholder"),
                  help=ui.t("student.profile.keywords_help"), disabled=locked)
        ui.field_error(errors, field)
    st.text_area(ui.t(LABELS["past_work"]), key=KEYS["past_work"], height=150,
                 help=ui.t("student.profile.past_work_help"), disabled=locked)
    ui.field_error(errors, "past_work")
    if locked:
        return
    stale_comparison()
    if st.button(ui.t("student.profile.save"), icon=":material/save:", type="primary", key="tp_save"):
        save()


def main() -> None:
    saved_team = teams.get_team(ui.db(), user, user.team_id)
    term = terms.term_of(ui.db(), saved_team.term_id)
    editable = lifecycle.team_profile_editable(term.state if term else None)
    # A read-only profile always shows what is saved.
    if not editable or "tp_version" not in state or KEYS["name"] not in state:
        load_into_form(saved_team)
    st.title(ui.t("student.profile.title"))
    ui.term_caption(term)
    if editable:
        st.caption(ui.t("student.profile.intro"))
    else:  # the domain refuses a save too, with the same sentence
        st.info(ui.message("term.closed_read_only", {"term": term.name}), icon=":material/lock:")
    ui.show_notice(PAGE, icon=None)
    completeness_meter(saved_team, editable)
    profile_form(editable)


main()
