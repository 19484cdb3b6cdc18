"""The statistics dashboard: filters by GET (no personal data), charts, tables, CSV."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from casebridge.forms import apply_validation_error
from casebridge.stats import charts, export, indicators, selectors


class StatsFilterForm(forms.Form):
    scope = forms.ChoiceField(label=_("Data of"), required=False)
    date_from = forms.DateField(
        label=_("From (month)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To (month)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    state = forms.ChoiceField(label=_("Federal state"), required=False)

    def __init__(self, *args, scopes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [(s.key, s.label) for s in scopes]
        self.fields["state"].choices = [("", _("all states"))] + [
            (code, label) for _id, code, label in indicators.states()
        ]


FIELD_NAMES = {"to": "date_to", "from": "date_from"}


@login_required
def dashboard(request):
    """Every indicator, protected; ``?format=csv`` returns the same figures as CSV."""
    scopes = selectors.scopes_for(request.user)
    if not scopes:
        return render(request, "stats/forbidden.html", status=403)
    form = StatsFilterForm(request.GET or None, scopes=scopes)
    board = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        try:
            board = selectors.dashboard(
                request.user,
                scope_key=data.get("scope") or None,
                first=data.get("date_from"),
                last=data.get("date_to"),
                state_code=data.get("state") or None,
                purpose="export" if request.GET.get("format") == "csv" else "dashboard",
            )
        except ValidationError as error:
            renamed = {FIELD_NAMES.get(k, k): v for k, v in error.message_dict.items()}
            apply_validation_error(form, ValidationError(renamed))
    if board is not None and request.GET.get("format") == "csv":
        response = HttpResponse(export.to_csv(board), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="statistics-{board.period.first:%Y-%m}-'
            f'{board.period.last:%Y-%m}.csv"'
        )
        return response
    items = [(item, charts.bar_chart(item.table)) for item in board.indicators] if board else []
    query = request.GET.copy()
    query["format"] = "csv"
    return render(
        request,
        "stats/dashboard.html",
        {
            "form": form,
            "board": board,
            "items": items,
            "csv_query": query.urlencode(),
        },
        status=200 if board else 400,
    )
