"""Outcomes: what each of our completed challenges led to. At 3 and 6 months after its term ends,
the organisation reports it (adopted, piloted, informed a decision, not pursued, with a short note);
the team's final summary and the rubric averages are here to read."""
import pandas as pd
import streamlit as st

import ui
from matching import i18n, lifecycle, outcomes
from matching.errors import PortalError
from matching.models import RUBRIC

user = ui.user()
db = ui.db()
PAGE = "dept_outcomes"
STATUS_ICONS = {"upcoming": ":material/schedule:", "due": ":material/assignment_late:",
                "overdue": ":material/warning:", "reported": ":material/task_alt:"}
STATUS_COLOURS = {"upcoming": "gray", "due": "blue", "overdue": "orange", "reported": "green"}


def key(pairing: dict, checkpoint: dict, name: str) -> str:
    return f"{PAGE}_{pairing['pairing_id']}_{checkpoint['checkpoint']}_{name}"


def report_form(pairing: dict, checkpoint: dict) -> None:
    report = checkpoint["report"] or {}
    errors_key = key(pairing, checkpoint, "errors")
    errors = ui.kept_errors(errors_key)
    st.session_state.setdefault(key(pairing, checkpoint, "note"), report.get("note", ""))
    labels = {code: ui.t(f"outcome.status.{code}") for code in lifecycle.OUTCOME_STATUSES}
    with st.container(border=True):
        status = ui.choice(st.radio, ui.t("outcomes.report.status"), lifecycle.OUTCOME_STATUSES,
                           key=key(pairing, checkpoint, "status"), labels=labels,
                           index=lifecycle.OUTCOME_STATUSES.index(report["status"]) if report else None)
        ui.field_error(errors, "status")
        note = st.text_area(ui.t("outcomes.report.note"), key=key(pairing, checkpoint, "note"),
                            help=ui.t("outcomes.report.note_help"), max_chars=outcomes.NOTE_MAX)
        ui.field_error(errors, "note")
        save = st.button(ui.t("outcomes.report.update" if report else "outcomes.report.save"), type="primary",
                         key=key(pairing, checkpoint, "save"), icon=":material/send:")
    if save:
        version = report.get("version", 0)
        ui.act(lambda: outcomes.save_report(db, user, pairing["pairing_id"], checkpoint["checkpoint"], status, note,
                                            expected_version=version),
               page=PAGE, errors_key=errors_key,
               success=lambda _: ("outcomes.report.saved", {"title": pairing["challenge_title"],
                                                             "months": checkpoint["months"]}))


def checkpoint_block(pairing: dict, checkpoint: dict) -> None:
    status = checkpoint["status"]
    st.markdown(f"**{ui.t('outcome.checkpoint', months=checkpoint['months'])}**")
    st.badge(ui.t(f"outcome.report_status.{status}"), icon=STATUS_ICONS[status], color=STATUS_COLOURS[status])
    if checkpoint["due_on"]:
        st.caption(ui.t("outcomes.report.due_on", date=i18n.format_day(checkpoint["due_on"], ui.lang())))
    report = checkpoint["report"]
    if report:
        st.write(ui.label_value(ui.t("outcomes.report.status"), ui.t(f"outcome.status.{report['status']}")))
        st.text(report["note"])
        st.caption(ui.t("outcomes.report.by", name=ui.plain(report["reported_by_name"] or ""),
                        date=i18n.format_day(report["updated_at"], ui.lang())))
    if checkpoint["open"]:
        with st.expander(ui.t("outcomes.report.correct" if report else "outcomes.report.give"),
                         expanded=report is None, icon=":material/edit_note:"):
            report_form(pairing, checkpoint)


def averages_table(pairing: dict) -> None:
    averages = pairing["averages"]
    if not averages["count"]:
        st.caption(ui.t("outcomes.report.no_rubric"))
        return
    rows = [{ui.t("outcomes.report.criterion"): ui.t("data.col." + c),
             ui.t("outcomes.report.average"): averages[c]} for c in RUBRIC]
    rows.append({ui.t("outcomes.report.criterion"): ui.t("data.col.rubric_overall"),
                 ui.t("outcomes.report.average"): averages["overall"]})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(ui.t("outcomes.report.rubrics_counted", count=averages["count"]))


def summary_block(pairing: dict) -> None:
    ui.team_summary(pairing["summary"], none_key="outcomes.summary.none")


def pairing_block(pairing: dict) -> None:
    owed = [c for c in pairing["checkpoints"] if c["status"] in lifecycle.OUTCOME_REPORT_OWED_STATUSES]
    title = ui.t("outcomes.report.block_title", title=ui.plain(pairing["challenge_title"]),
                 term=ui.plain(pairing["term_name"]))
    with st.expander(title, expanded=bool(owed), icon=":material/flag:"):
        st.caption(ui.t("outcomes.report.team", team=ui.plain(pairing["team_name"])))
        cols = st.columns(len(pairing["checkpoints"]))
        for col, checkpoint in zip(cols, pairing["checkpoints"]):
            with col:
                checkpoint_block(pairing, checkpoint)
        st.subheader(ui.t("library.summary"), anchor=False)
        summary_block(pairing)
        st.subheader(ui.t("outcomes.report.averages"), anchor=False)
        averages_table(pairing)


def main() -> None:
    st.title(ui.t("outcomes.report.page_title"))
    ui.show_notice(PAGE)
    st.write(ui.t("outcomes.report.intro"))
    try:
        pairings = outcomes.for_department(db, user)
    except PortalError as err:
        ui.show_error(err)
        st.stop()
    if not pairings:
        st.info(ui.t("outcomes.report.none"), icon=":material/hourglass_top:")
        st.stop()
    owed = outcomes.owed_reports(pairings)
    if owed:
        overdue = sum(1 for _, c in owed if c["status"] == "overdue")
        st.warning(ui.t("outcomes.report.owed", count=len(owed)) + (
            " " + ui.t("outcomes.report.owed_overdue", count=overdue) if overdue else ""), icon=":material/flag:")
    else:
        st.success(ui.t("outcomes.report.all_given"), icon=":material/check:")
    for pairing in pairings:
        pairing_block(pairing)


main()
