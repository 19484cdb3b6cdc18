"""The statistics dashboard: filters by GET (no personal data), charts, tables; the same
figures as CSV, XLSX or the PDF report."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.forms import apply_validation_error
from casebridge.stats import charts, indicators, report, selectors
from casebridge.stats.partnership import network_tables


class StatsFilterForm(forms.Form):
    scope = forms.ChoiceField(label=_("Data of"), required=False)
    year = forms.IntegerField(label=_("Year"), required=False)
    state = forms.ChoiceField(label=_("Federal state"), required=False)

    def __init__(self, *args, scopes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [(s.key, s.label) for s in scopes]
        today = timezone.localdate()
        self.fields["year"].widget.attrs.update(
            {"min": selectors.MIN_YEAR, "max": today.year + 1, "placeholder": today.year}
        )
        self.fields["state"].choices = [("", _("all states"))] + [
            (code, label) for _id, code, label in indicators.states()
        ]


# What each kind of reader looks at first (issue 18); every other figure is one click away,
# folded by its group. The whole network: contacts, where referrals lead, the cases' phases
# and whether the procedures are kept. A hotline: its contacts and referrals. A partner:
# its cases and their continuity.
FIRST_LOOK = {
    "network": (
        "contacts_by_caller_category",
        "referral_funnel",
        "cases_by_phase",
        "obligations_compliance",
    ),
    "hotline": ("contacts_by_caller_category", "contacts_by_contact_category", "referral_funnel"),
    "partner": ("cases_by_phase", "goals_by_status", "cases_without_lead", "referral_funnel"),
}
GROUP_TITLES = {
    "contacts": _("Contacts"),
    "referrals": _("Referrals"),
    "cases": _("Cases"),
    "continuity": _("Continuity of staff"),
    "compliance": _("Procedures kept"),
    "transparency": _("Disclosures and the authorities"),
    "partnership": _("Partnership health"),
    "outcomes": _("Outcomes of closed cases"),
}


@login_required
def dashboard(request):
    """Every indicator, protected; ``?format=csv|xlsx|pdf`` returns the same figures as a
    file (the PDF is the report with charts)."""
    scopes = selectors.scopes_for(request.user)
    if not scopes:
        return render(request, "stats/forbidden.html", status=403)
    fmt = request.GET.get("format")
    fmt = fmt if fmt in report.FORMATS else None
    query = request.GET.copy()
    query.pop("format", None)
    form = StatsFilterForm(query or None, scopes=scopes)
    board = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        try:
            board = selectors.dashboard(
                request.user,
                scope_key=data.get("scope") or None,
                year=data.get("year"),
                state_code=data.get("state") or None,
                purpose="export" if fmt else "dashboard",
                fmt=fmt or "",
            )
        except ValidationError as error:
            apply_validation_error(form, error)
    if board is not None and fmt:
        body, content_type = report.render(board, fmt)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{report.filename(board, fmt)}"'
        return response
    items = (
        [(item, charts.bar_chart(item.shown, item.chart_column)) for item in board.indicators]
        if board
        else []
    )
    first = FIRST_LOOK.get(board.scope.kind, FIRST_LOOK["network"]) if board else ()
    overview = [pair for pair in items if pair[0].code in first]
    groups: dict[str, list] = {}
    for pair in items:
        if pair[0].code not in first:
            groups.setdefault(pair[0].group, []).append(pair)
    notices = board.notices if board else []
    downloads = {}
    for name in report.FORMATS:
        query["format"] = name
        downloads[name] = query.urlencode()
    return render(
        request,
        "stats/dashboard.html",
        {
            "form": form,
            "board": board,
            "overview": sorted(overview, key=lambda pair: first.index(pair[0].code)),
            # a group's caveats and notices stand beside its figures
            "groups": [
                (
                    GROUP_TITLES.get(group, group),
                    pairs,
                    pairs[0][0].caveats,
                    [notice.message for notice in notices if notice.group == group],
                )
                for group, pairs in groups.items()
            ],
            "downloads": downloads,
            "partnership": board is not None and board.scope.kind == "network",
        },
        status=200 if board else 400,
    )


class PartnershipForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["year"].widget.attrs.update(
            {"min": selectors.MIN_YEAR, "max": today.year, "placeholder": today.year}
        )


# The partnership page's sections (issue 20): its indicators by code, then the network's
# own tables (``partnership.network_tables``) by code, in the order of a network meeting.
PARTNERSHIP_SECTIONS = (
    (
        _("Flows between the sectors"),
        ("disclosures_by_direction", "requests_by_direction"),
        (),
    ),
    (_("Obligations kept"), ("obligations_compliance", "obligations_by_pair"), ()),
    (_("Contact points"), (), ("contact_points",)),
    (_("Meetings of the network"), (), ("meeting_attendance",)),
    (
        _("Continuity of staff"),
        ("lead_worker_changes", "handovers_by_organisation"),
        (),
    ),
    (_("Lessons learned"), (), ("lessons",)),
)


@login_required
def partnership(request):
    """Partnership health for coordinators and the network's meeting: one calendar year,
    every figure with its definition, printable. Whoever may see the network's statistics
    may see it (403 otherwise)."""
    if not selectors.sees_network(request.user):
        return _partnership_forbidden(request)
    # Always bound, so that "nothing was recorded" in this year's first days (or in a new
    # network) stands at the year field of the page instead of failing it.
    form = PartnershipForm(request.GET or {"year": ""})
    board = None
    if form.is_valid():
        try:
            board = selectors.partnership(request.user, year=form.cleaned_data.get("year"))
        except ValidationError as error:
            apply_validation_error(form, error)
        except PermissionDenied:
            return _partnership_forbidden(request)
    sections = []
    if board is not None:
        tables = {table.code: table for table in network_tables(board.network)}
        for title, codes, network in PARTNERSHIP_SECTIONS:
            items = [
                (item, charts.bar_chart(item.shown))
                for item in (board.item(code) for code in codes)
                if item is not None
            ]
            sections.append((title, items, [tables[code] for code in network]))
    return render(
        request,
        "stats/partnership.html",
        {
            "form": form,
            "board": board,
            "sections": sections,
            "report_query": f"year={board.period.first.year}&format=pdf" if board else "",
        },
        # the page asked for without a year answers; a year asked for and refused is a 400
        status=200 if board or not request.GET else 400,
    )


def _partnership_forbidden(request):
    message = _(
        "Partnership health is available to network coordinators and data protection officers."
    )
    return render(request, "stats/forbidden.html", {"message": message}, status=403)
