"""SOP pages: simulate, record events, consents, disclosures, approvals, tasks, the register."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from casebridge.access import protocol as protocol_events
from casebridge.accounts.stepup import require_recent_auth
from casebridge.cases import selectors as case_selectors
from casebridge.cases.views import DEFAULT_SECTION, CaseSection, case_url, render_case_page
from casebridge.forms import apply_validation_error
from casebridge.refusals import hide_denials
from casebridge.sharing import emergency as emergency_services
from casebridge.sharing import selectors, services
from casebridge.sharing.forms import (
    CancelForm,
    ConsentForm,
    DisclosureForm,
    EmergencyAccessForm,
    EmergencyReviewForm,
    EventForm,
    InformationRequestForm,
    SimulateForm,
)
from casebridge.sharing.models import Protocol
from casebridge.sop import engine as sop


def _back(case_id: int):
    return redirect(case_url(case_id, PROCEDURE.key))


def _run(request, perform, case_id: int):
    try:
        with hide_denials():
            perform()
    except ValidationError as exc:
        messages.error(request, " ".join(f"{m}" for m in exc.messages))
    else:
        messages.success(request, _("Saved."))
    return _back(case_id)


@login_required
def simulate(request, case_id: int):
    """What the SOP would require for a hypothetical event: changes nothing."""
    case = case_selectors.access_case(request.user, case_id)
    form = SimulateForm(request.GET or None)
    protocol, outcomes = None, None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        protocol, outcomes = protocol_events.simulate(
            case,
            data["event"],
            likelihood=data["likelihood"],
            imminence=data["imminence"],
            event_date=data["event_date"],
        )
    return render(
        request,
        "sharing/simulate.html",
        {"case": case, "form": form, "protocol": protocol, "outcomes": outcomes},
    )


@login_required
@require_POST
def event_record(request, case_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    form = EventForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _back(case_id)
    return _run(
        request,
        lambda: services.event_record(actor=request.user, case=case, **form.cleaned_data),
        case_id,
    )


@login_required
@require_POST
def consent_add(request, case_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    form = ConsentForm(request.POST, case=case)
    if not form.is_valid():
        messages.error(
            request,
            "; ".join(f"{form.fields[k].label}: {' '.join(v)}" for k, v in form.errors.items()),
        )
        return _back(case_id)
    data = form.cleaned_data
    return _run(
        request,
        lambda: services.consent_record(
            actor=request.user,
            case=case,
            given_by=data["given_by"],
            purpose=data["purpose"],
            categories=list(data["categories"]),
            recipients=list(data["recipients"]),
            given_on=data["given_on"],
            valid_until=data["valid_until"],
        ),
        case_id,
    )


@login_required
@require_POST
def consent_withdraw(request, case_id: int, consent_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    consent = selectors.case_consent(case, consent_id)
    return _run(
        request, lambda: services.consent_withdraw(actor=request.user, consent=consent), case_id
    )


@login_required
@require_POST
def obligation_cancel(request, case_id: int, obligation_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    obligation = selectors.case_obligation(case, obligation_id)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _run(
        request,
        lambda: services.obligation_cancel(
            actor=request.user, obligation=obligation, reason=reason
        ),
        case_id,
    )


@login_required
@require_recent_auth("sharing.disclosure.request")
def disclose(request, case_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    choices = selectors.disclosure_choices(request.user, case)
    initial = {}
    if request.GET.get("request", "").isdigit():
        asked = choices["answers"].filter(pk=int(request.GET["request"])).first()
        if asked is not None:
            initial = {
                "answers": asked.pk,
                "to_participant": asked.from_participant_id,
                "legal_basis": asked.legal_basis,
                "purpose": asked.purpose,
            }
    if request.GET.get("obligation", "").isdigit():
        obligation = choices["obligation"].filter(pk=int(request.GET["obligation"])).first()
        if obligation is not None:
            initial = {
                "obligation": obligation.pk,
                "to_participant": obligation.recipient_id,
                "legal_basis": obligation.legal_basis,
            }
    form = DisclosureForm(request.POST or None, choices=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with hide_denials():
                disclosure = services.disclosure_request(
                    actor=request.user,
                    case=case,
                    to_participant=data["to_participant"],
                    entries=list(data["entries"]),
                    excerpt=data["excerpt"],
                    excerpt_category=data["excerpt_category"],
                    purpose=data["purpose"],
                    legal_basis=data["legal_basis"],
                    consent=data["consent"],
                    justification=data["justification"],
                    obligation=data["obligation"],
                    answers=data["answers"],
                    approver=data["approver"],
                )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request,
                _("The disclosure was recorded.")
                if disclosure.status == "approved"
                else _("The disclosure waits for a second person's approval."),
            )
            return _back(case_id)
    return render(
        request,
        "sharing/disclose.html",
        {"case": case, "form": form},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
@require_recent_auth("sharing.disclosure.decide")
def disclosure_decide(request, disclosure_id: int):
    disclosure = selectors.disclosure_for_decision(request.user, disclosure_id)
    approve = request.POST.get("decision") == "approve"
    services.disclosure_decide(actor=request.user, disclosure=disclosure, approve=approve)
    messages.success(request, _("Approved.") if approve else _("Rejected."))
    if request.POST.get("next") in ("tasks", "review"):
        return redirect("sharing:tasks")
    return _back(disclosure.case_id)


@login_required
def disclosure_review(request, disclosure_id: int):
    """The second person's view of a pending disclosure, with its whole context."""
    disclosure = selectors.disclosure_review(request.user, disclosure_id)
    return render(request, "sharing/disclosure_review.html", {"disclosure": disclosure})


@login_required
def tasks(request):
    return render(
        request,
        "sharing/tasks.html",
        {
            **selectors.my_tasks(request.user),
            # cases offered to the user's organisation wait on the page of transfers
            "transfers_waiting": case_selectors.incoming_transfer_count(request.user),
        },
    )


@login_required
def register(request):
    code = request.GET.get("legal_basis", "")[:64]
    return render(
        request,
        "sharing/register.html",
        {
            "rows": selectors.register(request.user, legal_basis=code),
            "requests": selectors.request_register(request.user),
        },
    )


@login_required
def protocols(request):

    vocabulary = selectors.stored_vocabulary()
    rows = [
        (protocol, sop.check(services.ParsedProtocol(protocol), vocabulary))
        for protocol in Protocol.objects.all()
    ]
    return render(request, "sharing/protocols.html", {"rows": rows})


# --- emergency access (break-glass) -----------------------------------------------------


@login_required
@require_recent_auth("sharing.emergency.start", when=lambda request: request.method == "POST")
def emergency(request):
    """A coordinator's emergency accesses, and the form to open a case in an emergency."""
    form = EmergencyAccessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = selectors.emergency_case(request.user, data["case"])
            emergency_services.emergency_access_start(
                actor=request.user, case=case, reason=data["reason"], hours=data["hours"]
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.warning(request, _("Emergency access started. Every read is recorded."))
            return redirect("cases:case", case_id=case.pk)
    return render(
        request,
        "sharing/emergency.html",
        {"form": form, "accesses": selectors.my_emergency_accesses(request.user)},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def emergency_end(request, access_id: int):
    access = selectors.emergency_access(request.user, access_id)
    try:
        emergency_services.emergency_access_end(actor=request.user, access=access)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Emergency access ended."))
    return redirect("sharing:emergency")


@login_required
def emergency_reviews(request):
    """The data protection officer's review queue."""
    return render(
        request,
        "sharing/emergency_reviews.html",
        {"queue": selectors.emergency_review_queue(request.user)},
    )


@login_required
def emergency_review(request, access_id: int):
    access, events = selectors.emergency_access_review_page(request.user, access_id)
    form = EmergencyReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            emergency_services.emergency_access_review(
                actor=request.user, access=access, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("Review saved."))
            return redirect("sharing:emergency_reviews")
    return render(
        request,
        "sharing/emergency_review.html",
        {"access": access, "events": events, "form": form},
        status=422 if form.errors else 200,
    )


def case_page_part(request, case, section: str) -> dict:
    """What the SOP adds above every section of the case page
    (``cases.views.CASE_PAGE_PARTS``): the emergency access banner, how many obligations
    are open, and on the first section what was disclosed to the reader's organisation."""
    access_id = case_selectors.emergency_seat(request.user, case)
    return {
        "obligations_open": selectors.open_obligations(case) if section != "procedure" else {},
        "emergency": selectors.emergency_access(request.user, access_id) if access_id else None,
        "received": selectors.received_disclosures(request.user, case)
        if section == DEFAULT_SECTION
        else [],
    }


def procedure_section(request, case, header, forms) -> dict:
    """The case page's section "procedure" (``cases.views.CASE_PAGE_SECTIONS``)."""
    seat = case_selectors.own_participant_id(request.user, case)
    return {
        "sharing": selectors.case_sharing(request.user, case),
        "requests": selectors.case_requests(request.user, case),
        "own_participant": seat,
        "event_form": EventForm(),
        "consent_form": ConsentForm(case=case),
        "ask_form": forms.get("ask_form") or _ask_form(case, seat),
    }


def _ask_form(case, own_participant, data=None) -> InformationRequestForm:
    return InformationRequestForm(
        data,
        participants=case_selectors.active_participants(case).exclude(pk=own_participant),
    )


@login_required
@require_POST
def request_add(request, case_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    form = _ask_form(case, case_selectors.own_participant_id(request.user, case), request.POST)
    if form.is_valid():
        try:
            with hide_denials():
                services.information_request_create(
                    actor=request.user, case=case, **form.cleaned_data
                )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Your request was sent."))
            return _back(case_id)
    return render_case_page(request, case, status=422, section=PROCEDURE.key, ask_form=form)


@login_required
@require_POST
def request_refuse(request, case_id: int, request_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    asked = selectors.case_request(request.user, case, request_id)
    return _run(
        request,
        lambda: services.information_request_refuse(
            actor=request.user, info_request=asked, reason=request.POST.get("reason", "")[:500]
        ),
        case_id,
    )


@login_required
@require_POST
def request_withdraw(request, case_id: int, request_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    asked = selectors.case_request(request.user, case, request_id)
    return _run(
        request,
        lambda: services.information_request_withdraw(actor=request.user, info_request=asked),
        case_id,
    )


PROCEDURE = CaseSection(
    "procedure",
    gettext_lazy("Procedure and disclosures"),
    "sharing/_case_section.html",
    procedure_section,
    forms=("ask_form",),
    position=30,
)
