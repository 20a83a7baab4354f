"""Review: submitted challenges (approve, confirming unclassified, or return); revisions of paired
challenges (approve or return); and the facilitator's change of a challenge's expert.

Every decision carries the version that was on screen: a challenge (or revision) changed after
the page was drawn is refused and shown again, never decided unseen.
"""
import streamlit as st

import ui
from matching import challenges, i18n, lifecycle, permissions, reviews
from matching.errors import PortalError, StaleRecord, ValidationFailed

user = ui.user()
db = ui.db()
PAGE = "review"  # session-state prefix of this page
PROGRAMME = None  # the academic program chosen at the top of the page (None: all of the facilitator's)


def on_screen(key: str, current: int) -> int:
    """The version the person saw when they clicked (the one drawn on the previous run); the
    current one is remembered for the next click."""
    seen = st.session_state.get(key, current)
    st.session_state[key] = current
    return seen


def seen_key(c: dict) -> str:
    return f"review_seen_{c['id']}"


def challenge_name(c: dict) -> str:
    """``[TC] Title · Winter 2027`` for widget options (user text: never Markdown)."""
    term = f" · {c['term_name']}" if c.get("term_name") else ""
    return f"[{ui.acronym(c['acronym'])}] {c['title']}{term}"


def stale_or_error(err: PortalError) -> None:
    if isinstance(err, StaleRecord):
        st.warning(ui.t("facp.review.stale"), icon=":material/sync_problem:")
    else:
        ui.show_error(err)


# --- Submitted challenges -------------------------------------------------------------------

def oldest_first(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r.get("submitted_at") or r["updated_at"], r["id"]))


def bulk_approve(queue: list[dict]) -> None:
    with st.expander(ui.t("review.bulk.title"), icon=":material/done_all:"):
        titles = {c["id"]: challenge_name(c) for c in queue}
        chosen = ui.choice(st.multiselect, ui.t("review.bulk.choose"), titles, labels=titles,
                           key="review_bulk_ids")
        confirm = st.checkbox(ui.t("review.bulk.confirm", count=len(chosen)), key="review_bulk_confirm")
        if st.button(ui.t("review.bulk.approve"), key="review_bulk_go", disabled=not chosen):
            # The cards below remember the versions they drew on the previous run.
            current = {c["id"]: c["version"] for c in queue}
            versions = {cid: st.session_state.get(f"review_seen_{cid}", current[cid]) for cid in chosen}
            ui.act(lambda: challenges.bulk_approve(db, user, chosen, confirm_unclassified=confirm,
                                                   expected_versions=versions), page=PAGE,
                   success=lambda _: ("review.bulk.done", {"count": len(chosen)}), on_error=bulk_refused,
                   forget=["review_bulk_ids", "review_bulk_confirm"])


def bulk_refused(err: PortalError) -> None:
    """A bulk approval lacks the confirmation (asked for in place) or met a changed challenge."""
    if isinstance(err, ValidationFailed):
        st.error(ui.t("review.bulk.needs_confirm"), icon=":material/error:")
    else:
        stale_or_error(err)


def errors_key(c: dict) -> str:
    return f"review_errors_{c['id']}"


def review_history(entry: dict | None) -> None:
    """Earlier decisions on a resubmitted challenge (who, when, the comments) and what changed
    since the last one, field by field."""
    if not entry or not entry["reviews"]:
        return
    with st.expander(ui.t("review.history.title", count=len(entry["reviews"])), expanded=True,
                     icon=":material/history:"):
        for r in entry["reviews"]:
            if r["at"]:
                st.markdown(ui.t(f"review.history.{r['move']}", who=ui.plain(r["reviewer"]),
                                 date=i18n.format_date(r["at"], ui.lang())))
            else:
                st.markdown(ui.t("review.history.unrecorded"))
            if r["comments"]:
                st.text(r["comments"])
        st.markdown(f"**{ui.t('review.history.changed')}**")
        if entry["changes"] is None:
            st.caption(ui.t("review.history.no_copy"))
        elif not entry["changes"]:
            st.caption(ui.t("review.history.unchanged"))
        for change in entry["changes"] or []:
            st.markdown(f"**{ui.t('data.col.' + change['field'])}**")
            left, right = st.columns(2)
            left.caption(ui.t("review.history.before"))
            left.text(field_value(change["field"], change["before"]) or "—")
            right.caption(ui.t("review.history.now"))
            right.text(field_value(change["field"], change["now"]) or "—")


def challenge_card(c: dict, history: dict | None = None) -> None:
    errors = ui.kept_errors(errors_key(c))
    seen = on_screen(seen_key(c), c["version"])
    with st.container(border=True):
        st.subheader(ui.plain(c["title"]), anchor=False)
        st.caption(ui.t("review.card.meta", department=ui.plain(ui.department_name(c)),
                        date=i18n.format_day(c.get("submitted_at"), ui.lang()),
                        capacity=c["capacity"], language=ui.t("review.language." + c["language"])))
        if c.get("term_name"):
            programme = ui.plain(ui.programme_label(c.get("programme_id")))
            st.caption(ui.t("term.acts_on", name=ui.plain(c["term_name"]), state=ui.t("term_state." + c["term_state"]))
                       + (f" · {programme}" if programme else ""))
        if c.get("offered_from"):
            st.caption(ui.t("offer.form.review_note"))
        st.markdown(f"**{ui.t('data.col.problem')}**")
        st.text(c["problem"])
        st.markdown(f"**{ui.t('data.col.outcomes')}**")
        st.text(c["outcomes"])
        st.caption(ui.t("review.card.themes", themes=ui.plain(", ".join(c["themes"]))))
        # st.text: Markdown would turn the e-mail into a link.
        st.text(ui.t("review.card.sme", name=c["sme_name"], email=c["sme_email"]))
        review_history(history)
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
                decide(c, seen, approve, confirm, comments)


def decide(c: dict, seen: int, approve: bool, confirm: bool, comments: str) -> None:
    if approve:
        call = lambda: challenges.approve(db, user, c["id"], confirm_unclassified=confirm, expected_version=seen)
        done = "review.approved"
    else:
        call = lambda: challenges.return_for_changes(db, user, c["id"], comments, expected_version=seen)
        done = "review.returned"
    ui.act(call, page=PAGE, errors_key=errors_key(c), on_error=stale_or_error,
           success=lambda _: (done, {"title": c["title"]}))


def in_programme(rows: list[dict]) -> list[dict]:
    """The rows of the academic program chosen at the top (all of the facilitator's when none)."""
    return [r for r in rows if permissions.may_act_on(user, r.get("programme_id"))
            and (PROGRAMME is None or r.get("programme_id") == PROGRAMME)]


def queue_section() -> None:
    st.header(ui.t("facp.review.queue_title"), anchor=False)
    queue = oldest_first(in_programme(challenges.list_challenges(db, user, status="submitted")))
    if not queue:
        st.info(ui.t("review.empty"), icon=":material/inbox:")
        return
    st.write(ui.t("review.intro", count=len(queue)))
    bulk_approve(queue)
    history = reviews.history(db, user, queue)
    for challenge in queue:
        challenge_card(challenge, history.get(challenge["id"]))


# --- Revisions of paired challenges ---------------------------------------------------------

def field_value(field: str, value) -> str:
    """A field's value as plain text (for st.text: user text is never Markdown)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if field == "language" and value:
        return ui.t("review.language." + str(value))
    return "" if value is None else str(value)


def revision_card(revision: dict, rows: dict[int, dict]) -> None:
    current = revision["challenge"]
    row = rows.get(current["id"], {})
    errors = ui.kept_errors(f"revision_errors_{revision['id']}")
    seen = on_screen(f"revision_seen_{revision['id']}", revision["version"])
    with st.container(border=True):
        st.subheader(ui.plain(current["title"]), anchor=False)
        if row:
            st.caption(ui.plain(f"{ui.department_name(row)} · {row.get('term_name') or ''}"))
        st.caption(ui.t("facp.revision.proposed_on", date=i18n.format_date(revision["proposed_at"], ui.lang())))
        if revision["base_version"] != current["version"]:
            st.warning(ui.t("facp.revision.base_changed"), icon=":material/sync_problem:")
        for field, proposed in revision["changes"].items():
            st.markdown(f"**{ui.t('data.col.' + field)}**")
            left, right = st.columns(2)
            left.caption(ui.t("facp.revision.current"))
            left.text(field_value(field, current.get(field)))
            right.caption(ui.t("facp.revision.proposed"))
            right.text(field_value(field, proposed))
        st.caption(ui.t("facp.revision.note"))
        st.text(revision["note"] or "—")
        with st.container(border=True):
            approve = st.button(ui.t("facp.revision.approve"), type="primary", icon=":material/check:",
                                key=f"revision_approve_{revision['id']}")
            comments = st.text_area(ui.t("review.card.comments"), key=f"revision_comments_{revision['id']}",
                                    help=ui.t("facp.revision.comments_help"))
            ui.field_error(errors, "comments")
            send_back = st.button(ui.t("facp.revision.return"), icon=":material/undo:",
                                  key=f"revision_return_{revision['id']}")
            if approve or send_back:
                move = "approve" if approve else "return"
                ui.act(lambda: challenges.decide_revision(db, user, revision["id"], move, comments=comments,
                                                          expected_version=seen),
                       page=PAGE, errors_key=f"revision_errors_{revision['id']}", on_error=stale_or_error,
                       success=lambda _: (f"facp.revision.{move}d", {"title": current["title"]}))


def revisions_section(rows: dict[int, dict]) -> None:
    st.header(ui.t("facp.revision.title"), anchor=False)
    revisions = challenges.revisions_to_review(db, user)
    if not revisions:
        st.caption(ui.t("facp.revision.none"))
        return
    st.write(ui.t("facp.revision.intro", count=len(revisions)))
    for revision in revisions:
        revision_card(revision, rows)


# --- Changing a challenge's subject-matter expert -------------------------------------------

def sme_section(approved: list[dict]) -> None:
    st.header(ui.t("facp.sme.title"), anchor=False)
    with st.expander(ui.t("facp.sme.open"), icon=":material/swap_horiz:"):
        if not approved:
            st.caption(ui.t("facp.sme.none"))
            return
        paired = {c["id"]: challenges.has_published_pairing(db, c["id"]) for c in approved}
        ordered = sorted(approved, key=lambda c: (not paired[c["id"]], c["acronym"], c["title"]))
        names = {c["id"]: challenge_name(c) + (" ✓" if paired[c["id"]] else "") for c in ordered}
        st.caption(ui.t("facp.sme.intro"))
        chosen = ui.choice(st.selectbox, ui.t("data.col.challenge"), names, labels=names, key="sme_challenge")
        c = next(item for item in ordered if item["id"] == chosen)
        seen = on_screen(f"sme_seen_{chosen}", c["version"])
        st.text(ui.t("facp.sme.current", name=c["sme_name"], email=c["sme_email"]))
        errors = ui.kept_errors("sme_errors")
        left, right = st.columns(2)
        name = left.text_input(ui.t("facp.sme.name"), key="sme_name")
        with left:
            ui.field_error(errors, "sme_name")
        email = right.text_input(ui.t("facp.sme.email"), key="sme_email")
        with right:
            ui.field_error(errors, "sme_email")
        reason = st.text_input(ui.t("assign.page.reason"), key="sme_reason", help=ui.t("facp.sme.reason_help"))
        ui.field_error(errors, "reason")
        if st.button(ui.t("facp.sme.button"), key="sme_go", icon=":material/swap_horiz:"):
            ui.act(lambda: challenges.change_sme(db, user, chosen, name, email, reason=reason, expected_version=seen),
                   page=PAGE, errors_key="sme_errors", on_error=stale_or_error,
                   success=lambda done: ("facp.sme.changed", {"title": c["title"], "name": done["challenge"].sme_name,
                                                              "moved": done["moved"]}),
                   forget=["sme_name", "sme_email", "sme_reason"])


def main() -> None:
    global PROGRAMME
    st.title(ui.t("review.title"))
    ui.show_notice(PAGE)
    PROGRAMME = ui.pick_programme("review_programme")
    queue_section()
    approved = in_programme(challenges.list_challenges(db, user, status="approved"))
    revisions_section({c["id"]: c for c in approved})
    sme_section([c for c in approved if not lifecycle.term_is_read_only(c.get("term_state"))])


main()
