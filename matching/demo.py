"""Bundled demo data (``data/*.csv``): real federal departments and provincial and municipal
governments, two programmes with their terms, sample challenges and teams.

:func:`load_demo` writes it all in one transaction (all or nothing). :func:`ensure_ready`
is what the app calls on start: an empty database is filled from it when demo mode is on
(the default; ``PORTAL_DEMO=0`` turns it off).
"""
from __future__ import annotations

import csv
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlite_utils

from . import DATA_DIR, audit
from . import db as storage
from .accounts import SYSTEM, hash_password
from .db import DEFAULT_PROGRAMME_CODE
from .models import as_list
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
        counts = {"programmes": len(programmes), "terms": len(term_ids),
                  "departments": len(departments), "teams": len(team_ids), "members": len(members),
                  "users": len(users), "challenges": len(challenges), "offers": len(offers), "pairings": len(demo_pairings),
                  "preferences": len(preferences)}
        audit.record(db, SYSTEM, "demo.load", detail=counts)
    return counts
