"""The audit log: every state change and every sign-in leaves an event (actor, time, action,
target, reason); nothing in the services can edit or delete an event; facilitators can export it."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from matching import accounts, audit, challenges, maintenance, terms
from matching import db as storage
from matching.errors import AuthenticationFailed, PermissionDenied
from tests.conftest import ACCESSIBILITY, PASSWORD, ROOT
from tests.test_access_matrix import CASES, ROLES, mw, template  # noqa: F401  (fixtures)
from tests.test_backup_restore import table_dump

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

WRITE_CASES = [(service, i) for service in sorted(CASES) for i, case in enumerate(CASES[service]) if case.may_call]


def _state(db) -> dict:
    dump = table_dump(db)
    dump.pop("audit_events")
    return dump


@pytest.mark.parametrize("service,case_index", WRITE_CASES, ids=[f"{s}[{i}]" for s, i in WRITE_CASES])
def test_every_state_change_is_audited(mw, service, case_index):  # noqa: F811
    case = CASES[service][case_index]
    role = next(r for r in ROLES if r in case.may_call)
    target = case.setup(mw.db, mw)
    actor = mw.user(role)
    before, last_event = _state(mw.db), mw.db.execute("SELECT MAX(id) FROM audit_events").fetchone()[0]
    case.call(mw.db, mw, actor, target)
    new_events = list(mw.db.query("SELECT * FROM audit_events WHERE id > ? ORDER BY id", [last_event]))
    if _state(mw.db) == before:
        return  # a read: nothing to audit (some reads, like exports, are audited anyway)
    assert new_events, f"{service} changed the database without an audit event"
    for event in new_events:
        assert event["actor_id"] == actor.id and event["actor_email"] == actor.email
        assert datetime.fromisoformat(event["at"]).tzinfo is not None
        assert abs(datetime.now(timezone.utc) - datetime.fromisoformat(event["at"])) < timedelta(minutes=1)
        assert re.fullmatch(r"[a-z_]+\.[a-z_.]+", event["action"]), event["action"]
        assert event["target_type"], event
        assert isinstance(event["reason"], str)


def test_moves_that_take_a_reason_record_it(db, world, approved):
    draft = challenges.save_draft(db, world["rep_esdc"], ACCESSIBILITY)
    challenges.submit(db, world["rep_esdc"], draft.id)
    challenges.return_for_changes(db, world["facilitator"], draft.id, "Please name the SME's branch.")
    challenges.archive(db, world["rep_esdc"], draft.id, reason="Duplicate of another challenge")
    challenges.reopen(db, world["facilitator"], approved["fisheries"], reason="Scope changed")
    terms.advance_term(db, world["facilitator"], world["term"], reason="Intake deadline passed")
    reasons = {e["action"]: e["reason"] for e in audit.events(db)}
    assert reasons["challenge.return"] == "Please name the SME's branch."
    assert reasons["challenge.archive"] == "Duplicate of another challenge"
    assert reasons["challenge.reopen"] == "Scope changed"
    assert reasons["term.advance"] == "Intake deadline passed"


def test_every_sign_in_attempt_is_audited(db, world):
    now = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc)
    accounts.authenticate(db, "rep@esdc.gc.ca", PASSWORD, now=now)
    for email, password in (("rep@esdc.gc.ca", "wrong"), ("nobody@nowhere.ca", "wrong")):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(db, email, password, now=now)
    events = audit.events(db)[:3][::-1]
    assert [(e["action"], e["target_type"]) for e in events] == [
        ("auth.sign_in", "user"), ("auth.sign_in_failed", "user"), ("auth.sign_in_failed", "user")]
    assert [e["actor_email"] for e in events] == ["rep@esdc.gc.ca", "rep@esdc.gc.ca", "nobody@nowhere.ca"]
    assert events[0]["target_id"] == str(world["rep_esdc"].id) and all(e["at"] for e in events)
    assert '"password"' in events[1]["detail"] and '"unknown"' in events[2]["detail"]  # the reason of the refusal


AUDIT_WRITE = re.compile(r"(UPDATE|DELETE\s+FROM|REPLACE\s+INTO|INSERT\s+OR\s+REPLACE\s+INTO)\s+\[?audit_events",
                         re.IGNORECASE)


def test_no_service_updates_or_deletes_audit_events():
    """Only the purge may rewrite event text (see matching/maintenance.py); nothing deletes."""
    writers = {}
    for path in (ROOT / "matching").rglob("*.py"):
        found = AUDIT_WRITE.findall(path.read_text(encoding="utf-8"))
        if found:
            writers[path.name] = [f.split()[0].upper() for f in found]
    assert writers == {"maintenance.py": ["UPDATE"]}


def test_the_database_refuses_to_edit_or_delete_events(db, world):
    accounts.authenticate(db, "rep@esdc.gc.ca", PASSWORD)
    for statement in ("DELETE FROM audit_events", "UPDATE audit_events SET action = 'x'",
                      "UPDATE audit_events SET at = '2000-01-01'", "UPDATE audit_events SET actor_id = NULL",
                      "UPDATE audit_events SET detail = '{}'", "UPDATE audit_events SET reason = 'rewritten'",
                      *(["TRUNCATE audit_events"] if storage.dialect(db) == "postgresql" else [])):
        with pytest.raises(Exception, match="append-only"):
            db.execute(statement)
    # Even with the purge's flag open, who, what, when and which record cannot change.
    for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"):
            with storage.transaction(db):
                db.execute("INSERT INTO meta (key, value) VALUES ('audit_purge_open', '1')")
                db.execute(statement)
    assert storage.one(db, "SELECT 1 FROM meta WHERE key = 'audit_purge_open'") is None


def test_facilitators_read_and_export_the_log(db, world):
    accounts.authenticate(db, "rep@esdc.gc.ca", PASSWORD)
    events = maintenance.audit_log(db, world["facilitator"])
    assert events[0]["action"] == "auth.sign_in"
    assert maintenance.audit_log(db, world["facilitator"], action="user.create", limit=2)[0]["action"] == "user.create"
    for role in ("rep_esdc", "student_a", "expert"):
        with pytest.raises(PermissionDenied):
            maintenance.audit_log(db, world[role])
    importexport = pytest.importorskip("matching.importexport")
    csv_text = importexport.export_bytes(db, world["facilitator"], "audit", "csv").decode("utf-8-sig")
    assert "auth.sign_in" in csv_text and "user.create" in csv_text
    with pytest.raises(PermissionDenied):
        importexport.export_bytes(db, world["rep_esdc"], "audit", "csv")


def test_exported_audit_text_cannot_run_as_a_spreadsheet_formula(db, world):
    importexport = pytest.importorskip("matching.importexport")
    draft = challenges.save_draft(db, world["rep_esdc"], ACCESSIBILITY)
    challenges.submit(db, world["rep_esdc"], draft.id)
    challenges.return_for_changes(db, world["facilitator"], draft.id, '=HYPERLINK("http://evil.example","x")')
    csv_text = importexport.export_bytes(db, world["facilitator"], "audit", "csv").decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(csv_text)) for cell in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]


def test_text_typed_in_the_email_box_is_kept_only_when_it_looks_like_an_email(db, world):
    for typed in ("my-secret-password", "someone@example.ca"):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(db, typed, "guess")
    recorded = [e["actor_email"] for e in audit.events(db, action="auth.sign_in_failed")]
    assert recorded == ["someone@example.ca", "(not an e-mail address)"]
