"""Model fields for protected identity data (DESIGN.md invariant 6).

Every name, phone number, e-mail or postal address and date of birth of a caller or a
person of concern is declared with one of these fields. They mark the column, so that
field encryption, retention, subject access and the checks that keep identity data out
of logs, URLs, audit details and statistics find every such column in one place
(``protected_fields()``), instead of a list kept by hand.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models


class ProtectedMixin:
    protected = True


class ProtectedCharField(ProtectedMixin, models.CharField):
    """A short identity value (a name, a phone number, an e-mail address)."""


class ProtectedTextField(ProtectedMixin, models.TextField):
    """A longer identity value (a postal address)."""


def protected_fields() -> list[tuple[type[models.Model], str]]:
    """Return every (model, field name) that holds protected identity data."""
    found = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if getattr(field, "protected", False):
                found.append((model, field.name))
    return found
