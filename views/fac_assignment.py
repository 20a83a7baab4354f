"""Assignment: run the optimiser, see every team's outcome, adjust with reasons, publish."""
import streamlit as st

import ui
from matching import i18n, lifecycle, matches, pairings
from matching.errors import PortalError, StaleRecord

user = ui.user()
db = ui.db()
PAGE, PUBLISHED, WARNING = "assign", "assign_publish", "assign_capacity_warning"  # session-state keys
KINDS = ("pair", "unpair", "lock", "ban")
#: The run's warnings that name a manual pair it replaced.
REPLACED = ("assign.warning.manual_replaced", "assign.warning.manual_unmatched")


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
        st.caption(ui.label_value(ui.t("assign.summary.worst_off"), f"{ui.plain(summary['worst_off_team'])} ({rank})"))
    if not summary.get("n_with_preferences"):
        st.caption(ui.t("assign.cli.no_preferences"))


def challenge_label(r: dict) -> str:
    return f"[{ui.acronym(r['acronym'])}] {r['challenge_title']}" if r["challenge_id"] else "—"


def outcome_cells(r: dict, standings: dict) -> dict[str, str]:
    """One team's row of the outcome table, by column id (the headers are translated);
    ``standings``: :func:`matching.matches.pair_standings` of the plan's pairs."""
    pair = (r["team_id"], r["challenge_id"])
    return {"team": r["team_name"], "challenge": challenge_label(r),
            "rank": str(r["preference_rank"]) if r["preference_rank"] else "—",
            "match": ui.match_line(standings[pair], "team") if pair in standings else "—",
            "locked": ui.t("assign.page.locked_yes") if r["locked"] else "",
            "manual": ui.t("assign.manual.marker") if r["manual"] else "",
            "reason": ui.t(r["reason"])}


def manual_warning(plan) -> None:
    """Pairs placed by hand and not locked, named before the run that may move them."""
    manual = [r for r in plan.rows if r["manual"]]
    if manual:
        names = "; ".join(f"{ui.plain(r['team_name'])} → {ui.plain(r['challenge_title'])}" for r in manual)
        st.warning(ui.t("assign.manual.count", count=len(manual), pairs=names), icon=":material/push_pin:")


def outcome_table(plan) -> None:
    """Every team's outcome; wide columns for titles and reasons, and a selected row in full."""
    # Each pair as the team sees it (label, rank among its challenges, share of its best score).
    standings = matches.pair_standings(db, user, plan.term_id, [(r["team_id"], r["challenge_id"]) for r in plan.matched])
    ui.wide_table([outcome_cells(r, standings) for r in plan.rows], {
        "team": (ui.t("data.col.team"), "medium"), "challenge": (ui.t("data.col.challenge"), "large"),
        "locked": (ui.t("assign.page.locked"), "small"), "manual": (ui.t("assign.manual.column"), "medium"),
        "rank": (ui.t("data.col.preference_rank"), "small"), "match": (ui.t("matrix.label"), "large"),
        "reason": (ui.t("data.col.reason"), "large")}, key=f"assign_table_{plan.term_id}")
    if plan.unmatched:
        st.subheader(ui.t("assign.page.unmatched", count=len(plan.unmatched)), anchor=False)
        for r in plan.unmatched:
            st.markdown("- " + ui.label_value(f"**{ui.plain(r['team_name'])}**", ui.t(r["reason"])))


def run_button(term, seen: int) -> None:
    if st.button(ui.t("assign.page.run"), type="primary", icon=":material/play_arrow:", key="assign_run"):
        ui.act(lambda: run(term, seen), page=PAGE, success=ran, on_error=run_refused)


def ran(result) -> list[ui.Message]:
    """The run's confirmation; the manual pairs it replaced are named in the warnings below it."""
    replaced = [w for w in result.warnings if w["key"] in REPLACED]
    said = [("assign.page.ran", {})]
    if replaced:
        said.append(("assign.manual.replaced_count", {"count": len(replaced)}))
    return said


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
    current = {r["team_id"]: r["challenge_id"] for r in plan.rows}
    challenges = {c["id"]: f"[{ui.acronym(c['acronym'])}] {c['title']}" for c in pairings.term_challenges(db, term.id)}
    errors = ui.kept_errors(f"assign_errors_{kind}")
    with st.container(border=True):
        st.caption(ui.t(f"assign.page.{kind}_help"))
        team_id = ui.choice(st.selectbox, ui.t("data.col.team"), teams, labels=teams, key=f"assign_{kind}_team")
        ui.field_error(errors, "team_id")
        challenge_id = None
        if kind != "unpair":
            # Pair and lock start on the team's current challenge (never silently on the first of
            # the list: locking as shown keeps the team where it is); a ban, which takes the team
            # off, starts empty. Keyed by the team and its current challenge: choosing another
            # team, or a run that moved this one, starts again on where the team is now.
            options = list(challenges)
            planned = current.get(team_id) if kind != "ban" else None
            challenge_id = ui.choice(st.selectbox, ui.t("data.col.challenge"), options, labels=challenges,
                                     index=options.index(planned) if planned in challenges else None,
                                     placeholder=ui.t("assign.page.choose_challenge"),
                                     key=f"assign_{kind}_challenge_{team_id}_{current.get(team_id) or 0}")
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
           errors_key=f"assign_errors_{kind}", on_error=capacity_or_refused, success=changed,
           forget=[f"assign_{kind}_reason", f"assign_{kind}_confirm"] + [f"assign_errors_{k}" for k in KINDS])


def apply(term, kind, team_id, challenge_id, reason, confirm, seen) -> pairings.Change:
    """The adjustment, on the plan that was on screen: what it changed."""
    if kind in ("pair", "lock"):
        return getattr(pairings, kind)(db, user, term.id, team_id, challenge_id, reason,
                                       confirm_over_capacity=confirm, expected_plan_version=seen)
    if kind == "ban":
        return pairings.ban(db, user, term.id, team_id, challenge_id, reason, expected_plan_version=seen)
    return pairings.unpair(db, user, term.id, team_id, reason, expected_plan_version=seen)


def changed(change: pairings.Change) -> list[ui.Message]:
    """What an adjustment changed: the team, the challenge it left, the one it has now (kept as
    message keys, so a language switch before it is shown says it in the new language); then its
    warnings (e.g. over capacity, confirmed)."""
    nothing = ("assign.done.no_challenge", {})
    params = {"team": change.team, "challenge": change.challenge_title or "",
              "from_title": change.from_title or nothing, "to_title": change.to_title or nothing}
    same = "_same" if not change.moved and change.kind in ("pair", "lock", "ban") else ""
    return [(f"assign.done.{change.kind}{same}", params)] + [(w["key"], w["params"]) for w in change.warnings]


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
                       page=PAGE, success=changed, on_error=rule_refused)


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


def empty_state(term, plan, planning: bool) -> bool:
    """Before the first run, with nothing published: one sentence instead of empty tables."""
    if plan.matched or plan.last_run_at:
        return False
    if not plan.rows:
        key = "assign.empty.no_teams"
    else:
        key = "assign.empty.run_first" if planning else "assign.empty.nothing"
    st.info(ui.t(key, term=ui.plain(term.name), count=len(plan.rows)), icon=":material/join_inner:")
    return True


def result_section(term, plan, planning: bool) -> None:
    if empty_state(term, plan, planning):
        return
    source = "proposal" if pairings.has_proposal(db, term.id) else "published"
    st.header(ui.t("assign.page.result_" + source), anchor=False)
    if not plan.matched and source == "published":
        st.caption(ui.t("assign.page.nothing_yet"))
    summary_metrics(plan.summary)
    for warning in plan.warnings:
        icon = ":material/push_pin:" if warning["key"] in REPLACED else ":material/warning:"
        st.warning(ui.message(warning["key"], warning["params"]), icon=icon)
    manual_warning(plan)
    outcome_table(plan)


def adjust_section(term, plan, seen: int) -> None:
    st.header(ui.t("assign.page.adjust_title"), anchor=False)
    if capacity_warning := st.session_state.get(WARNING):
        st.warning(ui.message(*capacity_warning), icon=":material/warning:")
    # A keyed control, not st.tabs: tabs fall back to the first one on a rerun.
    labels = {k: ui.t(f"assign.page.tab_{k}") for k in KINDS + ("rules",)}
    choice = ui.choice(st.radio, ui.t("assign.page.adjust_title"), labels, labels=labels, horizontal=True,
                       key="assign_adjust_kind", label_visibility="collapsed")
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
    result_section(term, plan, planning)
    if planning:
        adjust_section(term, plan, seen)
    publish_section(term, seen)


main()
