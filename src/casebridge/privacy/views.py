"""Pages of the data protection officer for subject requests (search by POST only)."""

from __future__ import annotations

import json

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files import File
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from casebridge.accounts.stepup import require_recent_auth
from casebridge.audit import export as audit_export
from casebridge.forms import LocalDateInput, apply_validation_error
from casebridge.privacy import selectors, services
from casebridge.privacy.forms import AuditFilterForm
from casebridge.privacy.models import SubjectRequest


class RequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=SubjectRequest.Kind.choices)
    article = forms.ChoiceField(label=_("GDPR article"), choices=SubjectRequest.Article.choices)
    received_on = forms.DateField(label=_("Received on"), required=False, widget=LocalDateInput())
    requester_note = forms.CharField(
        label=_("Requester's note"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How the request came in and how the identity was checked."),
    )


class SearchForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), required=False, max_length=120)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=120)
    date_of_birth = forms.CharField(
        label=_("Date of birth"),
        required=False,
        max_length=10,
        widget=LocalDateInput(),
    )
    case_number = forms.CharField(label=_("Case number"), required=False, max_length=20)
    contact_reference = forms.CharField(label=_("Contact reference"), required=False, max_length=20)

    def clean(self):
        data = super().clean()
        by_name = data.get("first_name") and data.get("last_name")
        if not (by_name or data.get("case_number") or data.get("contact_reference")):
            raise ValidationError(
                _("Enter first and last name (and date of birth), a case number or a reference.")
            )
        return data


@login_required
def requests(request):
    form = RequestForm(request.POST or None)
    rows = selectors.subject_requests(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.subject_request_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            return redirect("privacy:request", request_id=created.pk)
    status = 422 if form.is_bound else 200
    return render(request, "privacy/requests.html", {"form": form, "rows": rows}, status=status)


def _detail(request, subject_request, *, search=None, matches=None, error=None, status=200):
    return render(
        request,
        "privacy/request_detail.html",
        {
            "item": subject_request,
            "search": search or SearchForm(),
            "matches": matches,
            "error": error,
        },
        status=status,
    )


@login_required
def request_detail(request, request_id: int):
    subject_request = selectors.access_subject_request(request.user, request_id)
    return _detail(request, subject_request)


@login_required
@require_POST
def search(request, request_id: int):
    subject_request = selectors.access_subject_request(request.user, request_id)
    form = SearchForm(request.POST)
    if not form.is_valid():
        return _detail(request, subject_request, search=form, status=422)
    matches = selectors.subject_search(request.user, subject_request, **form.cleaned_data)
    return _detail(request, subject_request, search=form, matches=matches)


STEPS = {
    "attach": services.subject_request_attach,
    "prepare": services.subject_request_prepare,
    "review": services.subject_request_review,
    "release": services.subject_request_release,
    "erase": services.subject_request_erase,
    "close": services.subject_request_close,
}


@login_required
@require_POST
def step(request, request_id: int, name: str):
    subject_request = selectors.access_subject_request(request.user, request_id)
    service = STEPS.get(name)
    if service is None:
        return HttpResponse(status=404)
    extra = {"keys": request.POST.getlist("subjects")} if name == "attach" else {}
    try:
        service(actor=request.user, request=subject_request, **extra)
    except ValidationError as exc:
        return _detail(request, subject_request, error=exc.messages, status=422)
    return redirect("privacy:request", request_id=subject_request.pk)


def bundle_response(bundle: File, subject_request: SubjectRequest) -> FileResponse:
    """Stream the export bundle (decrypted on the way, never in clear on disk)."""
    response = FileResponse(
        bundle,
        as_attachment=True,
        filename=f"{subject_request.reference}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_recent_auth("privacy.subject_request.export")
def export(request, request_id: int):
    """The readable export for review; ``?format=zip`` is the bundle with the documents
    (for review, then the copy), ``?format=json`` the released text alone."""
    subject_request = selectors.access_subject_request(request.user, request_id)
    if request.GET.get("format") == "zip":
        try:
            bundle = services.subject_export_bundle(actor=request.user, request=subject_request)
        except ValidationError as exc:
            return _detail(request, subject_request, error=exc.messages, status=409)
        return bundle_response(bundle, subject_request)
    download = request.GET.get("format") == "json"
    try:
        data = services.subject_export_open(
            actor=request.user, request=subject_request, download=download
        )
    except ValidationError as exc:
        return _detail(request, subject_request, error=exc.messages, status=409)
    if download:
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{subject_request.reference}.json"'
        return response
    return render(request, "privacy/export.html", {"item": subject_request, "data": data})


def _exporting(request) -> bool:
    return request.method == "POST" and bool(request.POST.get("export"))


@login_required
@require_recent_auth("audit.log.export", when=_exporting)
def audit_log(request):
    """Filters are posted (usernames stay out of URLs), and so is the page number;
    ``export`` (``csv`` or ``jsonl``) streams every matching event, however many."""
    form = AuditFilterForm(request.POST or None)
    if form.is_bound and not form.is_valid():
        # Never the unfiltered log (or export) in place of the one asked for.
        return render(request, "privacy/audit_log.html", {"form": form, "events": None}, status=422)
    filters = form.cleaned_data if form.is_bound else {}
    if _exporting(request):
        fmt = "jsonl" if request.POST["export"] == "jsonl" else "csv"
        exported = selectors.export_for_dpo(request.user, fmt=fmt, **filters)
        return audit_export.stream(exported.rows, fmt)
    events = selectors.events_for_dpo(request.user, page=request.POST.get("page", 1), **filters)
    return render(request, "privacy/audit_log.html", {"form": form, "events": events})
