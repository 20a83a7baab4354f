"""The facilitator's CLI commands: import, export, assign, publish (on the demo data)."""
import csv
import io

import openpyxl
import pytest
from click.testing import CliRunner

from matching import db as storage
from matching import terms
from matching.accounts import SYSTEM
from matching.cli import main

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # issue 15: both storage backends


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_assign_on_the_demo_data_prints_the_summary(demo_db_path):
    result = run("assign")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Assignment for Winter 2027: 44 of 44 teams matched."
    assert any(line.strip().startswith("First choice:") and "of 44 teams" in line for line in lines)
    for label in ("Top-3 choice:", "Any ranked choice:", "Mean similarity:", "Worst-off team:"):
        assert any(line.strip().startswith(label) for line in lines), label
    assert "Every team is matched." in result.output
    database = storage.connect(demo_db_path)
    assert database.execute("SELECT COUNT(*) FROM pairings WHERE state = 'proposed'").fetchone()[0] == 44


def test_assign_in_french_with_details_and_an_unknown_term(demo_db_path):
    result = run("assign", "--details", "--language", "fr")
    assert result.exit_code == 0 and "Premier choix" in result.output and "->" in result.output
    bad = CliRunner().invoke(main, ["assign", "--term", "Fall 1999"])
    assert bad.exit_code == 2 and "no term named" in bad.output


def test_publish_needs_matching_then_reports_changes(demo_db_path):
    run("assign")
    refused = CliRunner().invoke(main, ["publish"])
    assert refused.exit_code == 1 and "only possible while the term is in matching" in refused.output
    database = storage.connect(demo_db_path)
    terms.advance_term(database, SYSTEM, terms.default_term(database).id)
    result = run("publish", "--term", "Winter 2027")
    assert result.exit_code == 0, result.output
    assert "Published 44 pairings for Winter 2027." in result.output
    assert result.output.count("Added:") == 44
    again = CliRunner().invoke(main, ["publish"])
    assert again.exit_code == 1 and "nothing to publish" in again.output


def test_import_with_a_bad_row_writes_nothing_and_exits_1(demo_db_path, tmp_path):
    path = tmp_path / "teams.csv"
    path.write_text("name,program,members\n"
                    "Nouvelle Vague,Interaction Design,Zoé Roy <zoe.roy@sheridancollege.ca>\n"
                    "Open Door Collective,Interaction Design,\n"
                    ",Interaction Design,Al <not-an-email>\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "teams", str(path), "--term", "Winter 2027"])  # two open terms
    assert result.exit_code == 1
    assert "Row 3, Name: This value is already used." in result.output
    assert "Row 4, Name: This field is required." in result.output
    assert "Row 4, Members: Enter a valid e-mail address." in result.output
    assert "nothing was imported" in result.output
    database = storage.connect(demo_db_path)
    assert database.execute("SELECT COUNT(*) FROM teams WHERE name = 'Nouvelle Vague'").fetchone()[0] == 0


def test_import_then_export_round_trip(demo_db_path, tmp_path):
    path = tmp_path / "teams.csv"
    path.write_text("name,program,members\nNouvelle Vague,Interaction Design,Zoé Roy <zoe.roy@sheridancollege.ca>\n",
                    encoding="utf-8")
    assert run("import", "teams", str(path), "--dry-run", "--term", "Winter 2027").output.startswith("1 row checked")
    result = run("import", "teams", str(path), "--term", "Winter 2027")
    assert result.exit_code == 0 and "Imported 1 teams." in result.output
    out = tmp_path / "teams.xlsx"
    assert run("export", "teams", str(out), "--language", "fr").exit_code == 0
    sheet = openpyxl.load_workbook(out).active
    # every term: a term column and its academic program
    assert [c.value for c in sheet[1]][:5] == ["ID", "Session", "Programme d’études", "Nom", "Programme"]
    assert "Nouvelle Vague" in [row[3] for row in sheet.iter_rows(values_only=True)]
    csv_out = tmp_path / "users.csv"
    assert run("export", "users", str(csv_out)).exit_code == 0
    text = csv_out.read_bytes().decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert header[0] == "E-mail" and "scrypt" not in text
    bad = CliRunner().invoke(main, ["export", "teams", str(tmp_path / "teams.pdf")])
    assert bad.exit_code == 2
