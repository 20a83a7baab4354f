"""Import and export: CSV or Excel in, with a preview and a row-by-row report; every list out."""
import pandas as pd
import streamlit as st

import ui
from matching import importexport, lifecycle, terms
from matching.errors import PortalError

user = ui.user()
db = ui.db()
ALL_TERMS = 0  # the "all terms" choice of an export (term ids start at 1)
BY_TERM_OR_ALL = ("challenges", "teams")  # exports of one term or of every term


def term_choice(label_key: str, choices, key: str, *, with_all: bool = False) -> int | None:
    """A term selector over ``choices`` (starting on the term chosen elsewhere when it is one of
    them); with ``with_all``, an "all terms" option first, returned as None."""
    labels = {term.id: ui.term_label(term) for term in choices}
    options = ([ALL_TERMS] if with_all else []) + list(labels)
    labels[ALL_TERMS] = ui.t("facp.data.all_terms")
    remembered = st.session_state.get("_chosen_term")
    index = options.index(remembered) if remembered in options else 0
    chosen = ui.choice(st.selectbox, ui.t(label_key), options, index=index, labels=labels, key=key)
    return None if chosen == ALL_TERMS else chosen


def import_term(kind: str) -> tuple[bool, int | None]:
    """The term an import writes into: chosen when several can take it, shown when one can.
    ``(False, None)`` when none can (said on the page)."""
    states = lifecycle.TERM_STATES_TAKING_CHALLENGES if kind == "challenges" else lifecycle.TERM_STATES_OPEN
    choices = terms.list_terms(db, states, actor=user)
    if kind == "users" and len(choices) < 2:
        return True, None  # staff need no term; students' teams are found in the one open term
    if not choices:
        st.info(ui.t("term.none_in_state"), icon=":material/calendar_month:")
        return False, None
    if len(choices) == 1:
        ui.term_caption(choices[0])
        return True, choices[0].id
    return True, term_choice("facp.data.import_term", choices, f"data_import_term_{kind}")


def problem_table(report) -> None:
    rows = [{ui.t("data.page.row"): p["row"], ui.t("data.page.column"): ui.t(f"data.col.{p['field']}"),
             ui.t("data.page.problem"): ui.t(p["key"], **p.get("params", {}))} for p in report.problems]
    st.dataframe(pd.DataFrame(rows), width="stretch", hide_index=True)


def preview_table(report) -> None:
    rows = []
    for number, record in zip(report.row_numbers, report.records):
        shown = {ui.t("data.page.row"): number}
        for key, value in record.items():
            if key in ("department_id", "team_id"):
                continue
            if isinstance(value, list):
                value = "; ".join(v if isinstance(v, str) else f"{v['name']} <{v['email']}>" for v in value)
            shown[ui.t(f"data.col.{key}")] = "" if value is None else str(value)
        rows.append(shown)
    st.dataframe(pd.DataFrame(rows), width="stretch", hide_index=True)


def import_section() -> None:
    st.header(ui.t("data.page.import_title"), anchor=False)
    st.write(ui.t("data.page.import_intro"))
    names = {k: ui.t(f"data.kind.{k}") for k in importexport.IMPORT_KINDS}
    kind = ui.choice(st.selectbox, ui.t("data.page.kind"), names, key="data_import_kind", labels=names)
    st.caption(ui.t(f"data.page.columns_{kind}"))
    ok, term_id = import_term(kind)
    if not ok:
        return
    upload = st.file_uploader(ui.t("data.page.file", limit=importexport.MAX_UPLOAD_MB), type=["csv", "xlsx"], key="data_upload",
                              help=ui.t("data.page.file_help"))
    if upload is None:
        return
    ok, result = ui.attempt(lambda: read(upload, kind, term_id), on_error=ui.in_place("file"))
    if not ok:
        return
    rows, report = result
    st.subheader(ui.t("data.page.preview", count=len(report.records)), anchor=False)
    if report.ignored_columns:
        st.caption(ui.t("data.page.ignored", columns=ui.plain(", ".join(report.ignored_columns))))
    preview_table(report)
    if not report.ok:
        st.error(ui.t("data.rejected", count=len(report.problems)), icon=":material/error:")
        problem_table(report)
        return
    st.success(ui.t("data.page.ready", count=len(report.records)), icon=":material/check_circle:")
    if st.button(ui.t("data.page.write", count=len(report.records)), type="primary", key="data_write"):
        write(kind, rows, term_id)


def read(upload, kind: str, term_id: int | None):
    rows = importexport.read_upload(upload.getvalue(), upload.name)
    return rows, importexport.preview(db, user, kind, rows, term_id=term_id)


def write(kind: str, rows, term_id: int | None) -> None:
    """Confirmed in place, not after a rerun: new accounts' passwords are shown only this once."""
    ok, written = ui.attempt(lambda: importexport.commit(db, user, kind, rows, term_id=term_id), on_error=rejected)
    if not ok:
        return
    st.success(ui.t("data.cli.imported", count=written.written, kind=ui.t(f"data.kind.{kind}")),
               icon=":material/check_circle:")
    if written.passwords:
        st.warning(ui.t("data.passwords_note"), icon=":material/key:")
        st.dataframe(pd.DataFrame(written.passwords), width="stretch", hide_index=True)


def rejected(err: PortalError) -> None:
    """Rows that stopped the import are listed, as in the preview."""
    if isinstance(err, importexport.ImportRejected):
        st.error(ui.message(err.key, err.params), icon=":material/error:")
        problem_table(err.report)
    else:
        ui.show_error(err)


def export_section() -> None:
    st.header(ui.t("data.page.export_title"), anchor=False)
    st.write(ui.t("data.page.export_intro"))
    names = {k: ui.t(f"data.kind.{k}") for k in importexport.EXPORT_KINDS}
    kind = ui.choice(st.selectbox, ui.t("data.page.export_kind"), names, key="data_export_kind", labels=names)
    term_id = export_term(kind)
    left, right = st.columns(2)
    for column, fmt, mime in ((left, "csv", "text/csv"),
                              (right, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
        try:
            data = importexport.export_bytes(db, user, kind, fmt, ui.lang(), term_id=term_id)
        except PortalError as err:
            ui.show_error(err)
            return
        name = kind if term_id is None else f"{kind}-term{term_id}"
        column.download_button(ui.t(f"data.page.download_{fmt}"), data=data, file_name=f"{name}.{fmt}",
                               mime=mime, key=f"data_download_{fmt}", icon=":material/download:")


def export_term(kind: str) -> int | None:
    """A term's lists name their term; challenges and teams may also be every term's; users and
    the audit log are the portal's."""
    all_terms = terms.list_terms(db, actor=user)
    if kind in importexport.TERM_EXPORTS:
        if not all_terms:
            st.info(ui.t("fac.no_term"), icon=":material/calendar_month:")
            st.stop()
        return term_choice("term.selector", all_terms, "data_export_term")
    if kind in BY_TERM_OR_ALL:
        return term_choice("term.selector", all_terms, "data_export_term_all", with_all=True)
    st.caption(ui.t("facp.data.portal_wide"))
    return None


def main() -> None:
    st.title(ui.t("data.page.title"))
    import_section()
    export_section()


main()
