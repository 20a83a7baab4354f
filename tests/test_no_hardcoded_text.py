"""Every visible string goes through the catalogue: no page passes literal words to Streamlit."""
import ast
import re

import pytest

from tests.conftest import ROOT

# Streamlit calls whose first argument (or label=/help=/placeholder=) is shown to people.
SHOWN = {"title", "header", "subheader", "caption", "text", "write", "markdown", "info", "success",
         "warning", "error", "button", "form_submit_button", "download_button", "text_input",
         "text_area", "number_input", "selectbox", "multiselect", "radio", "checkbox", "toggle",
         "date_input", "file_uploader", "expander", "metric", "badge", "progress", "page_link",
         "segmented_control", "tabs", "popover", "link_button", "dialog"}
KEYWORDS = {"label", "help", "placeholder", "text"}
WORDS = re.compile(r"[A-Za-zÀ-ÿ]{2,}")
FILES = [ROOT / "app.py", ROOT / "ui.py", *sorted((ROOT / "views").glob("*.py"))]


def literal_words(node):
    """Words in a literal string (or the literal parts of an f-string)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return WORDS.findall(node.value)
    if isinstance(node, ast.JoinedStr):
        return [w for part in node.values if isinstance(part, ast.Constant) for w in WORDS.findall(part.value)]
    return []


def hardcoded(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHOWN):
            continue
        shown = node.args[:1] + [k.value for k in node.keywords if k.arg in KEYWORDS]
        for arg in shown:
            words = [w for w in literal_words(arg) if not w.startswith("material")]
            if words:
                yield f"{path.name}:{node.lineno}: {' '.join(words)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_literal_words_reach_the_screen(path):
    assert not list(hardcoded(path))


def test_the_check_finds_literal_words(tmp_path):
    page = tmp_path / "page.py"
    page.write_text('import streamlit as st\nst.button("Save draft")\nst.caption(f"Due {x}")\n'
                    'st.text_input(ui.t("k"), help="Some help")\nst.write(ui.t("ok"), ":material/check:")\n')
    assert [line.split(": ", 1)[1] for line in hardcoded(page)] == ["Save draft", "Due", "Some help"]
