"""Every interface text exists in German, and the compiled catalogue matches the source."""

from __future__ import annotations

import gettext
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parents[1] / "src" / "casebridge" / "locale"
PO = LOCALE / "de" / "LC_MESSAGES" / "django.po"
MO = LOCALE / "de" / "LC_MESSAGES" / "django.mo"


def test_german_catalogue_is_complete():
    catalogue = polib.pofile(str(PO))
    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []


def test_placeholders_survive_translation():
    for entry in polib.pofile(str(PO)):
        pairs = (
            [(entry.msgid_plural, text) for text in entry.msgstr_plural.values()]
            if entry.msgid_plural
            else [(entry.msgid, entry.msgstr)]
        )
        for source, target in pairs:
            for placeholder in _placeholders(source):
                assert placeholder in target, (entry.msgid, placeholder)


def _placeholders(text: str) -> set[str]:
    import re

    return set(re.findall(r"%\(\w+\)[sdr]", text))


def test_compiled_catalogue_matches_the_source():
    compiled = gettext.GNUTranslations(MO.open("rb"))
    for entry in polib.pofile(str(PO)):
        if entry.msgid_plural or not entry.msgid:
            continue
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        assert compiled.gettext(key) == entry.msgstr, "run `make messages` to recompile"


TRANSLATING = {
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
}


def _translated_literals(path: Path):
    """(line, text) of every string literal given to a translation function in ``path``,
    under whatever name the module imports it."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for alias in node.names:
                if alias.name in TRANSLATING:
                    names[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        function = names.get(node.func.id)
        if function is None or not node.args:
            continue
        first = node.args[1] if function.startswith("pgettext") else node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield node.lineno, first.value


def test_every_text_given_to_a_translation_function_is_in_the_catalogue():
    """xgettext finds only the names it knows (``_``, ``gettext_lazy``, ...): a text behind
    another alias (``gettext_lazy as _lazy``) was never extracted and stayed English."""
    known = {entry.msgid for entry in polib.pofile(str(PO))}
    source = LOCALE.parent
    missing = [
        f"{path.relative_to(source)}:{line}: {text[:60]!r}"
        for path in sorted(source.rglob("*.py"))
        if "migrations" not in path.parts
        for line, text in _translated_literals(path)
        if text not in known
    ]
    assert missing == [], "run `make messages` (and use a name xgettext knows)"
