"""Issue 18: a 5 MB note was answered with a bare "Bad Request (400)" and the typed text
was lost. Every text area of every form has a limit: the browser stops typing at it (the
``maxlength`` attribute), the page states it, and the server names the field past it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from django import forms

import casebridge


def _forms():
    for module_info in pkgutil.walk_packages(casebridge.__path__, "casebridge."):
        if not module_info.name.endswith(".forms"):
            continue
        module = importlib.import_module(module_info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                yield cls


def _text_areas(cls):
    fields = getattr(cls, "base_fields", {})
    for name, field in fields.items():
        if isinstance(field.widget, forms.Textarea):
            yield name, field


FORMS = sorted({cls for cls in _forms() if list(_text_areas(cls))}, key=lambda c: c.__qualname__)


def test_the_walk_finds_the_forms():
    assert len(FORMS) >= 15


@pytest.mark.parametrize("cls", FORMS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_text_area_has_a_limit(cls):
    unlimited = [name for name, field in _text_areas(cls) if not getattr(field, "max_length", None)]
    assert not unlimited, f"{cls.__qualname__}: {unlimited}"


def test_an_over_long_note_is_refused_at_its_field_and_kept(personas, world):
    """The case's entry form, past its limit by one character: a message at the field, the
    text still in the form, nothing saved; the page states the limit."""
    from django.urls import reverse

    from casebridge.cases.models import Entry

    client = personas.client(personas.partner)
    page = client.get(reverse("cases:case", args=[world.case.pk])).content.decode()
    assert 'maxlength="50000"' in page and "At most 50000 characters." in page
    before = Entry.objects.count()
    typed = "Gesprächsnotiz. " * 3125 + "x"  # 50,001 characters
    response = client.post(
        reverse("cases:entry_add", args=[world.case.pk]),
        {
            "entry-kind": "note",
            "entry-category": "case_coordination",
            "entry-title": "Lange Notiz",
            "entry-text": typed,
        },
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "Ensure this value has at most 50000 characters" in text
    assert typed[:200] in text  # what was typed is still there
    assert Entry.objects.count() == before


def test_dates_follow_the_users_language_not_the_browsers(personas, world):
    """Issue 18: a browser's date picker follows the browser's locale. Dates are typed in
    the user's format instead, shown as a hint; ISO 8601 is understood as well."""
    from datetime import date, timedelta

    from django.urls import reverse
    from django.utils import timezone

    from casebridge.cases.models import SafetyWarning

    url = reverse("cases:case", args=[world.case.pk]) + "?section=people"
    english = personas.client(personas.partner).get(url).content.decode()
    assert 'placeholder="YYYY-MM-DD"' in english and 'type="date"' not in english
    personas.partner.language = "de"
    personas.partner.save()
    client = personas.client(personas.partner)
    german = client.get(url).content.decode()
    assert 'placeholder="TT.MM.JJJJ"' in german
    default = timezone.localdate() + timedelta(days=90)
    assert f'value="{default:%d.%m.%Y}"' in german  # the form's default, as Germans write it
    review = timezone.localdate() + timedelta(days=30)
    response = client.post(
        reverse("cases:warning_add", args=[world.case.pk]),
        {
            "warning-kind": "do_not_meet_alone",
            "warning-note": "",
            "warning-reason": "Drohung",
            "warning-review_on": f"{review:%d.%m.%Y}",
        },
    )
    assert response.status_code == 302, response.content[-2000:]
    assert SafetyWarning.objects.get().review_on == review
    assert isinstance(review, date)
