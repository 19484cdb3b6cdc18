"""Model fields for protected identity data (DESIGN.md invariant 6): encrypted at rest.

Every name, phone number, e-mail or postal address and date of birth of a caller or a
person of concern is declared with one of these fields. Values are sealed with AES-256-GCM
(``crypto.keys``) bound to their column, and opened when read; an empty value stays
empty. Equality lookups cannot work on ciphertext — use a blind index
(``crypto.keys.blind_index``) for exact matches. ``protected_fields()`` lists every such
column for rotation, retention and subject access.
"""

from __future__ import annotations

from django import forms
from django.apps import apps
from django.db import models

from casebridge.crypto import keys


class ProtectedMixin:
    protected = True

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        self.encryption_context = f"{cls._meta.label_lower}.{name}"

    def from_db_value(self, value, expression, connection):
        if value and keys.is_encrypted(value):
            return keys.decrypt(value, context=self.encryption_context)
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, "") or keys.is_encrypted(value):
            return value
        return keys.encrypt(value, context=self.encryption_context)


class EncryptedCharField(ProtectedMixin, models.TextField):
    """A short identity value (a name, a phone number, an e-mail address), one line in forms."""

    def formfield(self, **kwargs):
        return super().formfield(
            **{"form_class": forms.CharField, "widget": forms.TextInput, **kwargs}
        )


class EncryptedTextField(ProtectedMixin, models.TextField):
    """A longer identity value (a postal address)."""


class ProtectedCharField(models.CharField):
    """Before encryption (kept for migration history only): use EncryptedCharField."""


class ProtectedTextField(models.TextField):
    """Before encryption (kept for migration history only): use EncryptedTextField."""


def protected_fields() -> list[tuple[type[models.Model], str]]:
    """Return every (model, field name) that holds protected identity data."""
    found = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if getattr(field, "protected", False):
                found.append((model, field.name))
    return found


def encrypt_stored(app_label: str, model_name: str, field_names: list[str]):
    """A migration step that seals values written before their column was encrypted."""

    def run(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        filled = models.Q()
        for name in field_names:
            filled |= ~models.Q(**{name: ""})
        rows = model.objects.filter(filled).only("pk", *field_names)
        for obj in rows.iterator(chunk_size=500):
            values = {name: getattr(obj, name) for name in field_names if getattr(obj, name)}
            if values:
                model.objects.filter(pk=obj.pk).update(**values)

    return run
