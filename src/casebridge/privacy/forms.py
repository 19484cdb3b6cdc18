"""Forms of the data protection officer's pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from casebridge.audit.models import Outcome
from casebridge.forms import LocalDateInput


class AuditFilterForm(forms.Form):
    username = forms.CharField(label=_("User"), required=False, max_length=150)
    action = forms.CharField(label=_("Action begins with"), required=False, max_length=80)
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=80)
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", "–"), *Outcome.choices]
    )
    day_from = forms.DateField(label=_("From"), required=False, widget=LocalDateInput())
    day_to = forms.DateField(label=_("To"), required=False, widget=LocalDateInput())
