"""Cross-language ranking quality on the held-out bilingual set (issue 16, point 6).

Run from the repository root::

    python benchmarks/crosslang.py            # all rankers, 2,000 bootstrap draws, writes README section
    python benchmarks/crosslang.py --smoke    # 8 teams, 200 draws, prints only (CI, ~5 s)
    python benchmarks/crosslang.py --no-write # full run, prints only

Data: ``benchmarks/heldout_bilingual/`` (44 EN/FR challenges, 32 EN/FR teams, graded 0-3
judgements written before the glossary or the code was seen; never used for tuning or to grow
the glossary, see its README). Every team's challenges are ranked with the portal's
``rank_challenges_for_team`` and a ``TextRanker`` fitted on ``challenge_text`` of the 44
challenges (challenge order shuffled once with a fixed seed, so that ties never favour one
language).

Measures (nDCG@10, graded gains ``2**rel - 1``, log2 discount):

- **cross-language**: the judged pairs whose challenge is in the other language than the team;
  the team's *same-language* relevant challenges are left out of its ranking (so they neither
  help nor push the cross-language ones down), every unjudged challenge of both languages stays.
- **same-language**: the converse (cross-language relevant challenges left out).
- **all**: every judged pair, every challenge.

The interval is a percentile bootstrap over teams (2,000 draws, seed 16): teams are resampled
with replacement and the mean recomputed. ``glossary - no glossary`` is the paired difference.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "heldout_bilingual"
README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- crosslang:start -->", "<!-- crosslang:end -->"
sys.path.insert(0, str(ROOT))

from matching import textprep  # noqa: E402
from matching.ranking import TextRanker, challenge_text, rank_challenges_for_team, team_text  # noqa: E402

SEED = 16
K = 10
# The glossary as it was before it was grown for issue 16 (git revision of data/glossary_en_fr.csv).
GLOSSARY_BEFORE_REV = "fe527cc"


def load():
    with open(DATA / "challenges.csv", newline="", encoding="utf-8") as fh:
        challenges = [{"id": r["id"], "language": r["lang"], "title": r["title"], "problem": r["problem"],
                       "themes": [t.strip() for t in r["themes"].split(";") if t.strip()]}
                      for r in csv.DictReader(fh)]
    with open(DATA / "teams.csv", newline="", encoding="utf-8") as fh:
        teams = [{"id": r["id"], "language": r["lang"], "name": r["name"],
                  "skills": [s.strip() for s in r["skills"].split(";") if s.strip()],
                  "interests": r["interests"], "past_work": r["past_work"]}
                 for r in csv.DictReader(fh)]
    judgements: dict[str, dict[str, int]] = {}
    with open(DATA / "judgements.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            judgements.setdefault(r["team_id"], {})[r["challenge_id"]] = int(r["relevance"])
    order = np.random.default_rng(SEED).permutation(len(challenges))
    return [challenges[i] for i in order], teams, judgements


def ndcg_at_k(ranked_ids: list[str], gains: dict[str, int], k: int = K) -> float:
    """nDCG@k with gains 2**rel - 1; ``gains`` holds the relevant ids of this subset only."""
    dcg = sum((2 ** gains.get(c, 0) - 1) / np.log2(i + 2) for i, c in enumerate(ranked_ids[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / np.log2(i + 2) for i, g in enumerate(ideal))
    return float(dcg / idcg) if idcg > 0 else float("nan")


def per_team_scores(ranked: dict[str, list[str]], teams, challenges, judgements):
    """{subset: array over teams} of nDCG@10 for the cross, same and all subsets."""
    lang = {c["id"]: c["language"] for c in challenges}
    out = {"cross": [], "same": [], "all": []}
    for t in teams:
        rel = judgements.get(t["id"], {})
        cross = {c: g for c, g in rel.items() if lang[c] != t["language"]}
        same = {c: g for c, g in rel.items() if lang[c] == t["language"]}
        r = ranked[t["id"]]
        out["cross"].append(ndcg_at_k([c for c in r if c not in same], cross))
        out["same"].append(ndcg_at_k([c for c in r if c not in cross], same))
        out["all"].append(ndcg_at_k(r, rel))
    return {k: np.array(v) for k, v in out.items()}


def rank_portal(ranker: TextRanker, teams, challenges) -> dict[str, list[str]]:
    ranker.fit([challenge_text(c) for c in challenges])
    return {t["id"]: [challenges[m.index]["id"]
                      for m in rank_challenges_for_team(t, challenges, ranker=ranker)]
            for t in teams}


def rank_sklearn(teams, challenges) -> dict[str, list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    v = TfidfVectorizer()
    d = v.fit_transform([challenge_text(c) for c in challenges])
    s = (v.transform([team_text(t) for t in teams]) @ d.T).toarray()
    return {t["id"]: [challenges[j]["id"] for j in np.argsort(-s[i], kind="stable")]
            for i, t in enumerate(teams)}


def random_scores(teams, challenges, judgements, draws: int) -> dict[str, np.ndarray]:
    """Expected nDCG@10 of a random order, per team (mean over ``draws`` seeded permutations)."""
    rng = np.random.default_rng(SEED)
    ids = [c["id"] for c in challenges]
    acc = None
    for _ in range(draws):
        ranked = {t["id"]: [ids[i] for i in rng.permutation(len(ids))] for t in teams}
        s = per_team_scores(ranked, teams, challenges, judgements)
        acc = s if acc is None else {k: acc[k] + s[k] for k in s}
    return {k: v / draws for k, v in acc.items()}


def bootstrap(values: np.ndarray, draws: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(SEED)
    n = len(values)
    means = values[rng.integers(0, n, size=(draws, n))].mean(axis=1)
    return float(values.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


@contextlib.contextmanager
def glossary_file(path: Path):
    """Make the portal read another glossary file (language marks and term table), then restore."""
    old = textprep.GLOSSARY_PATH

    def clear():
        for fn in (textprep.load_glossary, textprep._glossary_starts, textprep._glossary_marks):
            fn.cache_clear()
    textprep.GLOSSARY_PATH = path
    clear()
    try:
        yield
    finally:
        textprep.GLOSSARY_PATH = old
        clear()


def glossary_at(rev: str) -> Path | None:
    """The glossary file as it was at git revision ``rev`` (None when git or the revision is missing)."""
    try:
        text = subprocess.run(["git", "show", f"{rev}:data/glossary_en_fr.csv"], cwd=ROOT,
                              capture_output=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    tmp = Path(tempfile.mkdtemp()) / "glossary_before.csv"
    tmp.write_bytes(text)
    return tmp


def without_heldout_phrases(before: Path) -> tuple[Path, int, int]:
    """Sensitivity only (never tuning): the current glossary minus the rows added since ``before``
    whose French phrase occurs (accent-folded, whole words) in the held-out texts."""
    def words(text: str) -> str:
        return " " + " ".join(textprep.fold(t) for t in textprep.tokenize(text)) + " "
    held = ""
    for name in ("challenges.csv", "teams.csv"):
        with open(DATA / name, newline="", encoding="utf-8") as fh:
            held += " ".join(" ".join(r.values()) for r in csv.DictReader(fh)) + " "
    held = words(held)
    with open(before, newline="", encoding="utf-8") as fh:
        n_before = sum(1 for _ in csv.DictReader(fh))
    with open(textprep.GLOSSARY_PATH, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    grown = rows[n_before:]
    keep = rows[:n_before] + [r for r in grown if words(r["fr"]) not in held]
    out = before.parent / "glossary_without_heldout_phrases.csv"
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, ["en", "fr"], extrasaction="ignore")
        w.writeheader()
        w.writerows(keep)
    return out, len(grown), len(grown) - (len(keep) - n_before)


def fmt(m: tuple[float, float, float]) -> str:
    return f"{m[0]:.3f} [{m[1]:.3f}, {m[2]:.3f}]"


SECTION = """## Cross-language ranking — `crosslang.py`

    python benchmarks/crosslang.py             # full run, rewrites this section (~20 s)
    python benchmarks/crosslang.py --smoke     # 8 teams, prints only (CI)
    python benchmarks/crosslang.py --no-write  # full run, prints only

Data: `benchmarks/heldout_bilingual/` — 44 challenges (22 EN, 22 FR) and 32 team profiles
(16 EN, 16 FR) with graded judgements (0–3), written by a helper session **before** it saw the
glossary or the code (see its README and the git history); never used for tuning or to grow
the glossary. Every team's challenges are ranked by the portal (`rank_challenges_for_team`,
`TextRanker` fitted on `challenge_text`). nDCG@10 with gains 2^rel − 1. *Cross-language*: judged
pairs whose challenge is in the other language, the team's same-language relevant challenges
left out of its ranking (all unjudged challenges of both languages stay); *same-language*: the
converse; *all*: everything. "Glossary before growth" is `data/glossary_en_fr.csv` at the
revision before issue 16 grew it (sources of the new rows: `data/GLOSSARY.md`). The
sensitivity row drops the grown rows whose French phrase occurs in the held-out texts (the
same session wrote both, on the same public-service domains, so overlap cannot be avoided):
it shows how much of the gain depends on those rows. Generated by the script:
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="8 teams, 200 bootstrap draws, no README (CI)")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/README.md")
    args = ap.parse_args(argv)

    challenges, teams, judgements = load()
    draws = 200 if args.smoke else 2000
    if args.smoke:  # 4 English and 4 French teams
        teams = [t for t in teams if t["language"] == "en"][:4] + [t for t in teams if t["language"] == "fr"][:4]
    n_glossary = len(textprep.load_glossary())

    results: list[tuple[str, dict[str, np.ndarray]]] = []
    with_gl = per_team_scores(rank_portal(TextRanker(), teams, challenges), teams, challenges, judgements)
    results.append((f"portal `TextRanker()`, glossary ({n_glossary} entries, current)", with_gl))
    before = None if args.smoke else glossary_at(GLOSSARY_BEFORE_REV)
    if before is not None:
        with glossary_file(before):
            n_before = len(textprep.load_glossary())
            s = per_team_scores(rank_portal(TextRanker(), teams, challenges), teams, challenges, judgements)
        results.append((f"portal, glossary before growth ({n_before} entries, `{GLOSSARY_BEFORE_REV}`)", s))
    sens = None
    if before is not None:
        path, n_grown, n_dropped = without_heldout_phrases(before)
        with glossary_file(path):
            sens = per_team_scores(rank_portal(TextRanker(), teams, challenges), teams, challenges, judgements)
        results.append((f"sensitivity: current glossary minus the {n_dropped} of {n_grown} grown rows whose "
                        "French phrase occurs in the held-out texts", sens))
    no_gl = per_team_scores(rank_portal(TextRanker(use_glossary=False), teams, challenges),
                            teams, challenges, judgements)
    results.append(("portal `TextRanker(use_glossary=False)`", no_gl))
    results.append(("scikit-learn `TfidfVectorizer()` defaults",
                    per_team_scores(rank_sklearn(teams, challenges), teams, challenges, judgements)))
    results.append(("random order (expected)", random_scores(teams, challenges, judgements,
                                                             20 if args.smoke else 500)))

    n_cross = sum(1 for t in teams for c in judgements.get(t["id"], {})
                  if next(x for x in challenges if x["id"] == c)["language"] != t["language"])
    n_pairs = sum(len(judgements.get(t["id"], {})) for t in teams)
    lines = [
        f"{len(teams)} teams x {len(challenges)} challenges, {n_pairs} judged pairs ({n_cross} cross-language); "
        f"nDCG@{K}, mean over teams [95 % bootstrap interval over teams, {draws} draws, seed {SEED}]"
        + (" — **--smoke subset**" if args.smoke else ""),
        "",
        f"| ranker | cross-language nDCG@{K} | same-language nDCG@{K} | all pairs nDCG@{K} |",
        "|---|---|---|---|",
    ]
    for name, s in results:
        lines.append(f"| {name} | {fmt(bootstrap(s['cross'], draws))} | {fmt(bootstrap(s['same'], draws))} "
                     f"| {fmt(bootstrap(s['all'], draws))} |")
    diff_lines = ["", "| paired difference (per team) | cross-language | same-language |", "|---|---|---|"]
    pairs = [("current glossary - no glossary", with_gl, no_gl)]
    if before is not None:
        pairs.append(("current glossary - glossary before growth", with_gl, results[1][1]))
        pairs.append(("glossary before growth - no glossary", results[1][1], no_gl))
        pairs.append(("sensitivity row - glossary before growth", sens, results[1][1]))
    for name, a, b in pairs:
        diff_lines.append(f"| {name} | {fmt(bootstrap(a['cross'] - b['cross'], draws))} "
                          f"| {fmt(bootstrap(a['same'] - b['same'], draws))} |")
    table = "\n".join(lines + diff_lines)
    print(table)

    if not args.smoke and not args.no_write:
        text = README.read_text(encoding="utf-8")
        block = f"{START}\n{SECTION}\n{table}\n{END}"
        if START in text and END in text:
            head, rest = text.split(START, 1)
            text = head + block + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        README.write_text(text, encoding="utf-8")
        print(f"\nwritten between the crosslang markers of {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
