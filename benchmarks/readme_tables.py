"""Writing a generated table into benchmarks/README.md: between a script's own markers, so
the tables are never pasted by hand and each script rewrites only its section."""
from __future__ import annotations

from pathlib import Path


def write_between_markers(path: Path, block: str, start: str, end: str) -> None:
    """Replace what stands between ``start`` and ``end`` in ``path`` (append both when missing)."""
    text = path.read_text(encoding="utf-8")
    block = f"{start}\n{block.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
