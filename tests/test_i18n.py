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
