"""docs/cli.md is exactly what docs/generate_cli_reference.py writes from the commands' --help."""
import importlib.util

from matching.cli import main
from tests.conftest import ROOT


def _generator():
    path = ROOT / "docs" / "generate_cli_reference.py"
    spec = importlib.util.spec_from_file_location("generate_cli_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date():
    generator = _generator()
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == generator.render(), (
        f"docs/cli.md is out of date with the CLI: run `{generator.COMMAND}` and commit docs/cli.md")


def test_cli_reference_covers_every_command():
    text = _generator().render()
    for name in main.commands:
        assert f"## `portal {name}`" in text, name
