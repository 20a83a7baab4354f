"""Guard (issue 14.1): every choice box of the app is drawn by ``ui.choice``, with options that are
stable values (never translated text) and a key that is a stable id (never a translated label or
the language).

A browser holds a choice box's value as the label it shows; a translated option, or a key that
changes with the language, loses the choice on a language switch. ``ui.choice`` is the one place
that keeps it (tests/test_choice_language.py shows it page by page).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHOICE_WIDGETS = {"selectbox", "radio", "segmented_control", "multiselect", "pills", "select_slider"}
#: Functions whose result is text in the person's language (or the language itself).
TRANSLATING = {"t", "message", "lang", "term_label", "department_name", "plain"}
HELPER = ("ui.py", "choice")


def app_files() -> list[Path]:
    return [ROOT / "app.py", ROOT / "ui.py", *sorted((ROOT / "views").glob("*.py"))]


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _translates(node: ast.AST | None) -> bool:
    return node is not None and any(isinstance(n, ast.Call) and _called_name(n) in TRANSLATING
                                    for n in ast.walk(node))


def _assignments(scope: ast.AST) -> dict[str, ast.AST]:
    """name -> the expression last assigned to it in ``scope`` (a function or the module)."""
    found = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value
    return found


def _option_values(node: ast.AST, names: dict[str, ast.AST], depth: int = 0) -> list[ast.AST]:
    """The expressions that become option *values*: for a dict, its keys (its values for
    ``d.values()``); for ``list(x)``, ``x``'s; for a name, what was assigned to it (a few steps
    deep)."""
    if depth > 4:
        return []
    if isinstance(node, ast.Name) and node.id in names:
        return _option_values(names[node.id], names, depth + 1)
    if isinstance(node, ast.Call) and _called_name(node) in ("list", "tuple", "sorted") and node.args:
        return _option_values(node.args[0], names, depth + 1)
    if isinstance(node, ast.Call) and _called_name(node) == "values" and isinstance(node.func, ast.Attribute):
        mapping = node.func.value
        mapping = names.get(mapping.id, mapping) if isinstance(mapping, ast.Name) else mapping
        if isinstance(mapping, ast.DictComp):
            return [mapping.value]
        if isinstance(mapping, ast.Dict):
            return list(mapping.values)
        return [mapping]
    if isinstance(node, ast.Dict):
        return [k for k in node.keys if k is not None]
    if isinstance(node, ast.DictComp):
        return [node.key]
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return [node.elt]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return list(node.elts)
    if isinstance(node, ast.BinOp):
        return _option_values(node.left, names, depth + 1) + _option_values(node.right, names, depth + 1)
    return [node]


def problems_in(source: str, filename: str) -> list[str]:
    """Every choice box in ``source`` not drawn by ui.choice, with translated options, or with a
    key that is translated or depends on the language."""
    tree = ast.parse(source)
    module_names = _assignments(tree)
    problems = []

    def visit(scope: ast.AST, names: dict[str, ast.AST], in_helper: bool) -> None:
        for node in ast.iter_child_nodes(scope):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = {**names, **_assignments(node)}
                visit(node, inner, in_helper or (filename, node.name) == HELPER)
                continue
            if isinstance(node, ast.Call):
                check(node, names, in_helper)
            visit(node, names, in_helper)

    def check(call: ast.Call, names: dict[str, ast.AST], in_helper: bool) -> None:
        name = _called_name(call)
        where = f"{filename}:{call.lineno}"
        if name in CHOICE_WIDGETS:
            if not in_helper:
                problems.append(f"{where}: st.{name} drawn directly; use ui.choice")
            options = call.args[1] if len(call.args) > 1 else None
        elif name == "choice" and call.args and isinstance(call.args[0], ast.Attribute) \
                and call.args[0].attr in CHOICE_WIDGETS:
            options = call.args[2] if len(call.args) > 2 else None
        else:
            return
        options = options or next((k.value for k in call.keywords if k.arg == "options"), None)
        if options is not None and any(_translates(v) for v in _option_values(options, names)):
            problems.append(f"{where}: options built from translated text; use stable values and labels=")
        key = next((k.value for k in call.keywords if k.arg == "key"), None)
        if _translates(key):
            problems.append(f"{where}: key built from translated text or the language; use a stable id")

    visit(tree, module_names, False)
    return problems


def test_every_choice_box_uses_stable_values_labels_and_keys():
    problems = []
    for path in app_files():
        problems += problems_in(path.read_text(encoding="utf-8"), path.name)
    assert not problems, "\n".join(problems)


# --- The guard itself finds what it must ---------------------------------------------------

@pytest.mark.parametrize("source", [
    # translated labels as the options, one key per language (fac_assignment before issue 14.1)
    'labels = {ui.t(f"tab_{k}"): k for k in KINDS}\n'
    'choice = labels[ui.choice(st.radio, "x", list(labels), key=f"kind_{ui.lang()}")]',
    'ui.choice(st.selectbox, "x", [ui.t("a"), ui.t("b")], key="k")',
    'names = {code: ui.t("n." + code) for code in CODES}\n'
    'ui.choice(st.selectbox, "x", list(names.values()), key="k")',
    'def f():\n    opts = [ui.term_label(term) for term in terms]\n    ui.choice(st.pills, "x", opts, key="k")',
    'ui.choice(st.selectbox, "x", CODES, key=ui.t("label"))',
    'st.selectbox("x", CODES, key="k", format_func=names.get)',
    'cols[0].multiselect("x", CODES, key="k")',
    'st.sidebar.segmented_control("x", ["en", "fr"], key="k")',
])
def test_the_guard_finds_translated_options_keys_and_direct_widgets(source):
    assert problems_in(source, "views/example.py")


@pytest.mark.parametrize("source", [
    'names = {code: ui.t("n." + code) for code in CODES}\n'
    'ui.choice(st.selectbox, ui.t("label"), CODES, key="k", labels=names)',
    'labels = {k: ui.t(f"tab_{k}") for k in KINDS}\n'
    'ui.choice(st.radio, ui.t("x"), labels, labels=labels, key="kind")',
    'ui.choice(cols[0].multiselect, ui.t("x"), departments, labels=departments, key=f"d_{uid}")',
])
def test_the_guard_accepts_stable_values_with_translated_labels(source):
    assert problems_in(source, "views/example.py") == []
