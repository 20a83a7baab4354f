"""The lifecycle rules of the portal, stated once: states, moves, who makes them, and what follows.

Every service, query and page asks this module. No other module spells a list of states:
SQL gets its state lists through :func:`states_sql` (parameters, never literals), and
``tests/test_lifecycle_rules.py`` fails when a list of states appears anywhere else.

The four lifecycles
-------------------
* **Term**: ``planning -> intake -> matching -> active -> closed``, one step at a time.
  Several terms live at once: the next term's intake and matching run while the current
  term is active. A closed term is read-only (export and purge aside).
* **Challenge**: ``draft -> submitted -> approved | returned -> submitted ... -> archived``.
  Once a challenge has a published pairing, its department no longer edits, reopens or
  archives it: it proposes a **revision** (``pending -> approved | returned``), which a
  facilitator decides; the team and the expert keep seeing the approved text until then.
* **Pairing**: ``proposed -> approved (published) -> active -> completed | withdrawn``.
  Published pairings follow their term: ``approved`` ones start when the term goes active,
  ``active`` ones are completed when it closes.
* **Feedback entry**: ``open -> submitted -> answered``; an open entry past its due date is
  *overdue* (computed, never stored).

Outcomes (issue 17)
-------------------
A term's work does not end when it closes. Its published pairings get a **final summary** (the
team), a **final assessment** (the expert, on the feedback rubric) and, at 3 and 6 months after
the term's end date, **outcome reports** (the organisation's representatives). These are the
only writes a closed term takes (besides export and purge), and they are stated here:

* final summaries and assessments are written while the term is active (a team may start early
  and refine it) and for :data:`FINAL_WORK_DAYS_AFTER_CLOSE` days after it closed
  (:func:`final_work_open`). Teams present in the last week and the term is closed right after,
  so the write-up has to come after the close; a month is enough to write it and short enough
  that it is still remembered.
* an outcome report of a checkpoint is taken from its due date on, without end (what happened
  to a challenge can be known late, and a report can be corrected); it is *due* from the due
  date and *overdue* :data:`OUTCOME_REPORT_GRACE_DAYS` days later (computed, never stored).
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterable

# --- States ----------------------------------------------------------------------------------

TERM_STATES = ("planning", "intake", "matching", "active", "closed")
CHALLENGE_STATES = ("draft", "submitted", "returned", "approved", "archived")
PAIRING_STATES = ("proposed", "approved", "active", "completed", "withdrawn")
FEEDBACK_STATES = ("open", "submitted", "answered")
FEEDBACK_STATUSES = ("open", "overdue", "submitted", "answered")  # as shown: overdue is computed
REVISION_STATES = ("pending", "approved", "returned")

# --- Terms -----------------------------------------------------------------------------------

#: The one forward move of each term state.
TERM_NEXT = dict(zip(TERM_STATES, TERM_STATES[1:]))
#: Terms a department may file new challenges under.
TERM_STATES_TAKING_CHALLENGES = ("planning", "intake", "matching")
#: Terms in which teams rank their preferred challenges.
TERM_STATES_TAKING_PREFERENCES = ("intake",)
#: Terms in which the optimiser may run and the proposal may be adjusted.
TERM_STATES_PLANNING_PAIRINGS = ("intake", "matching")
#: The only term state in which pairings are published.
TERM_STATES_PUBLISHING = ("matching",)
#: Terms in which experts give feedback and teams reply.
TERM_STATES_GIVING_FEEDBACK = ("active",)
#: Terms in which feedback rounds may be scheduled (prepared before the term starts).
TERM_STATES_SCHEDULING_ROUNDS = ("planning", "intake", "matching", "active")
#: Read-only terms: nothing changes except export, purge and the outcomes stated below
#: (final summaries and assessments for a while after the close, outcome reports).
TERM_STATES_READ_ONLY = ("closed",)
#: Terms with work in them (everything but closed), the ones homes and selectors start from.
TERM_STATES_OPEN = tuple(s for s in TERM_STATES if s not in TERM_STATES_READ_ONLY)
#: Pairing moves that follow the term into a state: (pairings in this state, move to this).
PAIRING_STATE_ON_TERM = {"active": ("approved", "active"), "closed": ("active", "completed")}

# --- Challenges ------------------------------------------------------------------------------

#: (state, move) -> next state. Anything missing is an illegal move.
CHALLENGE_TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "submit"): "submitted",
    ("returned", "submit"): "submitted",
    ("submitted", "approve"): "approved",
    ("submitted", "return"): "returned",
    ("submitted", "reopen"): "draft",
    ("approved", "reopen"): "draft",
    ("draft", "archive"): "archived",
    ("submitted", "archive"): "archived",
    ("returned", "archive"): "archived",
    ("approved", "archive"): "archived",
}
#: Who may make each challenge move: the permission (``matching.permissions``) it needs.
CHALLENGE_MOVE_PERMISSIONS = {
    "submit": "challenge.submit", "approve": "challenge.approve", "return": "challenge.return",
    "reopen": "challenge.reopen", "archive": "challenge.archive",
}
#: A facilitator's review decisions: each keeps a copy of the fields it judged (its audit detail),
#: so the next review of the resubmitted challenge shows what changed since.
CHALLENGE_REVIEW_MOVES = ("approve", "return")
#: A department edits its challenge freely only in these states.
CHALLENGE_EDITABLE_STATES = ("draft", "returned")
#: Only approved challenges are visible to students, rankable, and pairable.
CHALLENGE_VISIBLE_STATES = ("approved",)
#: A never-submitted draft may be deleted by its department.
CHALLENGE_DELETABLE_STATES = ("draft",)
#: The states an imported challenge may arrive in.
CHALLENGE_IMPORT_STATES = ("draft", "submitted", "approved")
#: A department offers its challenge to another programme (issue 17.1) once it has submitted it:
#: the offer is a linked copy filed in that programme's term, in ``CHALLENGE_OFFER_STATE``, which
#: that programme's facilitators approve (confirm) or return like any submitted challenge.
CHALLENGE_OFFERABLE_STATES = ("submitted", "approved")
CHALLENGE_OFFER_STATE = "submitted"
#: Moves refused once the challenge has a published pairing: the department proposes a revision.
CHALLENGE_MOVES_FROZEN_BY_PAIRING = ("reopen", "archive")
#: Fields a revision may change. The SME is not one: changing it is a facilitator action that
#: also hands over the open feedback entries.
REVISABLE_FIELDS = ("title", "problem", "outcomes", "themes", "language", "capacity")
SME_FIELDS = ("sme_name", "sme_email")

# --- Pairings --------------------------------------------------------------------------------

#: The facilitator's working proposal, not yet seen by anyone else.
PAIRING_PROPOSED = ("proposed",)
PROPOSED, PUBLISHED, WITHDRAWN = "proposed", "approved", "withdrawn"
#: Published and running: the pairing gets feedback entries, and its department and expert may
#: contact the team. These are the pairings a term move carries forward.
PAIRING_LIVE_STATES = ("approved", "active")
#: What people see as their pairing: published, running, or (after the term closed) completed.
PAIRING_VISIBLE_STATES = ("approved", "active", "completed")

# --- Feedback --------------------------------------------------------------------------------

FEEDBACK_TRANSITIONS: dict[tuple[str, str], str] = {
    ("open", "save"): "open",
    ("open", "submit"): "submitted",
    ("submitted", "reply"): "answered",
}
#: Entries the expert still owes.
FEEDBACK_OWED_STATES = ("open",)
#: Entries the team may read (drafts stay private to the expert).
FEEDBACK_SHARED_STATES = ("submitted", "answered")
#: Entries whose feedback has been given: a round with any of these cannot be deleted.
FEEDBACK_GIVEN_STATES = ("submitted", "answered")
#: Entries with a thread (expert and team write to each other): those the team can read.
FEEDBACK_THREAD_STATES = FEEDBACK_SHARED_STATES

# --- Revisions -------------------------------------------------------------------------------

REVISION_TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "approve"): "approved",
    ("pending", "return"): "returned",
}
REVISION_OPEN_STATES = ("pending",)


# --- Outcomes (issue 17) --------------------------------------------------------------------

#: Terms whose pairings take a final summary and a final assessment (a closed one only within
#: :data:`FINAL_WORK_DAYS_AFTER_CLOSE` days of its close: :func:`final_work_open`).
TERM_STATES_TAKING_FINAL_WORK = ("active", "closed")
#: How long after a term closes its teams and experts may still write the final summary and assessment.
FINAL_WORK_DAYS_AFTER_CLOSE = 30
#: Pairings that get a final summary and assessment: running, or completed when the term closed.
PAIRING_FINAL_WORK_STATES = ("active", "completed")
#: Pairings whose organisation reports outcomes, and which the outcomes export and library list.
PAIRING_COMPLETED_STATES = ("completed",)
#: What a challenge led to, as its organisation reports it.
OUTCOME_STATUSES = ("adopted", "piloted", "informed_decision", "not_pursued")
#: Outcome checkpoints: code -> months after the term's end date.
OUTCOME_CHECKPOINTS = {"3m": 3, "6m": 6}
#: A checkpoint's report as shown (computed, never stored): its due date not reached, due,
#: overdue (:data:`OUTCOME_REPORT_GRACE_DAYS` days past due), or reported.
OUTCOME_REPORT_STATUSES = ("upcoming", "due", "overdue", "reported")
#: Reports still owed (a reminder goes out, the representative's home lists them).
OUTCOME_REPORT_OWED_STATUSES = ("due", "overdue")
OUTCOME_REPORT_GRACE_DAYS = 30


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st of a shorter month is its last day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - 28 always exists


def term_closed_on(term_state: str | None, closed_on: Any, ends_on: Any) -> date | None:
    """The day a closed term closed (its end date for a term closed before that was recorded)."""
    if not term_is_read_only(term_state):
        return None
    return _day(closed_on) or _day(ends_on)


def final_work_open(term_state: str | None, closed_on: Any, ends_on: Any, today: date) -> bool:
    """Whether a term's teams and experts may write their final summary and assessment today:
    the term is active, or closed less than :data:`FINAL_WORK_DAYS_AFTER_CLOSE` days ago."""
    if term_state not in TERM_STATES_TAKING_FINAL_WORK:
        return False
    if not term_is_read_only(term_state):
        return True
    closed = term_closed_on(term_state, closed_on, ends_on)
    return closed is not None and today <= closed + timedelta(days=FINAL_WORK_DAYS_AFTER_CLOSE)


def final_work_closes_on(term_state: str | None, closed_on: Any, ends_on: Any) -> date | None:
    """The last day of the final-work window of a closed term (None while the term is open)."""
    closed = term_closed_on(term_state, closed_on, ends_on)
    return closed + timedelta(days=FINAL_WORK_DAYS_AFTER_CLOSE) if closed else None


def outcome_due_on(ends_on: Any, checkpoint: str) -> date | None:
    """The due date of a checkpoint's report: its months after the term's end date."""
    end = _day(ends_on)
    return add_months(end, OUTCOME_CHECKPOINTS[checkpoint]) if end else None


def outcome_report_status(due_on: date | None, reported: bool, today: date) -> str:
    """One of :data:`OUTCOME_REPORT_STATUSES` for a checkpoint."""
    if reported:
        return "reported"
    if due_on is None or today < due_on:
        return "upcoming"
    return "overdue" if today > due_on + timedelta(days=OUTCOME_REPORT_GRACE_DAYS) else "due"


def outcome_report_open(term_state: str | None, pairing_state: str, due_on: date | None, today: date) -> bool:
    """Whether a checkpoint takes a report today: the pairing completed (its term closed) and the
    checkpoint's due date reached."""
    return (term_is_read_only(term_state) and pairing_state in PAIRING_COMPLETED_STATES
            and due_on is not None and today >= due_on)


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


# --- Derived predicates ----------------------------------------------------------------------

def term_is_read_only(term_state: str | None) -> bool:
    return term_state in TERM_STATES_READ_ONLY


def term_takes_challenges(term_state: str | None) -> bool:
    return term_state in TERM_STATES_TAKING_CHALLENGES


def term_takes_preferences(term_state: str | None) -> bool:
    return term_state in TERM_STATES_TAKING_PREFERENCES


def term_plans_pairings(term_state: str | None) -> bool:
    return term_state in TERM_STATES_PLANNING_PAIRINGS


def term_gives_feedback(term_state: str | None) -> bool:
    return term_state in TERM_STATES_GIVING_FEEDBACK


def team_profile_editable(term_state: str | None) -> bool:
    """A team keeps its profile current in every term state but closed (and with no term)."""
    return not term_is_read_only(term_state)


def challenge_editable(status: str) -> bool:
    return status in CHALLENGE_EDITABLE_STATES


def challenge_visible_to_all(status: str) -> bool:
    return status in CHALLENGE_VISIBLE_STATES


def challenge_deletable(status: str) -> bool:
    return status in CHALLENGE_DELETABLE_STATES


def challenge_next(status: str, move: str) -> str | None:
    """The state a move leads to, or None when the move does not exist from ``status``."""
    return CHALLENGE_TRANSITIONS.get((status, move))


def challenge_moves(status: str) -> tuple[str, ...]:
    """The moves that exist from ``status`` (who may make them is a permission question)."""
    return tuple(move for (state, move) in CHALLENGE_TRANSITIONS if state == status)


def pairing_is_live(state: str) -> bool:
    return state in PAIRING_LIVE_STATES


def pairing_is_visible(state: str) -> bool:
    return state in PAIRING_VISIBLE_STATES


def feedback_is_owed(state: str) -> bool:
    return state in FEEDBACK_OWED_STATES


def feedback_is_shared(state: str) -> bool:
    return state in FEEDBACK_SHARED_STATES


def feedback_is_given(state: str) -> bool:
    return state in FEEDBACK_GIVEN_STATES


def feedback_thread_open(term_state: str | None, entry_state: str) -> bool:
    """Whether an entry's thread takes new messages: the entry is shared with the team and its
    own term still gives feedback. Once the term closes the thread is read-only."""
    return entry_state in FEEDBACK_THREAD_STATES and term_gives_feedback(term_state)


def states_sql(column: str, states: Iterable[str]) -> tuple[str, list[str]]:
    """``("column IN (?, ?)", [states])``: a state list for SQL, as parameters.

    ``column`` is a column name written by the caller, never user input.
    """
    states = list(states)
    return f"{column} IN ({', '.join('?' for _ in states)})", states


# --- Outbox (e-mail) -------------------------------------------------------------------------

#: An e-mail of the outbox: ``queued -> sending -> sent``; a refusal or a timeout puts it back to
#: ``queued`` with a later attempt time, a permanent refusal (or too many attempts) ends in
#: ``failed``. A ``sending`` message whose claim is older than the lease (the sender died between
#: claiming and marking) is claimed again (see :mod:`matching.mail`).
OUTBOX_STATES = ("queued", "sending", "sent", "failed")
#: Messages a sender may claim (``sending`` ones only once their lease has run out).
OUTBOX_CLAIMABLE_STATES = ("queued",)
#: Messages not delivered yet.
OUTBOX_UNDELIVERED_STATES = ("queued", "sending")
