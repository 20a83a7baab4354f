"""Import and export: CSV or Excel in, with a preview and a row-by-row report; every list out."""
import pandas as pd
import streamlit as st

import ui
from matching import importexport
from matching.errors import PortalError

user = ui.user()
db = ui.db()


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
    kind = st.selectbox(ui.t("data.page.kind"), list(names), key="data_import_kind", format_func=names.get)
    st.caption(ui.t(f"data.page.columns_{kind}"))
    upload = st.file_uploader(ui.t("data.page.file"), type=["csv", "xlsx"], key="data_upload",
                              help=ui.t("data.page.file_help"))
    if upload is None:
        return
    ok, result = ui.attempt(lambda: read(upload, kind), on_error=ui.in_place("file"))
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
        write(kind, rows)


def read(upload, kind: str):
    rows = importexport.read_upload(upload.getvalue(), upload.name)
    return rows, importexport.preview(db, user, kind, rows)


def write(kind: str, rows) -> None:
    """Confirmed in place, not after a rerun: new accounts' passwords are shown only this once."""
    ok, written = ui.attempt(lambda: importexport.commit(db, user, kind, rows), on_error=rejected)
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
    kind = st.selectbox(ui.t("data.page.export_kind"), list(names), key="data_export_kind", format_func=names.get)
    left, right = st.columns(2)
    for column, fmt, mime in ((left, "csv", "text/csv"),
                              (right, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")):
        try:
            data = importexport.export_bytes(db, user, kind, fmt, ui.lang())
        except PortalError as err:
            ui.show_error(err)
            return
        column.download_button(ui.t(f"data.page.download_{fmt}"), data=data, file_name=f"{kind}.{fmt}",
                               mime=mime, key=f"data_download_{fmt}", icon=":material/download:")


def main() -> None:
    st.title(ui.t("data.page.title"))
    import_section()
    export_section()


main()
