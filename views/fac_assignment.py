"""Assignment: run the optimiser, see every team's outcome, adjust with reasons, publish."""
import pandas as pd
import streamlit as st

import ui
from matching import i18n, lifecycle, pairings
from matching.errors import PortalError, StaleRecord

user = ui.user()
db = ui.db()
PAGE, PUBLISHED, WARNING = "assign", "assign_publish", "assign_capacity_warning"  # session-state keys
KINDS = ("pair", "unpair", "lock", "ban")


def on_screen(key: str, current: int) -> int:
    """The plan version the person saw when they clicked (the one drawn on the previous run);
    the current one is remembered for the next click."""
    seen = st.session_state.get(key, current)
    st.session_state[key] = current
    return seen


def stale_plan(err: PortalError) -> bool:
    """Someone changed the plan since this page drew it: say so at the top and draw the current one."""
    if not isinstance(err, StaleRecord):
        return False
    ui.notify(PAGE, ("facp.assign.stale", {}), kind="error")
    st.rerun()
    return True


def percent(value: float) -> str:
    return i18n.format_percent(value, ui.lang())


def summary_metrics(summary: dict) -> None:
    cols = st.columns(5)
    cols[0].metric(ui.t("assign.summary.matched"), f"{summary['n_matched']} / {summary['n_teams']}")
    cols[1].metric(ui.t("assign.summary.first_choice_share"), percent(summary["first_choice_share"]))
    cols[2].metric(ui.t("assign.summary.top3_share"), percent(summary["top3_share"]))
    cols[3].metric(ui.t("assign.summary.any_choice_share"), percent(summary["any_choice_share"]))
    cols[4].metric(ui.t("assign.summary.mean_similarity"),
                   i18n.format_number(summary["mean_similarity"], ui.lang(), digits=3))
    if summary.get("worst_off_team"):
        rank = (ui.t("assign.rank_n", rank=summary["worst_rank"]) if summary["worst_rank"]
                else ui.t("assign.rank_none"))
        st.caption(f"{ui.t('assign.summary.worst_off')}: {ui.plain(summary['worst_off_team'])} ({rank})")
    if not summary.get("n_with_preferences"):
        st.caption(ui.t("assign.cli.no_preferences"))


def outcome_table(plan) -> None:
    rows = [{ui.t("data.col.team"): r["team_name"],
             ui.t("data.col.challenge"): f"[{r['acronym']}] {r['challenge_title']}" if r["challenge_id"] else "—",
             ui.t("data.col.preference_rank"): str(r["preference_rank"]) if r["preference_rank"] else "—",
             ui.t("data.col.score"): (i18n.format_number(r["score"], ui.lang(), digits=3)
                                      if r["score"] is not None else "—"),
             ui.t("assign.page.locked"): ui.t("assign.page.locked_yes") if r["locked"] else "",
             ui.t("data.col.reason"): ui.t(r["reason"])} for r in plan.rows]
    st.dataframe(pd.DataFrame(rows), width="stretch", hide_index=True)
    if plan.unmatched:
        st.subheader(ui.t("assign.page.unmatched", count=len(plan.unmatched)), anchor=False)
        for r in plan.unmatched:
            st.markdown(f"- **{ui.plain(r['team_name'])}**: {ui.t(r['reason'])}")


def run_button(term, seen: int) -> None:
    if st.button(ui.t("assign.page.run"), type="primary", icon=":material/play_arrow:", key="assign_run"):
        ui.act(lambda: run(term, seen), page=PAGE, success=lambda _: ("assign.page.ran", {}), on_error=run_refused)


def run(term, seen: int):
    with st.spinner(ui.t("assign.page.running")):
        return pairings.run_assignment(db, user, term.id, expected_plan_version=seen)


def run_refused(err: PortalError) -> None:
    """Locks that cannot all be honoured are listed one by one; other refusals are one sentence."""
    if stale_plan(err):
        return
    if not isinstance(err, pairings.LockProblems):
        ui.show_error(err)
        return
    st.error(ui.message(err.key, err.params), icon=":material/lock:")
    for key, params in err.problems:
        st.markdown(f"- {ui.message(key, params)}")


def adjustment_form(term, plan, kind: str, seen: int) -> None:
    """One of pair / unpair / lock / ban: team, challenge, required reason, capacity confirmation."""
    teams = {r["team_id"]: r["team_name"] for r in plan.rows}
    challenges = {c["id"]: f"[{c['acronym']}] {c['title']}" for c in pairings.term_challenges(db, term.id)}
    errors = ui.kept_errors(f"assign_errors_{kind}")
    with st.container(border=True):
        st.caption(ui.t(f"assign.page.{kind}_help"))
        team_id = st.selectbox(ui.t("data.col.team"), list(teams), format_func=teams.get, key=f"assign_{kind}_team")
        ui.field_error(errors, "team_id")
        challenge_id = None
        if kind != "unpair":
            challenge_id = st.selectbox(ui.t("data.col.challenge"), list(challenges), format_func=challenges.get,
                                        key=f"assign_{kind}_challenge")
            ui.field_error(errors, "challenge_id")
        reason = st.text_input(ui.t("assign.page.reason"), key=f"assign_{kind}_reason",
                               help=ui.t("assign.page.reason_help"))
        ui.field_error(errors, "reason")
        confirm = False
        if kind in ("pair", "lock"):
            confirm = st.checkbox(ui.t("assign.page.confirm_over_capacity"), key=f"assign_{kind}_confirm")
        submitted = st.button(ui.t(f"assign.page.{kind}_button"), key=f"assign_{kind}_go")
    if submitted:
        adjust(term, kind, team_id, challenge_id, reason, confirm, seen)


def adjust(term, kind, team_id, challenge_id, reason, confirm, seen) -> None:
    st.session_state.pop(WARNING, None)
    ui.act(lambda: apply(term, kind, team_id, challenge_id, reason, confirm, seen), page=PAGE,
           errors_key=f"assign_errors_{kind}", on_error=capacity_or_refused,
           success=lambda warnings: [(f"assign.page.{kind}_done", {})] + [(w["key"], w["params"]) for w in warnings],
           forget=[f"assign_{kind}_reason", f"assign_{kind}_confirm"] + [f"assign_errors_{k}" for k in KINDS])


def apply(term, kind, team_id, challenge_id, reason, confirm, seen) -> list[dict]:
    """The adjustment, on the plan that was on screen; its warnings (e.g. over capacity,
    confirmed) go with the confirmation."""
    if kind == "pair":
        return pairings.pair(db, user, term.id, team_id, challenge_id, reason, confirm_over_capacity=confirm,
                             expected_plan_version=seen)
    if kind == "lock":
        return pairings.lock(db, user, term.id, team_id, challenge_id, reason, confirm_over_capacity=confirm,
                             expected_plan_version=seen)
    if kind == "ban":
        return pairings.ban(db, user, term.id, team_id, challenge_id, reason, expected_plan_version=seen)
    pairings.unpair(db, user, term.id, team_id, reason, expected_plan_version=seen)
    return []


def capacity_or_refused(err: PortalError) -> None:
    """Over capacity is not applied but asked about: shown above the tabs until the next try."""
    if stale_plan(err):
        return
    if not isinstance(err, pairings.CapacityWarning):
        ui.show_error(err)
        return
    st.session_state[WARNING] = (err.key, err.params)
    st.rerun()


def rules_list(term, seen: int) -> None:
    rules = pairings.rules(db, user, term.id)
    if not rules:
        st.caption(ui.t("assign.page.no_rules"))
        return
    for rule in rules:
        with st.container(border=True):
            word = ui.t("assign.page.rule_" + rule["kind"])
            st.markdown(f"**{word}** · {ui.plain(rule['team_name'])} — {ui.plain(rule['challenge_title'])}")
            st.caption(ui.t("assign.page.rule_reason", reason=ui.plain(rule["reason"])))
            reason = st.text_input(ui.t("assign.page.remove_reason"), key=f"assign_rule_reason_{rule['id']}")
            if st.button(ui.t("assign.page.remove_rule"), key=f"assign_rule_remove_{rule['id']}"):
                ui.act(lambda: pairings.remove_rule(db, user, rule["id"], reason, expected_plan_version=seen),
                       page=PAGE, success=lambda _: ("assign.page.rule_removed", {}), on_error=rule_refused)


def rule_refused(err: PortalError) -> None:
    if not stale_plan(err):
        ui.in_place("reason")(err)


def change_lines(report: dict) -> None:
    shown = False
    for kind in ("added", "moved", "removed"):
        for item in report.get(kind, []):
            shown = True
            st.markdown("- " + ui.message(f"assign.change.{kind}", {
                "team": item["team_name"], "from_title": item["from_title"], "to_title": item["to_title"]}))
    if not shown:
        st.caption(ui.t("assign.change.none"))


def publish_section(term, seen: int) -> None:
    st.header(ui.t("assign.page.publish_title"), anchor=False)
    last = pairings.last_publication(db, term.id)
    if last:
        st.caption(ui.t("assign.page.last_published", date=i18n.format_date(last["published_at"], ui.lang())))
    if term.state not in lifecycle.TERM_STATES_PUBLISHING:
        if not lifecycle.term_is_read_only(term.state):
            st.info(ui.t("term.requires_matching"), icon=":material/info:")
        return
    if not pairings.has_proposal(db, term.id):
        st.caption(ui.t("assign.nothing_to_publish"))
        return
    pending = pairings.pending_changes(db, user, term.id)
    st.write(ui.t("assign.page.pending", added=len(pending["added"]), moved=len(pending["moved"]),
                  removed=len(pending["removed"]), unchanged=pending["unchanged"]))
    with st.expander(ui.t("assign.page.pending_details"), expanded=bool(last)):
        change_lines(pending)
    confirm = st.checkbox(ui.t("assign.page.publish_confirm"), key="assign_publish_confirm")
    if st.button(ui.t("assign.page.publish_button"), type="primary", disabled=not confirm,
                 icon=":material/publish:", key="assign_publish"):
        ui.act(lambda: pairings.publish(db, user, term.id, expected_plan_version=seen), page=PUBLISHED,
               success=published, on_error=publish_refused, forget=["assign_publish_confirm"])


def publish_refused(err: PortalError) -> None:
    if not stale_plan(err):
        ui.show_error(err)


def published(report: dict) -> ui.Message:
    st.session_state["assign_publish_report"] = report  # what changed, listed under the confirmation
    return "assign.page.published", {}


def notices() -> None:
    ui.show_notice(PAGE, error_icon=":material/sync_problem:")
    if ui.show_notice(PUBLISHED, icon=":material/publish:"):
        change_lines(st.session_state.pop("assign_publish_report"))


def result_section(term, plan) -> None:
    source = "proposal" if pairings.has_proposal(db, term.id) else "published"
    st.header(ui.t("assign.page.result_" + source), anchor=False)
    if not any(r["challenge_id"] for r in plan.rows) and source == "published":
        st.caption(ui.t("assign.page.nothing_yet"))
    summary_metrics(plan.summary)
    for warning in plan.warnings:
        st.warning(ui.message(warning["key"], warning["params"]), icon=":material/warning:")
    outcome_table(plan)


def adjust_section(term, plan, seen: int) -> None:
    st.header(ui.t("assign.page.adjust_title"), anchor=False)
    if capacity_warning := st.session_state.get(WARNING):
        st.warning(ui.message(*capacity_warning), icon=":material/warning:")
    # A keyed control, not st.tabs: tabs fall back to the first one on a rerun.
    # Options are the labels themselves (one key per language): a format_func whose labels
    # change with the language confuses the widget's stored value.
    labels = {ui.t(f"assign.page.tab_{k}"): k for k in KINDS + ("rules",)}
    choice = labels[st.radio(ui.t("assign.page.adjust_title"), list(labels), horizontal=True,
                             key=f"assign_adjust_kind_{ui.lang()}", label_visibility="collapsed")]
    if choice == "rules":
        rules_list(term, seen)
    else:
        adjustment_form(term, plan, choice, seen)


def main() -> None:
    st.title(ui.t("assign.page.title"))
    term = ui.pick_term("assign_term", lifecycle.TERM_STATES_PLANNING_PAIRINGS)
    notices()
    plan = pairings.plan(db, user, term.id)
    # Every action carries the plan version this run draws; a newer plan refuses it (StaleRecord).
    seen = on_screen(f"assign_plan_seen_{term.id}", plan.plan_version)
    planning = lifecycle.term_plans_pairings(term.state)
    st.write(ui.t("assign.page.intro"))
    if lifecycle.term_is_read_only(term.state):
        st.caption(ui.t("term.closed_read_only", term=ui.plain(term.name)))
    elif planning:
        run_button(term, seen)
    else:
        st.info(ui.t("assign.not_in_planning_state"), icon=":material/info:")
    result_section(term, plan)
    if planning:
        adjust_section(term, plan, seen)
    publish_section(term, seen)


main()
