"""Bundled demo data (``data/*.csv``): real federal departments and provincial and municipal
governments, two programmes with their terms, sample challenges and teams.

:func:`load_demo` writes it all in one transaction (all or nothing). :func:`ensure_ready`
is what the app calls on start: an empty database is filled from it when demo mode is on
(the default; ``PORTAL_DEMO=0`` turns it off).
"""
from __future__ import annotations

import csv
import os
from datetime import date, datetime, time, timedelta, timezone
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlite_utils

from . import DATA_DIR, audit
from . import db as storage
from .accounts import SYSTEM, hash_password
from .db import DEFAULT_PROGRAMME_CODE
from .lifecycle import (CHALLENGE_VISIBLE_STATES, FEEDBACK_GIVEN_STATES, OUTCOME_CHECKPOINTS, PAIRING_COMPLETED_STATES,
                        outcome_due_on)
from .models import RUBRIC, as_list
from .organisations import DEFAULT_KIND

#: Every demo account signs in with this password (demo mode only; shown on the sign-in page).
DEMO_PASSWORD = "demo-portal-2027"


def demo_mode() -> bool:
    return os.environ.get("PORTAL_DEMO", "1").strip().lower() not in ("0", "false", "no", "off")


def read_csv(name: str, folder: Path = DATA_DIR) -> list[dict[str, str]]:
    with open(folder / name, newline="", encoding="utf-8-sig") as f:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]


def is_empty(db: sqlite_utils.Database) -> bool:
    return db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0


def ensure_ready(db: sqlite_utils.Database) -> bool:
    """Seed an empty database with the demo data in demo mode; True when it seeded."""
    if demo_mode() and is_empty(db):
        load_demo(db)
        return True
    return False


def load_demo(db: sqlite_utils.Database, folder: Path = DATA_DIR) -> dict[str, int]:
    """Write the demo data set; skip it when its departments are already present."""
    departments = read_csv("departments.csv", folder)
    if db.execute("SELECT COUNT(*) FROM departments WHERE acronym = ?",
                  [departments[0]["acronym"]]).fetchone()[0]:
        return {}
    users = read_csv("users.csv", folder)
    # scrypt is deliberately slow; hash the accounts in parallel before taking the write lock.
    with ThreadPoolExecutor(max_workers=4) as pool:
        hashes = list(pool.map(lambda _: hash_password(DEMO_PASSWORD), users))
    now = storage.now_iso()
    counts: dict[str, int] = {}
    programmes = read_csv("programmes.csv", folder) if (folder / "programmes.csv").exists() else []
    with storage.transaction(db):
        programme_ids = {row["code"]: row["id"] for row in db.query("SELECT id, code FROM programmes")}
        for p in programmes:
            if p["code"] not in programme_ids:
                programme_ids[p["code"]] = storage.insert(db, "programmes", {**p, "created_at": now})
        dept_ids = {d["acronym"]: storage.insert(db, "departments", {
            "acronym": d["acronym"], "acronym_fr": d.get("acronym_fr") or d["acronym"], "name_en": d["name_en"],
            "name_fr": d["name_fr"], "kind": d.get("kind") or DEFAULT_KIND}) for d in departments}
        # Each term names its programme (the default one when blank); teams and challenges name
        # their term (blank: the default programme's first term in terms.csv).
        history_terms = _load_history_terms(db, folder, programme_ids)  # earlier, closed: ids before the current
        term_ids: dict[str, int] = {}
        first_term = None
        for term in read_csv("terms.csv", folder):
            code = term.pop("programme", "") or DEFAULT_PROGRAMME_CODE
            term_ids[term["name"]] = storage.insert(db, "terms", {**term, "programme_id": programme_ids[code],
                                                                  "created_at": now})
            if code == DEFAULT_PROGRAMME_CODE and first_term is None:
                first_term = term_ids[term["name"]]
        team_ids = {}
        for t in read_csv("teams.csv", folder):
            team_ids[t["name"]] = storage.insert(db, "teams", {
                "term_id": term_ids[t["term"]] if t.get("term") else first_term,
                "name": t["name"], "program": t["program"],
                "year": int(t["year"]) if t["year"] else None, "skills": as_list(t["skills"]),
                "interests": as_list(t["interests"]), "past_work": t["past_work"],
                "language": t["language"] or "en", "updated_at": now})
        members = read_csv("members.csv", folder)
        for m in members:
            storage.insert(db, "members", {"team_id": team_ids[m["team_name"]], "name": m["name"],
                                           "email": m["email"].lower(), "program_year": m["program_year"]})
        user_ids = {}
        for u, password_hash in zip(users, hashes):
            user_ids[u["email"].lower()] = storage.insert(db, "users", {
                "email": u["email"].lower(), "name": u["name"], "role": u["role"],
                "department_id": dept_ids.get(u["department_acronym"]),
                "team_id": team_ids.get(u["team_name"]), "password_hash": password_hash,
                "language": u["language"] or "en", "created_at": now,
                "demo": 1})  # the only accounts the sign-in page may list (accounts.first_account_per_role)
            for code in as_list(u.get("programmes")):  # a facilitator limited to some programmes
                storage.insert(db, "facilitator_programmes", {"user_id": user_ids[u["email"].lower()],
                                                              "programme_id": programme_ids[code]})
        challenges = read_csv("challenges.csv", folder)
        for c in challenges:
            dept_id = dept_ids[c["dept_acronym"]]
            rep = storage.one(db, "SELECT id FROM users WHERE role = 'department_rep' AND department_id = ?",
                              [dept_id])
            storage.insert(db, "challenges", {
                "term_id": term_ids[c["term"]] if c.get("term") else first_term,
                "department_id": dept_id, "title": c["title"],
                "problem": c["problem"], "outcomes": c["outcomes"], "themes": as_list(c["themes"]),
                "language": c["language"], "capacity": int(c["capacity"]), "sme_name": c["sme_name"],
                "sme_email": c["sme_email"].lower(), "unclassified": c["status"] != "draft",
                "status": c["status"],
                "comments": ("Please narrow the scope to one service channel and name the SME."
                             if c["status"] == "returned" else ""),
                "created_by": rep["id"] if rep else None, "created_at": now, "updated_at": now,
                "submitted_at": now if c["status"] != "draft" else None})
        challenge_ids = {row["title"]: row["id"] for row in db.query("SELECT id, title FROM challenges")}
        # Challenges offered to another programme (issue 17.1): a linked copy in that programme's term.
        offers = read_csv("offers.csv", folder) if (folder / "offers.csv").exists() else []
        for o in offers:
            home = storage.one(db, "SELECT * FROM challenges WHERE id = ?", [challenge_ids[o["challenge_title"]]])
            storage.insert(db, "challenges", {
                **{k: home[k] for k in ("department_id", "title", "problem", "outcomes", "themes", "language",
                                        "capacity", "sme_name", "sme_email", "unclassified", "created_by")},
                "term_id": term_ids[o["term"]], "offered_from": home["id"], "status": o["status"],
                "created_at": now, "updated_at": now, "submitted_at": now})
        # Published pairings of a term already under way (the UVic term: active).
        demo_pairings = read_csv("pairings.csv", folder) if (folder / "pairings.csv").exists() else []
        for p in demo_pairings:
            storage.insert(db, "pairings", {
                "term_id": term_ids[p["term"]], "team_id": team_ids[p["team_name"]],
                "challenge_id": challenge_ids[p["challenge_title"]], "state": p["state"],
                "preference_rank": int(p["preference_rank"]) if p["preference_rank"] else None,
                "source": "optimiser", "created_at": now, "updated_at": now})
        preferences = read_csv("preferences.csv", folder) if (folder / "preferences.csv").exists() else []
        for p in preferences:
            storage.insert(db, "preferences", {"team_id": team_ids[p["team_name"]], "rank": int(p["rank"]),
                                               "challenge_id": challenge_ids[p["challenge_title"]],
                                               "reason": p["reason"]})
        history = _load_history(db, folder, history_terms, dept_ids)
        counts = {"programmes": len(programmes), "terms": len(term_ids) + history.pop("terms", 0), **history,
                  "departments": len(departments), "teams": len(team_ids), "members": len(members),
                  "users": len(users), "challenges": len(challenges), "offers": len(offers), "pairings": len(demo_pairings),
                  "preferences": len(preferences)}
        audit.record(db, SYSTEM, "demo.load", detail=counts)
    return counts


# --- Earlier, closed terms and what their challenges led to (issue 17) ----------------------

def _at(day: str, days: int = 0, hour: int = 15) -> str:
    """A stored timestamp ``days`` after the ISO date ``day`` (UTC, at ``hour``)."""
    moment = datetime.combine(date.fromisoformat(day[:10]) + timedelta(days=days), time(hour), timezone.utc)
    return moment.isoformat()


def _scores(text: str) -> dict[str, int]:
    return dict(zip(RUBRIC, (int(v) for v in text.split(";"))))


def _load_history_terms(db, folder: Path, programme_ids: dict[str, int]) -> tuple[dict, dict]:
    """The closed terms of ``history_terms.csv`` and their feedback rounds: ``(terms, rounds)`` by
    term name (empty when the file is absent)."""
    terms: dict[str, dict] = {}
    rounds: dict[str, list[tuple[int, str]]] = {}
    if not (folder / "history_terms.csv").exists():
        return terms, rounds
    for row in read_csv("history_terms.csv", folder):
        rounds_text = row.pop("rounds")
        code = row.pop("programme")
        term_id = storage.insert(db, "terms", {**row, "programme_id": programme_ids[code],
                                               "created_at": _at(row["starts_on"], -120)})
        terms[row["name"]] = {**row, "id": term_id}
        rounds[row["name"]] = []
        for item in as_list(rounds_text):
            name, due_on = item.split(":")
            rounds[row["name"]].append((storage.insert(db, "feedback_rounds", {
                "term_id": term_id, "name": name, "due_on": due_on}), due_on))
    return terms, rounds


def _load_history(db, folder: Path, history_terms: tuple[dict, dict], dept_ids: dict[str, int]) -> dict[str, int]:
    """Closed terms (``history_*.csv``): their teams, approved challenges, completed pairings,
    feedback rounds given on time or late, final summaries, final assessments and the outcome
    reports given at 3 and 6 months (a blank status: not reported, so overdue or due today).
    Inside :func:`load_demo`'s transaction; nothing when the files are absent."""
    terms, rounds = history_terms
    if not terms:
        return {}
    experts = {r["email"].casefold(): r["id"] for r in db.query("SELECT id, email FROM users WHERE role = 'expert'")}
    teams = {}
    for t in read_csv("history_teams.csv", folder):
        teams[(t["term"], t["name"])] = storage.insert(db, "teams", {
            "term_id": terms[t["term"]]["id"], "name": t["name"], "program": t["program"],
            "year": int(t["year"]) if t["year"] else None, "skills": as_list(t["skills"]),
            "interests": as_list(t["interests"]), "past_work": t["past_work"], "language": t["language"] or "en",
            "updated_at": _at(terms[t["term"]]["starts_on"], 7)})
    challenges = {}
    for c in read_csv("history_challenges.csv", folder):
        dept_id = dept_ids[c["dept_acronym"]]
        rep = storage.one(db, "SELECT id FROM users WHERE role = 'department_rep' AND department_id = ?", [dept_id])
        challenges[c["title"]] = storage.insert(db, "challenges", {
            "term_id": terms[c["term"]]["id"], "department_id": dept_id, "title": c["title"], "problem": c["problem"],
            "outcomes": c["outcomes"], "themes": as_list(c["themes"]), "language": c["language"], "capacity": 1,
            "sme_name": c["sme_name"], "sme_email": c["sme_email"].lower(), "unclassified": 1,
            "status": CHALLENGE_VISIBLE_STATES[0], "created_by": rep["id"] if rep else None,
            "created_at": _at(c["submitted_at"], -3), "updated_at": c["approved_at"],
            "submitted_at": c["submitted_at"], "approved_at": c["approved_at"]})
    pairings = read_csv("history_pairings.csv", folder)
    by_title = {c["title"]: c for c in read_csv("history_challenges.csv", folder)}
    completed = PAIRING_COMPLETED_STATES[0]
    reports = 0
    for p in pairings:
        challenge = by_title[p["challenge_title"]]
        term = terms[challenge["term"]]
        expert_id = experts.get(challenge["sme_email"].casefold())
        pairing_id = storage.insert(db, "pairings", {
            "term_id": term["id"], "team_id": teams[(challenge["term"], p["team"])],
            "challenge_id": challenges[p["challenge_title"]], "state": completed, "score": float(p["score"]),
            "preference_rank": int(p["preference_rank"]) if p["preference_rank"] else None,
            "created_at": _at(term["starts_on"], -10), "updated_at": _at(term["closed_on"])})
        for (round_id, due_on), name in zip(rounds[challenge["term"]], ("discovery", "prototype")):
            late = p["late_round"].casefold() == name
            storage.insert(db, "feedback_entries", {
                "round_id": round_id, "pairing_id": pairing_id, "expert_id": expert_id,
                "state": FEEDBACK_GIVEN_STATES[0], "scores": _scores(p[f"{name}_scores"]),
                "comments": p[f"{name}_comment"], "submitted_at": _at(due_on, 4 if late else -2)})
        storage.insert(db, "final_summaries", {
            "pairing_id": pairing_id, "learned": p["learned"], "made": p["made"], "recommendations": p["recommendations"],
            "links": as_list(p["links"]), "show_names": p["show_names"] == "1", "submitted_by": None,
            "submitted_at": _at(term["closed_on"], 5), "updated_at": _at(term["closed_on"], 5)})
        storage.insert(db, "final_assessments", {
            "pairing_id": pairing_id, "expert_id": expert_id, "scores": _scores(p["final_scores"]),
            "comments": p["final_comment"], "submitted_at": _at(term["closed_on"], 9),
            "updated_at": _at(term["closed_on"], 9)})
        rep = storage.one(db, "SELECT id FROM users WHERE role = 'department_rep' AND department_id = ?",
                          [dept_ids[challenge["dept_acronym"]]])
        for checkpoint in OUTCOME_CHECKPOINTS:
            status = p[f"report_{checkpoint}_status"]
            if status:
                at = _at(outcome_due_on(term["ends_on"], checkpoint).isoformat(), 6)
                storage.insert(db, "outcome_reports", {
                    "pairing_id": pairing_id, "checkpoint": checkpoint, "status": status,
                    "note": p[f"report_{checkpoint}_note"], "reported_by": rep["id"] if rep else None,
                    "reported_at": at, "updated_at": at})
                reports += 1
    return {"terms": len(terms), "history_teams": len(teams), "history_challenges": len(challenges),
            "history_pairings": len(pairings), "outcome_reports": reports}
