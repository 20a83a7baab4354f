"""The catalogue: EN and FR have the same keys, and every key the code uses exists."""
import re
from pathlib import Path

import pytest

from matching import i18n
from tests.conftest import ROOT

KEY_PATTERN = re.compile(r"""["']((?:app|signin|auth|role|nav|home|term_state|status|label|matches|ranking|profile|account|error|validation|term|db|dept|student|prefs|fac|expert|assign|feedback|dash|data|challenge|team|review|matrix|rounds|notify|offer|programme|org)\.[a-z0-9_.]+)["']""")


def test_english_and_french_have_the_same_keys():
    catalogue = i18n.catalogue()
    assert set(catalogue["en"]) == set(catalogue["fr"])
    assert len(catalogue["en"]) > 100


def test_no_message_is_empty_or_untranslated_placeholder():
    catalogue = i18n.catalogue()
    for lang in ("en", "fr"):
        assert all(text.strip() for text in catalogue[lang].values()), lang
    for key, text in catalogue["en"].items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", catalogue["fr"][key])), key


# In matching/, audit actions and permission names look like keys but are not shown as such;
# only these families are message keys there.
DOMAIN_KEY = re.compile(r"""["']((?:validation\.|error\.|home\.step\.|ranking\.|matches\.|db\.newer|assign\.|term\.requires_|auth\.failed|auth\.wrong|notify\.|offer\.|org\.|programme\.(?:unknown|code_format|not_a_|cli\.))[a-z0-9_.]*)["']""")


def _keys_in_code():
    for path in [ROOT / "app.py", ROOT / "ui.py", *(ROOT / "views").glob("*.py")]:
        for key in KEY_PATTERN.findall(path.read_text(encoding="utf-8")):
            yield path, key
    for path in (ROOT / "matching").rglob("*.py"):
        for key in DOMAIN_KEY.findall(path.read_text(encoding="utf-8")):
            yield path, key


def test_every_literal_key_in_the_code_is_in_the_catalogue():
    catalogue = i18n.catalogue()["en"]
    missing = set()
    for path, key in _keys_in_code():
        if key not in catalogue and not key.endswith((".", "_")):
            missing.add(f"{path.name}: {key}")
    assert not missing, sorted(missing)


@pytest.mark.parametrize("lang, expected", [("en", "1,234.5"), ("fr", "1\u00a0234,5")])
def test_numbers_follow_the_language(lang, expected):
    assert i18n.format_number(1234.5, lang) == expected


def test_dates_follow_the_language():
    assert i18n.format_day("2027-01-11", "en") == "Jan 11, 2027"
    assert "janv." in i18n.format_day("2027-01-11", "fr")
    # The first of a month is an ordinal in French (CLDR gives "1 mars 2027").
    assert i18n.format_day("2027-03-01", "fr") == "1er mars 2027"
    assert i18n.format_day("2027-03-11", "fr") == "11 mars 2027"
    assert i18n.format_day("2027-03-01", "en") == "Mar 1, 2027"


def test_missing_key_falls_back_to_the_key():
    assert i18n.t("no.such.key", "fr") == "no.such.key"
