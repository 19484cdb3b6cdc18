"""The audit pages: the DPO's view of the log (with its export) and a case's access history."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from casebridge.accounts.stepup import require_recent_auth
from casebridge.audit import export, selectors
from casebridge.audit.models import Outcome
from casebridge.cases import selectors as case_selectors


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
    """Filters are posted (usernames stay out of URLs), and so is the page number;
    ``export`` (``csv`` or ``jsonl``) streams every matching event, however many."""
    form = AuditFilterForm(request.POST or None)
    if form.is_bound and not form.is_valid():
        # Never the unfiltered log (or export) in place of the one asked for.
        return render(request, "audit/log.html", {"form": form, "events": None}, status=422)
    filters = form.cleaned_data if form.is_bound else {}
    if _exporting(request):
        fmt = "jsonl" if request.POST["export"] == "jsonl" else "csv"
        exported = selectors.export_for_dpo(request.user, fmt=fmt, **filters)
        return export.stream(exported.rows, fmt)
    events = selectors.events_for_dpo(request.user, page=request.POST.get("page", 1), **filters)
    return render(request, "audit/log.html", {"form": form, "events": events})


@login_required
def case_history(request, case_id: int):
    case = case_selectors.access_case(request.user, case_id)
    return render(
        request,
        "audit/case_history.html",
        {"case": case, "events": selectors.case_access_history(request.user, case)},
    )
