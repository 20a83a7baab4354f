import pytest
from click.testing import CliRunner

from matching import accounts
from matching import db as storage
from matching.cli import main

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


def run(*args, input=None):
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result


def test_init_db_creates_and_reports_schema(tmp_path):
    path = tmp_path / "cli.db"
    result = run("--db", str(path), "init-db")
    assert result.exit_code == 0
    assert f"schema version {storage.SCHEMA_VERSION}" in result.output
    assert "up to date" in run("--db", str(path), "init-db").output


def test_load_demo_then_rank_a_team(demo_db_path):
    result = run("rank", "--team", "Open Door Collective", "-k", "3")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Challenges for Open Door Collective:"
    assert lines[1].lstrip().startswith("1.") and "[ESDC]" in lines[1]
    # label, rank and the score relative to the team's best, as every page shows them (issue 14.7)
    assert lines[2].strip() == "Strong match · rank 1 of 35 · the best score for this team"
    assert lines[3].strip().startswith("Why:")
    assert lines[5].strip().startswith(("Strong match · rank 2 of 35 · ", "Good match · rank 2 of 35 · "))
    assert lines[5].strip().endswith("% of the best score for this team")


def test_rank_in_french_and_unknown_team(demo_db_path):
    assert "Pourquoi" in run("rank", "--team", "Open Door Collective", "--language", "fr").output
    result = run("rank", "--team", "No Such Team")
    assert result.exit_code == 2 and "no team named" in result.output


def test_load_demo_twice_is_harmless(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_DB", str(tmp_path / "d.db"))
    assert "Loaded" in run("load-demo").output
    assert "already loaded" in run("load-demo").output


def test_create_user_with_validation(tmp_path):
    path = str(tmp_path / "u.db")
    ok = run("--db", path, "create-user", "--email", "ops@pco.gc.ca", "--name", "Ops",
             "--role", "facilitator", "--password", "a-long-password")
    assert ok.exit_code == 0 and "Created facilitator ops@pco.gc.ca" in ok.output
    database = storage.connect(path)
    assert accounts.authenticate(database, "ops@pco.gc.ca", "a-long-password").role == "facilitator"
    bad = CliRunner().invoke(main, ["--db", path, "create-user", "--email", "x@y.ca", "--name", "X",
                                    "--role", "facilitator", "--password", "short"])
    assert bad.exit_code == 1 and "at least 12 characters" in bad.output


def test_serve_command_is_listed():
    assert "serve" in run("--help").output
