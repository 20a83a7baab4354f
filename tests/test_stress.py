"""Many people saving at once: nothing reported as saved is lost or applied twice, and nobody
ever sees "database is locked".

``PORTAL_STRESS_PROCESSES`` processes (default 8, started with *spawn* like separate app
servers) each make ``PORTAL_STRESS_OPS`` (default 300) mixed writes against one database (a
SQLite file, or one PostgreSQL database: the module runs on both backends, issue 15.5):
challenge edits, submissions and reopenings, new challenges, team profile edits, preferences and
SME feedback, plus edits of one challenge and one team that every process fights over. Each
operation writes a unique marker and is logged by its process (own file) with what the service
answered. Afterwards:

* no operation failed with an error (in particular no "database is locked"); refusals of a stale
  edit (:class:`~matching.errors.StaleRecord`) are the correct answer and counted separately;
* every record's version numbers were handed out exactly once, each to one reported success,
  and the record holds the content of the success with the highest version;
* every reported success left exactly one audit event, and no refusal left any;
* every new challenge reported as saved exists exactly once; preferences are never a mixture
  of two saves.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import signal
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends

N_PROCESSES = int(os.environ.get("PORTAL_STRESS_PROCESSES", 8))
N_OPS = int(os.environ.get("PORTAL_STRESS_OPS", 300))
N_APPROVED = 6
ENTRIES_PER_EXPERT = 12
PROBLEM = "Applicants abandon the online form; we want to understand where the service fails them."

#: operation -> weight in the mix
MIX = {"own_challenge": 5, "shared_challenge": 3, "new_challenge": 1, "own_team": 3, "shared_team": 2,
       "preferences": 3, "feedback": 3}


# --- Set-up (parent) -----------------------------------------------------------------------

def _build(path: str) -> dict:
    from matching import accounts, challenges
    from matching import db as storage
    db = storage.connect(path)
    now, system = storage.now_iso(), accounts.SYSTEM
    ids: dict = {"processes": []}
    with storage.transaction(db):
        dept = storage.insert(db, "departments", {"acronym": "ESDC", "name_en": "ESDC", "name_fr": "EDSC"})
        past = storage.insert(db, "terms", {"name": "Fall 2026", "state": "active", "created_at": now})
        intake = storage.insert(db, "terms", {"name": "Winter 2027", "state": "intake", "created_at": now})
        round_id = storage.insert(db, "feedback_rounds", {"term_id": past, "name": "Midterm", "due_on": "2027-03-01"})

        def user(email, role, **links):
            return storage.insert(db, "users", {"email": email, "name": email.split("@")[0], "role": role,
                                                "password_hash": "unused", "created_at": now, **links})

        shared_team = storage.insert(db, "teams", {"name": "Shared team", "term_id": intake, "updated_at": now})
        for p in range(N_PROCESSES):
            team = storage.insert(db, "teams", {"name": f"Team {p}", "term_id": intake, "updated_at": now})
            expert = user(f"sme{p}@esdc.gc.ca", "expert", department_id=dept)
            entries = []
            for k in range(ENTRIES_PER_EXPERT):
                challenge = storage.insert(db, "challenges", {
                    "term_id": past, "department_id": dept, "title": f"Past {p}.{k}", "status": "archived",
                    "sme_email": f"sme{p}@esdc.gc.ca", "created_at": now, "updated_at": now})
                pairing = storage.insert(db, "pairings", {"term_id": past, "team_id": team, "challenge_id": challenge,
                                                          "state": "active", "created_at": now, "updated_at": now})
                entries.append(storage.insert(db, "feedback_entries", {"round_id": round_id, "pairing_id": pairing,
                                                                       "expert_id": expert}))
            ids["processes"].append({
                "rep": user(f"rep{p}@esdc.gc.ca", "department_rep", department_id=dept),
                "student": user(f"student{p}@sheridancollege.ca", "student", team_id=team),
                "facilitator": user(f"fac{p}@pco.gc.ca", "facilitator"),
                "expert": expert, "team": team, "entries": entries})
    full = {"title": "Stress", "problem": PROBLEM, "outcomes": "A prototype.", "themes": ["service design"],
            "sme_name": "Sam", "sme_email": "sam@esdc.gc.ca", "unclassified": True, "capacity": 1}
    approved = []
    for _ in range(N_APPROVED):
        draft = challenges.save_draft(db, system, full, department_id=dept)
        challenges.submit(db, system, draft.id)
        approved.append(challenges.approve(db, system, draft.id, confirm_unclassified=True).id)
    ids["approved"] = approved
    ids["shared_challenge"] = challenges.save_draft(db, system, full, department_id=dept).id
    ids["shared_team"] = shared_team
    for proc in ids["processes"]:
        proc["own_challenge"] = challenges.save_draft(db, system, full, department_id=dept).id
    db.close()
    return ids


# --- Worker (child process) ----------------------------------------------------------------

class _Worker:
    def __init__(self, path: str, number: int, ids: dict):
        from matching import accounts
        from matching import db as storage
        self.db = storage.connect(path)
        self.number, self.ids, self.me = number, ids, ids["processes"][number]
        self.users = {role: accounts.get_user(self.db, self.me[role])
                      for role in ("rep", "student", "facilitator", "expert")}
        self.rng = random.Random(number)
        self.own_version, self.own_state = 1, "draft"
        self.team_version = 1
        self.entries = list(self.me["entries"])

    def own_challenge(self, marker: str) -> dict:
        from matching import challenges
        rep, cid = self.users["rep"], self.me["own_challenge"]
        if self.own_state == "submitted":
            result = challenges.reopen(self.db, rep, cid, reason=marker)
            move, content = "reopen", None
        elif self.rng.random() < 0.25:
            result = challenges.submit(self.db, rep, cid, {"title": marker}, expected_version=self.own_version)
            move, content = "submit", marker
        else:
            result = challenges.save_draft(self.db, rep, {"title": marker, "outcomes": f"outcome {marker}"},
                                           challenge_id=cid, expected_version=self.own_version)
            move, content = "save", marker
        self.own_version, self.own_state = result.version, result.status
        return {"target": f"challenge:{cid}", "version": result.version, "move": move, "content": content}

    def shared_challenge(self, marker: str) -> dict:
        from matching import challenges
        rep, cid = self.users["rep"], self.ids["shared_challenge"]
        loaded = challenges.get_challenge(self.db, rep, cid)  # what the person's form shows
        result = challenges.save_draft(self.db, rep, {"title": marker}, challenge_id=cid,
                                       expected_version=loaded.version)
        return {"target": f"challenge:{cid}", "version": result.version, "move": "save", "content": marker}

    def new_challenge(self, marker: str) -> dict:
        from matching import challenges
        created = challenges.save_draft(self.db, self.users["rep"], {"title": marker})
        return {"target": f"challenge:{created.id}", "created": created.id, "content": marker}

    def _team_data(self, marker: str) -> dict:
        return {"name": f"Team {self.number}", "program": "Interaction Design", "skills": ["research", marker],
                "interests": ["services"], "past_work": f"Profile {marker}",
                "members": [{"name": f"Member {marker} {i}", "email": f"m{i}.{marker}@sheridancollege.ca"}
                            for i in range(self.rng.randint(1, 4))]}

    def own_team(self, marker: str) -> dict:
        from matching import teams
        team = teams.save_team(self.db, self.users["student"], self.me["team"], self._team_data(marker),
                               expected_version=self.team_version)
        self.team_version = team.version
        return {"target": f"team:{team.id}", "version": team.version, "content": marker,
                "members": len(team.members)}

    def shared_team(self, marker: str) -> dict:
        from matching import teams
        fac, tid = self.users["facilitator"], self.ids["shared_team"]
        loaded = teams.get_team(self.db, fac, tid)
        team = teams.save_team(self.db, fac, tid, {**self._team_data(marker), "name": "Shared team"},
                               expected_version=loaded.version)
        return {"target": f"team:{tid}", "version": team.version, "content": marker, "members": len(team.members)}

    def preferences(self, marker: str) -> dict:
        from matching import teams
        chosen = self.rng.sample(self.ids["approved"], self.rng.randint(1, 5))
        saved = teams.save_preferences(self.db, self.users["student"], self.me["team"],
                                       [{"challenge_id": c, "reason": f"{marker} #{i}"} for i, c in enumerate(chosen)])
        return {"target": f"preferences:{self.me['team']}", "content": marker, "count": len(saved)}

    def feedback(self, marker: str) -> dict:
        from matching import feedback
        from matching.models import RUBRIC
        if not self.entries:
            return self.own_team(marker)
        entry = self.entries[0]
        scores = {c: self.rng.randint(1, 5) for c in RUBRIC}
        if self.rng.random() < 0.15:
            feedback.submit(self.db, self.users["expert"], entry, scores, f"Submitted {marker}")
            self.entries.pop(0)
            move = "submit"
        else:
            feedback.save_draft(self.db, self.users["expert"], entry, scores, f"Draft {marker}")
            move = "save"
        return {"target": f"feedback:{entry}", "move": move, "content": marker}

    def run(self, n_ops: int, log_path: str) -> None:
        from matching.errors import StaleRecord
        kinds, weights = zip(*MIX.items())
        with open(log_path, "w", encoding="utf-8") as log:
            for i in range(n_ops):
                kind = self.rng.choices(kinds, weights)[0]
                marker = f"p{self.number}o{i}"
                entry = {"i": i, "kind": kind, "marker": marker}
                started = time.perf_counter()
                try:
                    entry.update(getattr(self, kind)(marker), outcome="ok")
                except StaleRecord as err:
                    entry.update(outcome="stale", current_version=err.current.get("version"))
                except Exception as err:  # noqa: BLE001 - every failure is logged and fails the test
                    entry.update(outcome="error", error=f"{type(err).__name__}: {err}")
                entry["seconds"] = round(time.perf_counter() - started, 4)
                log.write(json.dumps(entry) + "\n")
                log.flush()


def _work(path: str, number: int, ids: dict, n_ops: int, log_path: str, start_at: float) -> None:
    worker = _Worker(path, number, ids)
    time.sleep(max(0.0, start_at - time.time()))  # start together, after every import is done
    worker.run(n_ops, log_path)


@pytest.fixture
def plain_main(monkeypatch):
    """New processes must not re-run ``__main__``: after an AppTest it is app.py (it seeds data)."""
    import sys
    import types
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


# --- The test ------------------------------------------------------------------------------

def _read_logs(folder: Path) -> list[dict]:
    entries = []
    for p in range(N_PROCESSES):
        for line in (folder / f"process-{p}.jsonl").read_text(encoding="utf-8").splitlines():
            entries.append({**json.loads(line), "process": p})
    return entries


@pytest.mark.stress
def test_concurrent_writers_lose_nothing_and_never_see_a_lock(db_target, tmp_path, plain_main):
    from matching import db as storage
    path = db_target  # a SQLite file or a PostgreSQL URI: every worker connects to it
    ids = _build(path)
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 4.0
    workers = [context.Process(target=_work, args=(str(path), p, ids, N_OPS, str(tmp_path / f"process-{p}.jsonl"),
                                                   start_at)) for p in range(N_PROCESSES)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(240)
    assert [w.exitcode for w in workers] == [0] * N_PROCESSES
    elapsed = time.time() - start_at

    log = _read_logs(tmp_path)
    outcomes = Counter(e["outcome"] for e in log)
    errors = [e for e in log if e["outcome"] == "error"]
    assert not [e for e in errors if "locked" in e["error"] or "busy" in e["error"]], errors[:5]
    assert not errors, errors[:5]
    assert len(log) == N_PROCESSES * N_OPS
    ok = [e for e in log if e["outcome"] == "ok"]

    db = storage.connect(path)
    found = _check_versions(db, ok) + _check_new_challenges(db, ok) + _check_preferences(db, ok, ids) \
        + _check_feedback(db, ok)
    _check_audit(db, ok, ids)
    if storage.dialect(db) == "sqlite":
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()

    slowest = max(e["seconds"] for e in log)
    print(f"\nstress: {N_PROCESSES} processes x {N_OPS} writes = {len(log)} attempted in {elapsed:.1f} s; "
          f"reported saved {outcomes['ok']}, refused as stale {outcomes['stale']}, errors {outcomes['error']}; "
          f"saved writes found {found}/{outcomes['ok']}; slowest write {slowest:.2f} s; "
          f"by kind {dict(Counter(e['kind'] for e in ok))}")
    assert found == outcomes["ok"]
    if N_PROCESSES > 1 and N_OPS >= 100:
        assert outcomes["stale"] > 0  # the shared records really were fought over


def _check_versions(db, ok: list[dict]) -> int:
    """Each version of a record was handed to exactly one success; the newest success is stored."""
    by_target: dict[str, list[dict]] = defaultdict(list)
    for e in ok:
        if "version" in e:
            by_target[e["target"]].append(e)
    found = 0
    for target, writes in by_target.items():
        kind, record_id = target.split(":")
        table = "challenges" if kind == "challenge" else "teams"
        row = db.execute(f"SELECT * FROM {table} WHERE id = ?", [int(record_id)]).fetchone()
        columns = [c[0] for c in db.execute(f"SELECT * FROM {table} LIMIT 0").description]
        row = dict(zip(columns, row))
        versions = sorted(e["version"] for e in writes)
        assert versions == list(range(2, row["version"] + 1)), f"{target}: versions {versions[:10]}..."
        newest_content = max((e for e in writes if e.get("content")), key=lambda e: e["version"])
        if table == "challenges":
            assert row["title"] == newest_content["content"], target
        else:
            assert row["past_work"] == f"Profile {newest_content['content']}", target
            members = db.execute("SELECT name FROM members WHERE team_id = ?", [int(record_id)]).fetchall()
            assert len(members) == newest_content["members"]
            assert all(name.startswith(f"Member {newest_content['content']} ") for (name,) in members)
        found += len(writes)
    return found


def _check_new_challenges(db, ok: list[dict]) -> int:
    created = [e for e in ok if e["kind"] == "new_challenge"]
    for e in created:
        rows = db.execute("SELECT id FROM challenges WHERE title = ?", [e["content"]]).fetchall()
        assert rows == [(e["created"],)], e
    titles = [title for (title,) in db.execute("SELECT title FROM challenges WHERE created_by IS NOT NULL "
                                               "AND version = 1")]
    total = sum(1 for title in titles if re.fullmatch(r"p\d+o\d+", title or ""))
    assert total == len(created)  # and no row that nobody was told about
    return len(created)


def _check_preferences(db, ok: list[dict], ids: dict) -> int:
    """A team's list is the last reported save, whole: never a mixture of two saves."""
    saves = [e for e in ok if e["kind"] == "preferences"]
    for p, proc in enumerate(ids["processes"]):
        mine = [e for e in saves if e["process"] == p]
        reasons = [r for (r,) in db.execute("SELECT reason FROM preferences WHERE team_id = ? ORDER BY rank",
                                            [proc["team"]])]
        if not mine:
            assert reasons == []
            continue
        last = max(mine, key=lambda e: e["i"])  # one process per team: its log order is the commit order
        assert reasons == [f"{last['content']} #{i}" for i in range(last["count"])]
    return len(saves)


def _check_feedback(db, ok: list[dict]) -> int:
    writes = [e for e in ok if e["kind"] == "feedback" and e["target"].startswith("feedback:")]
    last: dict[str, dict] = {}
    for e in sorted(writes, key=lambda e: e["i"]):
        last[e["target"]] = e
    for target, e in last.items():
        state, comments = db.execute("SELECT state, comments FROM feedback_entries WHERE id = ?",
                                     [int(target.split(":")[1])]).fetchone()
        prefix = "Submitted" if e["move"] == "submit" else "Draft"
        assert (state, comments) == ("submitted" if e["move"] == "submit" else "open", f"{prefix} {e['content']}")
    return len(writes)


def _check_audit(db, ok: list[dict], ids: dict) -> None:
    """Exactly one audit event per reported success, none for a refusal, by the right person."""
    process_of = {}
    for p, proc in enumerate(ids["processes"]):
        for role in ("rep", "student", "facilitator", "expert"):
            process_of[proc[role]] = p
    events = Counter(process_of.get(actor) for (actor,) in db.execute("SELECT actor_id FROM audit_events"))
    expected = Counter(e["process"] for e in ok)
    assert {p: events[p] for p in range(N_PROCESSES)} == {p: expected[p] for p in range(N_PROCESSES)}


# --- Two people editing the same record (optimistic concurrency) ---------------------------

def test_second_save_of_a_challenge_is_told_and_sees_both_versions(db, world):
    from matching import accounts, audit, challenges
    from matching.errors import StaleRecord
    colleague = accounts.create_user(db, accounts.SYSTEM, {"email": "rep2@esdc.gc.ca", "name": "Rep Two",
                                                           "role": "department_rep", "department_id": world["esdc"]},
                                     "long-enough-password")
    draft = challenges.save_draft(db, world["rep_esdc"], {"title": "First wording"})
    mine = challenges.get_challenge(db, world["rep_esdc"], draft.id)      # both open the form
    theirs = challenges.get_challenge(db, colleague, draft.id)
    saved = challenges.save_draft(db, colleague, {"title": "Their wording"}, challenge_id=draft.id,
                                  expected_version=theirs.version)
    with pytest.raises(StaleRecord) as info:
        challenges.save_draft(db, world["rep_esdc"], {"title": "My wording"}, challenge_id=draft.id,
                              expected_version=mine.version)
    assert info.value.key == "error.stale_record"
    assert info.value.current["title"] == "Their wording" and info.value.current["version"] == saved.version
    assert challenges.get_challenge(db, world["rep_esdc"], draft.id).title == "Their wording"  # not overwritten
    assert len(audit.events(db, action="challenge.save")) == 1
    # Having seen both, the first person saves again on top of the current version.
    again = challenges.save_draft(db, world["rep_esdc"], {"title": "My wording"}, challenge_id=draft.id,
                                  expected_version=info.value.current["version"])
    assert again.title == "My wording" and again.version == saved.version + 1
    with pytest.raises(StaleRecord):  # submitting from a stale form is refused too
        challenges.submit(db, colleague, draft.id, expected_version=saved.version)


def test_second_save_of_a_team_profile_is_told_and_sees_both_versions(db, world):
    from matching import teams
    from matching.errors import StaleRecord
    profile = {"name": "Access Crew", "members": [{"name": "Ana Lopez", "email": "ana.lopez@sheridancollege.ca"}]}
    student_view = teams.get_team(db, world["student_a"], world["team_a"])
    facilitator_view = teams.get_team(db, world["facilitator"], world["team_a"])
    teams.save_team(db, world["facilitator"], world["team_a"], {**profile, "program": "Facilitator's fix"},
                    expected_version=facilitator_view.version)
    with pytest.raises(StaleRecord) as info:
        teams.save_team(db, world["student_a"], world["team_a"], {**profile, "program": "Student's edit"},
                        expected_version=student_view.version)
    assert info.value.current["program"] == "Facilitator's fix"
    assert info.value.current["members"][0].email == "ana.lopez@sheridancollege.ca"  # the team sees its own
    assert teams.get_team(db, world["student_a"], world["team_a"]).program == "Facilitator's fix"


def test_a_held_write_lock_is_waited_for_not_reported(db, db_target, world):
    """Another connection holds the write lock for a while: the save waits, then succeeds."""
    from matching import challenges
    from matching import db as storage
    held = threading.Event()

    def hold() -> None:  # its own connection, in its own thread (sqlite3's rule)
        blocker = storage.connect(db_target)
        with storage.transaction(blocker):
            held.set()
            time.sleep(1.0)
        blocker.close()
    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(30)
    started = time.perf_counter()
    saved = challenges.save_draft(db, world["rep_esdc"], {"title": "Waited for the lock"})
    holder.join()
    assert saved.title == "Waited for the lock" and time.perf_counter() - started >= 0.9


# --- A writer killed while it holds the write transaction (issue 15.5) ---------------------

HALF = "half-written before the crash"


def _write_and_hang(target: str, ids: dict, ready: str) -> None:
    """Begin the write transaction, write through the services, then hang before the commit."""
    from matching import accounts, challenges, teams
    from matching import db as storage
    db = storage.connect(target)
    rep, student = accounts.get_user(db, ids["rep"]), accounts.get_user(db, ids["student"])
    with storage.transaction(db):
        challenges.save_draft(db, rep, {"title": HALF})
        teams.save_team(db, student, ids["team"], {"name": "Access Crew", "past_work": HALF,
                                                   "members": [{"name": "Ana Lopez",
                                                                "email": "ana.lopez@sheridancollege.ca"}]})
        Path(ready).write_text("holding the write lock", encoding="utf-8")
        time.sleep(600)  # killed here, the transaction open


def test_a_writer_killed_holding_the_write_lock_leaves_nothing_and_the_next_writer_proceeds(
        db, db_target, world, tmp_path, plain_main):
    """SIGKILL a process in the middle of its write transaction (after its writes, before its
    commit): none of its writes remains, and a writer that was waiting for the lock proceeds."""
    from matching import challenges, teams
    from matching import db as storage
    before = {"challenges": db.execute("SELECT COUNT(*) FROM challenges").fetchone()[0],
              "audit": db.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0],
              "team": teams.get_team(db, world["facilitator"], world["team_a"])}
    ready = tmp_path / "ready"
    ids = {"rep": world["rep_esdc"].id, "student": world["student_a"].id, "team": world["team_a"]}
    child = multiprocessing.get_context("spawn").Process(target=_write_and_hang, args=(db_target, ids, str(ready)))
    child.start()
    deadline = time.time() + 60
    while not ready.exists() and child.is_alive() and time.time() < deadline:
        time.sleep(0.05)
    assert ready.exists(), f"the writer never took the lock (exit code {child.exitcode})"

    saved: dict = {}

    def next_writer() -> None:  # another app server's save, waiting for the lock
        other = storage.connect(db_target)
        try:
            saved["challenge"] = challenges.save_draft(other, world["rep_dfo"], {"title": "After the crash"})
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            saved["error"] = err
        finally:
            saved["at"] = time.perf_counter()
            other.close()
    waiting = threading.Thread(target=next_writer)
    waiting.start()
    time.sleep(1.0)
    assert not saved, "the next writer did not wait for the lock the killed one held"
    killed_at = time.perf_counter()
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    waiting.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert "error" not in saved, saved.get("error")
    assert saved["challenge"].title == "After the crash" and saved["at"] - killed_at < 10
    # Nothing of the killed transaction: no challenge, no team change, no audit event.
    assert not db.execute("SELECT id FROM challenges WHERE title = ?", [HALF]).fetchall()
    assert db.execute("SELECT COUNT(*) FROM challenges").fetchone()[0] == before["challenges"] + 1
    assert teams.get_team(db, world["facilitator"], world["team_a"]) == before["team"]
    assert db.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0] == before["audit"] + 1
    assert db.execute("SELECT action, target_id FROM audit_events ORDER BY id DESC LIMIT 1").fetchone() == \
        ("challenge.create", str(saved["challenge"].id))
