"""Write docs/cli.md, the ``portal`` command reference, from click's own ``--help`` output.

Usage::

    python docs/generate_cli_reference.py           # rewrite docs/cli.md
    python docs/generate_cli_reference.py --check   # exit 1 if docs/cli.md is out of date

Run it after changing a command, an option or a help text; tests/test_cli_reference.py fails
until docs/cli.md matches.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import click  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from matching.cli import main as portal  # noqa: E402

OUTPUT = ROOT / "docs" / "cli.md"
COMMAND = "python docs/generate_cli_reference.py"
#: Fixed width, so the text does not depend on the terminal it is generated in.
WIDTH = 80


def _help(path: list[str]) -> str:
    result = CliRunner().invoke(portal, [*path, "--help"], prog_name="portal",
                                terminal_width=WIDTH, max_content_width=WIDTH)
    if result.exit_code != 0:
        raise RuntimeError(f"portal {' '.join(path)} --help failed:\n{result.output}")
    return result.output.rstrip() + "\n"


def _commands(group: click.Group, path: list[str]):
    """(path, command) for ``group`` and every command below it, in ``--help`` order."""
    yield path, group
    ctx = click.Context(group, info_name="portal")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _commands(command, [*path, name])
        elif command is not None and not command.hidden:
            yield [*path, name], command


def render() -> str:
    """The whole of docs/cli.md."""
    parts = ["# `portal` command reference\n",
             f"Generated from each command's `--help` by `{COMMAND}`; do not edit by hand.\n"]
    for path, _ in _commands(portal, []):
        parts.append(f"## `{' '.join(['portal', *path])}`\n\n```text\n{_help(path)}```\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date; run: {COMMAND}")
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
