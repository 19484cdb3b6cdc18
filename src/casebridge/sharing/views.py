"""SOP pages: simulate, record events, consents, disclosures, approvals, tasks, the register."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from casebridge.access import protocol as protocol_events
from casebridge.access.policy import Action, decide
from casebridge.accounts.stepup import require_recent_auth
from casebridge.cases import selectors as case_selectors
from casebridge.cases.views import DEFAULT_SECTION, CaseSection, case_url, render_case_page
from casebridge.forms import apply_validation_error
from casebridge.hotline import selectors as hotline_selectors
from casebridge.network.models import Organisation
from casebridge.refusals import hide_denials
from casebridge.sharing import emergency as emergency_services
from casebridge.sharing import selectors, services
from casebridge.sharing.forms import (
    CancelForm,
    ConsentForm,
    ContactDisclosureCancelForm,
    ContactDisclosureDecisionForm,
    ContactDisclosureForm,
    ContactEventForm,
    DisclosureForm,
    EmergencyAccessForm,
    EmergencyReviewForm,
    EventForm,
    InformationRequestForm,
    SimulateForm,
)
from casebridge.sharing.models import ContactDisclosure


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
            "hotline": selectors.hotline_register(request.user),
        },
    )


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


# --- the hotline's path to the authorities -------------------------------------------------


def contact_page_part(request, contact) -> dict:
    """What the SOP adds to a hotline contact's page (``hotline.views.CONTACT_PAGE_PARTS``):
    the dangers recorded, the disclosures they ask for, and the form to record one."""
    return {
        "part_templates": ["sharing/_contact_protocol.html"],
        "contact_disclosures": selectors.contact_disclosures(request.user, contact),
        "contact_event_form": ContactEventForm(),
    }


@login_required
@require_POST
def contact_event_record(request, contact_id: int):
    contact = hotline_selectors.access_contact(request.user, contact_id)
    form = ContactEventForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            services.contact_event_record(
                actor=request.user, contact=contact, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Recorded. The procedure's disclosures are listed below."))
    return redirect(reverse("hotline:contact", args=[contact.pk]) + "#protocol")


def _contact_disclosure_form(request, disclosure, candidates):
    initial = {
        "recipient": disclosure.recipient_id,
        "legal_basis": disclosure.legal_basis,
        "excerpt": disclosure.excerpt,
        "purpose": disclosure.purpose,
        "justification": disclosure.justification,
        "approver": disclosure.approver_id,
    }
    return ContactDisclosureForm(
        request.POST or None,
        initial=initial,
        recipients=Organisation.objects.filter(pk__in=[o.pk for o in candidates]).order_by("name"),
        approvers=selectors.hotline_approvers(disclosure.contact, request.user),
        identity_allowed="identity" in disclosure.categories,
    )


@login_required
@require_recent_auth(
    "sharing.contact_disclosure.prepare",
    # the hotline prepares from "?prepare" (confirmed before typing); the recipient reads
    when=lambda request: request.method == "POST" or "prepare" in request.GET,
)
def contact_disclosure(request, disclosure_id: int):
    """A hotline disclosure: prepared (and sent back) by the hotline, judged by its second
    person, read and confirmed by the recipient once sent."""
    disclosure = selectors.contact_disclosure(request.user, disclosure_id)
    hotline_side = bool(decide(request.user, Action.CHANGE, disclosure))
    form = responsible = None
    if hotline_side and disclosure.status == ContactDisclosure.Status.OPEN:
        candidates = protocol_events.recipient_candidates(disclosure)  # responsible ones first
        if candidates and protocol_events.recipient_rank(disclosure, candidates[0]) < 2:
            responsible = candidates[0]
        form = _contact_disclosure_form(request, disclosure, candidates)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with hide_denials():
                    services.contact_disclosure_prepare(
                        actor=request.user,
                        disclosure=disclosure,
                        recipient=data["recipient"],
                        excerpt=data["excerpt"],
                        identity=data.get("identity", ""),
                        include_caller_contact=data.get("include_caller_contact", False),
                        purpose=data["purpose"],
                        legal_basis=data["legal_basis"],
                        justification=data["justification"],
                        approver=data["approver"],
                    )
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, _("The disclosure waits for the second person."))
                return redirect("sharing:contact_disclosure", disclosure.pk)
    elif request.method == "POST":
        raise Http404
    return render(
        request,
        "sharing/contact_disclosure.html",
        {
            "disclosure": disclosure,
            "form": form,
            "hotline_side": hotline_side,
            "responsible": responsible,
            "can_decide": selectors.can_approve_contact_disclosure(request.user, disclosure),
            "decision_form": ContactDisclosureDecisionForm(),
            "cancel_form": ContactDisclosureCancelForm(),
        },
        status=422 if form is not None and form.errors else 200,
    )


@login_required
@require_POST
@require_recent_auth("sharing.contact_disclosure.decide")
def contact_disclosure_decide(request, disclosure_id: int):
    disclosure = selectors.contact_disclosure(request.user, disclosure_id, Action.CHANGE)
    form = ContactDisclosureDecisionForm(request.POST)
    approve = request.POST.get("decision") == "send"
    try:
        if not form.is_valid():
            raise ValidationError(form.errors)
        services.contact_disclosure_decide(
            actor=request.user,
            disclosure=disclosure,
            approve=approve,
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Sent.") if approve else _("Sent back."))
    return redirect("sharing:contact_disclosure", disclosure.pk)


@login_required
@require_POST
def contact_disclosure_cancel(request, disclosure_id: int):
    disclosure = selectors.contact_disclosure(request.user, disclosure_id, Action.CHANGE)
    form = ContactDisclosureCancelForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors)
        services.contact_disclosure_cancel(
            actor=request.user, disclosure=disclosure, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Recorded as not sent."))
    return redirect("sharing:contact_disclosure", disclosure.pk)


@login_required
@require_POST
def contact_disclosure_receive(request, disclosure_id: int):
    disclosure = selectors.contact_disclosure(request.user, disclosure_id, Action.RESPOND)
    services.contact_disclosure_receive(actor=request.user, disclosure=disclosure)
    messages.success(request, _("Receipt confirmed."))
    return redirect("sharing:contact_disclosure", disclosure.pk)


@login_required
def hotline_reports(request):
    """What the hotline sent to the user's organisations."""
    return render(
        request,
        "sharing/hotline_reports.html",
        {"reports": selectors.hotline_reports_received(request.user)},
    )
