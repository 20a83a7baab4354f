"""Review queue: submitted challenges, oldest first; approve (confirming unclassified) or return."""
import streamlit as st

import ui
from matching import challenges, i18n
from matching.errors import PortalError, ValidationFailed

user = ui.user()
db = ui.db()
PAGE = "review"  # session-state prefix of this page


def oldest_first(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r.get("submitted_at") or r["updated_at"], r["id"]))


def bulk_approve(queue: list[dict]) -> None:
    with st.expander(ui.t("review.bulk.title"), icon=":material/done_all:"):
        titles = {c["id"]: f"[{c['acronym']}] {c['title']}" for c in queue}
        chosen = st.multiselect(ui.t("review.bulk.choose"), list(titles), format_func=titles.get,
                                key="review_bulk_ids")
        confirm = st.checkbox(ui.t("review.bulk.confirm", count=len(chosen)), key="review_bulk_confirm")
        if st.button(ui.t("review.bulk.approve"), key="review_bulk_go", disabled=not chosen):
            ui.act(lambda: challenges.bulk_approve(db, user, chosen, confirm_unclassified=confirm), page=PAGE,
                   success=lambda _: ("review.bulk.done", {"count": len(chosen)}), on_error=bulk_refused,
                   forget=["review_bulk_ids", "review_bulk_confirm"])


def bulk_refused(err: PortalError) -> None:
    """The one thing a bulk approval can lack is the confirmation, asked for in place."""
    if isinstance(err, ValidationFailed):
        st.error(ui.t("review.bulk.needs_confirm"), icon=":material/error:")
    else:
        ui.show_error(err)


def errors_key(c: dict) -> str:
    return f"review_errors_{c['id']}"


def challenge_card(c: dict) -> None:
    errors = ui.kept_errors(errors_key(c))
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
            decide(c, approve, confirm, comments)


def decide(c: dict, approve: bool, confirm: bool, comments: str) -> None:
    if approve:
        call, done = lambda: challenges.approve(db, user, c["id"], confirm_unclassified=confirm), "review.approved"
    else:
        call, done = lambda: challenges.return_for_changes(db, user, c["id"], comments), "review.returned"
    ui.act(call, page=PAGE, errors_key=errors_key(c), success=lambda _: (done, {"title": c["title"]}))


def main() -> None:
    st.title(ui.t("review.title"))
    ui.show_notice(PAGE)
    queue = oldest_first(challenges.list_challenges(db, user, status="submitted"))
    if not queue:
        st.info(ui.t("review.empty"), icon=":material/inbox:")
        return
    st.write(ui.t("review.intro", count=len(queue)))
    bulk_approve(queue)
    for challenge in queue:
        challenge_card(challenge)


main()
