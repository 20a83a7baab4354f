"""matching/ is the domain: importing every module in it must not import Streamlit."""
import subprocess
import sys

from tests.conftest import ROOT

CHECK = """
import pkgutil, importlib, sys
import matching
names = [m.name for m in pkgutil.walk_packages(matching.__path__, "matching.")]
for name in names:
    importlib.import_module(name)
assert len(names) >= 15, names
leaked = sorted(m for m in sys.modules if m == "streamlit" or m.startswith("streamlit."))
assert not leaked, leaked
print(len(names))
"""


def test_importing_every_domain_module_leaves_streamlit_out():
    # A fresh interpreter: this test process has imported Streamlit for the page tests.
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 15
