"""Review queue: submitted challenges, oldest first; approve (confirming unclassified) or return."""
import streamlit as st

import ui
from matching import challenges, i18n
from matching.errors import PortalError, ValidationFailed

user = ui.user()
db = ui.db()
ERRORS = "review_errors"          # challenge id -> {field: key}, shown under the fields after a rerun


def oldest_first(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r.get("submitted_at") or r["updated_at"], r["id"]))


def bulk_approve(queue: list[dict]) -> None:
    with st.expander(ui.t("review.bulk.title"), icon=":material/done_all:"):
        titles = {c["id"]: f"[{c['acronym']}] {c['title']}" for c in queue}
        chosen = st.multiselect(ui.t("review.bulk.choose"), list(titles), format_func=titles.get,
                                key="review_bulk_ids")
        confirm = st.checkbox(ui.t("review.bulk.confirm", count=len(chosen)), key="review_bulk_confirm")
        if st.button(ui.t("review.bulk.approve"), key="review_bulk_go", disabled=not chosen):
            try:
                challenges.bulk_approve(db, user, chosen, confirm_unclassified=confirm)
            except ValidationFailed:
                st.error(ui.t("review.bulk.needs_confirm"), icon=":material/error:")
            except PortalError as err:
                ui.show_error(err)
            else:
                st.session_state["review_notice"] = ui.t("review.bulk.done", count=len(chosen))
                for key in ("review_bulk_ids", "review_bulk_confirm"):
                    st.session_state.pop(key, None)
                st.rerun()


def challenge_card(c: dict) -> None:
    errors = st.session_state.get(ERRORS, {}).get(c["id"], {})
    with st.container(border=True):
        st.subheader(ui.plain(c["title"]), anchor=False)
        st.caption(ui.t("review.card.meta", department=ui.plain(ui.department_name(c)),
                        date=i18n.format_day(c.get("submitted_at"), ui.lang()),
                        capacity=c["capacity"], language=ui.t("review.language." + c["language"])))
        st.markdown(f"**{ui.t('data.col.problem')}**")
        st.text(c["problem"])
        st.markdown(f"**{ui.t('data.col.outcomes')}**")
        st.text(c["outcomes"])
        st.caption(ui.t("review.card.themes", themes=ui.plain(", ".join(c["themes"]))))
        # st.text: Markdown would turn the e-mail into a link.
        st.text(ui.t("review.card.sme", name=c["sme_name"], email=c["sme_email"]))
        with st.container(border=True):
            confirm = st.checkbox(ui.t("review.card.confirm_unclassified"), key=f"review_confirm_{c['id']}")
            ui.field_error(errors, "confirm_unclassified")
            approve = st.button(ui.t("review.card.approve"), type="primary", icon=":material/check:",
                                key=f"review_approve_{c['id']}")
            comments = st.text_area(ui.t("review.card.comments"), key=f"review_comments_{c['id']}",
                                    help=ui.t("review.card.comments_help"))
            ui.field_error(errors, "comments")
            send_back = st.button(ui.t("review.card.return"), icon=":material/undo:", key=f"review_return_{c['id']}")
        if approve or send_back:
            act(c, approve, confirm, comments)


def act(c: dict, approve: bool, confirm: bool, comments: str) -> None:
    try:
        if approve:
            challenges.approve(db, user, c["id"], confirm_unclassified=confirm)
            notice = ui.t("review.approved", title=c["title"])
        else:
            challenges.return_for_changes(db, user, c["id"], comments)
            notice = ui.t("review.returned", title=c["title"])
    except ValidationFailed as err:
        st.session_state.setdefault(ERRORS, {})[c["id"]] = err.errors
        st.rerun()
    except PortalError as err:
        ui.show_error(err)
    else:
        st.session_state.setdefault(ERRORS, {}).pop(c["id"], None)
        st.session_state["review_notice"] = notice
        st.rerun()


st.title(ui.t("review.title"))
if notice := st.session_state.pop("review_notice", None):
    st.success(notice, icon=":material/check_circle:")
queue = oldest_first(challenges.list_challenges(db, user, status="submitted"))
if not queue:
    st.info(ui.t("review.empty"), icon=":material/inbox:")
else:
    st.write(ui.t("review.intro", count=len(queue)))
    bulk_approve(queue)
    for challenge in queue:
        challenge_card(challenge)
