"""The audit pages: the DPO's view of the log (with CSV export) and a case's access history."""

from __future__ import annotations

import csv

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from casebridge.accounts.stepup import require_recent_auth
from casebridge.audit import selectors
from casebridge.audit.models import Outcome
from casebridge.cases import selectors as case_selectors

COLUMNS = [
    "sequence",
    "occurred_at",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "purpose",
    "remote_addr",
]


class AuditFilterForm(forms.Form):
    username = forms.CharField(label=_("User"), required=False, max_length=150)
    action = forms.CharField(label=_("Action begins with"), required=False, max_length=80)
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=80)
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", "–"), *Outcome.choices]
    )
    day_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    day_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _exporting(request) -> bool:
    return request.method == "POST" and bool(request.POST.get("export"))


@login_required
@require_recent_auth("audit.log.export", when=_exporting)
def log(request):
    """Filters are posted (usernames stay out of URLs); ``export`` returns the rows as CSV."""
    form = AuditFilterForm(request.POST or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if _exporting(request):
        events = selectors.audit_log_export(request.user, **filters)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        response["Cache-Control"] = "no-store"
        writer = csv.writer(response)
        writer.writerow(COLUMNS)
        for event in events:
            writer.writerow([getattr(event, column) for column in COLUMNS])
        return response
    events = selectors.events_for_dpo(request.user, **filters)
    return render(request, "audit/log.html", {"form": form, "events": events})


@login_required
def case_history(request, case_id: int):
    case = case_selectors.access_case(request.user, case_id)
    return render(
        request,
        "audit/case_history.html",
        {"case": case, "events": selectors.case_access_history(request.user, case)},
    )
