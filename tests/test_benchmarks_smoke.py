"""Each benchmark script at its smallest size: they must keep running (speed is not asserted)."""
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPTS = ["ranking_quality.py", "ranking_speed.py", "assignment_speed.py", "page_speed.py", "crosslang.py", "prf.py",
           # one browser session on one SQLite server (Debian's chromium; prints "skip" without it)
           pytest.param("load_test.py", marks=pytest.mark.browser)]


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_smoke(script, tmp_path):
    readme = (ROOT / "benchmarks" / "README.md").read_bytes()
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke"],
                            capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "|" in result.stdout or "skip" in result.stdout.lower(), result.stdout
    if script in ("ranking_quality.py", "ranking_speed.py", "prf.py", "load_test.py"):  # --smoke prints, never rewrites
        assert (ROOT / "benchmarks" / "README.md").read_bytes() == readme
