"""Pages of the federation: the agreements one acts under, a consultation, a case's person
match and handover, a handover to or from a partner installation, and the register.

Every write goes through ``services`` with the same checks as the API; handing a case
over and sending its information need "Confirm it is you" (``accounts.stepup``) and are
refused during an emergency access.
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from casebridge.access.policy import Action
from casebridge.accounts.stepup import require_recent_auth
from casebridge.cases import selectors as case_selectors
from casebridge.cases.views import CaseSection
from casebridge.federation import selectors, services
from casebridge.federation.forms import (
    MATCH_RESULTS,
    AcceptForm,
    ConsultForm,
    DeclineForm,
    MatchForm,
    ProposeForm,
    WithdrawForm,
)
from casebridge.federation.models import CrossHandover, Direction, Message
from casebridge.forms import apply_validation_error
from casebridge.labels import pick_label
from casebridge.refusals import hide_denials


def partner_failure(exc: Exception) -> str:
    """What the user is told when the partner could not be reached or refused."""
    if isinstance(exc, services.PartnerRefused):
        reason = pick_label(exc.reason or {}, fallback="")
        return _("The partner installation refused the request (%(code)s): %(reason)s") % {
            "code": exc.code,
            "reason": reason or _("no reason given"),
        }
    return _(
        "The partner installation cannot be reached at the moment. Nothing was sent; "
        "please try again later."
    )


# --- overview -----------------------------------------------------------------------------


@login_required
def overview(request):
    """The agreements the user acts under, the handovers waiting, and (for coordinators and
    data protection officers) every agreement with its message counts."""
    user = request.user
    labels = selectors.category_labels()
    agreements = selectors.agreements_for(user)
    every = selectors.all_agreements(user) if selectors.may_see_register(user) else []
    rows = selectors.handovers(user)
    return render(
        request,
        "federation/overview.html",
        {
            "agreements": [selectors.agreement_summary(a, labels) for a in agreements],
            "incoming": [
                h
                for h in rows
                if h.direction == Direction.IN and h.status == CrossHandover.Status.REQUESTED
            ],
            "outgoing": [h for h in rows if h.direction == Direction.OUT],
            "all_agreements": [
                {"agreement": a, "partner": selectors.partner_name(a), "in_force": a.in_force()}
                for a in every
            ],
            "may_see_register": bool(every) or selectors.may_see_register(user),
        },
    )


# --- consultation -------------------------------------------------------------------------


@login_required
def consult(request):
    agreements = [a for a in selectors.agreements_for(request.user) if a.in_force()]
    answer = failure = None
    form = ConsultForm(request.POST or None, agreements=agreements)
    if request.method == "POST" and agreements and form.is_valid():
        data = form.cleaned_data
        try:
            with hide_denials():
                answer = services.consult(
                    actor=request.user,
                    agreement=form.chosen_agreement(),
                    postcode=data["postcode"],
                    language=data["language"],
                    age_band=data["age_band"],
                )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        except (services.PartnerUnavailable, services.PartnerRefused) as exc:
            failure = partner_failure(exc)
    status = 422 if form.errors else (503 if failure else 200)
    return render(
        request,
        "federation/consult.html",
        {"form": form, "agreements": agreements, "answer": answer, "failure": failure},
        status=status,
    )


# --- a case and the partner installations -------------------------------------------------


def _handover_terms(agreements) -> tuple[list[tuple[str, str]], bool, bool]:
    """The categories the agreements' handover terms let cross, and whether any asks for
    the person's consent or a written justification."""
    labels = selectors.category_labels()
    codes: list[str] = []
    consent = justification = False
    for agreement in agreements:
        term = selectors.term_for(agreement, "send", "handover")
        if term is None:
            continue
        codes += [code for code in term["categories"] if code not in codes]
        if selectors.on_consent(term):
            consent = True
        else:
            justification = True
    return [(code, labels.get(code, code)) for code in codes], consent, justification


def _propose_form(agreements, data=None) -> ProposeForm:
    agreements = [
        a
        for a in agreements
        if a.in_force() and selectors.term_for(a, "send", "handover") is not None
    ]
    categories, consent, justification = _handover_terms(agreements)
    return ProposeForm(
        data,
        agreements=agreements,
        categories=categories,
        consent=consent,
        justification=justification,
    )


def _case_page(request, case, *, status: int = 200, match_result=None, failure=None, **forms):
    agreements = selectors.agreements_for(request.user)
    return render(
        request,
        "federation/case.html",
        {
            "case": case,
            "agreements": agreements,
            "match_form": forms.get("match_form")
            or MatchForm(agreements=[a for a in agreements if a.in_force()]),
            "propose_form": forms.get("propose_form") or _propose_form(agreements),
            "match_result": match_result,
            "failure": failure,
            "handovers": selectors.case_handovers(case),
            "open_handover": selectors.open_handover(case),
        },
        status=status,
    )


def _access_case(request, case_id: int):
    return case_selectors.access_case(request.user, case_id, action=Action.CHANGE, for_write=True)


@login_required
def case_federation(request, case_id: int):
    return _case_page(request, _access_case(request, case_id))


@login_required
@require_POST
def case_match(request, case_id: int):
    case = _access_case(request, case_id)
    agreements = [a for a in selectors.agreements_for(request.user) if a.in_force()]
    form = MatchForm(request.POST, agreements=agreements)
    result = failure = None
    if form.is_valid():
        try:
            with hide_denials():
                result = services.match(
                    actor=request.user, agreement=form.chosen_agreement(), case=case
                )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        except (services.PartnerUnavailable, services.PartnerRefused) as exc:
            failure = partner_failure(exc)
    status = 422 if form.errors else (503 if failure else 200)
    return _case_page(
        request,
        case,
        status=status,
        match_result=MATCH_RESULTS.get(result) if result else None,
        failure=failure,
        match_form=form,
    )


@login_required
@require_POST
@require_recent_auth("federation.handover.propose")
def propose(request, case_id: int):
    case = _access_case(request, case_id)
    form = _propose_form(selectors.agreements_for(request.user), request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with hide_denials():
                handover = services.handover_propose(
                    actor=request.user,
                    agreement=form.chosen_agreement(),
                    case=case,
                    postcode=data["postcode"],
                    language=data["language"],
                    reason=data["reason"],
                    categories=data["categories"],
                    consent_note=data.get("consent_note", ""),
                    justification=data.get("justification", ""),
                )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(
                request,
                _("The handover was proposed to %(partner)s.")
                % {"partner": selectors.partner_name(handover.agreement)},
            )
            return redirect("federation:handover", handover_id=handover.pk)
    return _case_page(request, case, status=422, propose_form=form)


def _section_context(request, case, header, forms) -> dict:
    return {"federation_handovers": selectors.case_handovers(case)}


SECTION = CaseSection(
    "federation",
    gettext_lazy("Partner installations"),
    "federation/_case_section.html",
    _section_context,
    position=80,
    # the lead's seat in a case of an organisation under an agreement in force
    shown=lambda header: (
        header.can_change and header.case.owner_id in selectors.agreement_organisations()
    ),
)


# --- one handover -------------------------------------------------------------------------


def _handover_page(request, handover, *, status: int = 200, **forms):
    user = request.user
    incoming = handover.direction == Direction.IN
    requested = handover.status == CrossHandover.Status.REQUESTED
    accepted = handover.status == CrossHandover.Status.ACCEPTED
    can_answer = (
        incoming and requested and bool(services.acting_organisations(user, handover.agreement))
    )
    labels = selectors.category_labels()
    return render(
        request,
        "federation/handover.html",
        {
            "handover": handover,
            "partner": selectors.partner_name(handover.agreement),
            "categories": [labels.get(code, code) for code in handover.categories],
            "thread": selectors.handover_messages(handover),
            "can_answer": can_answer,
            "accept_form": forms.get("accept_form")
            or AcceptForm(
                organisations=selectors.receiving_organisations(user, handover.agreement)
                if can_answer
                else []
            ),
            "decline_form": forms.get("decline_form") or DeclineForm(),
            "withdraw_form": forms.get("withdraw_form") or WithdrawForm(),
            "can_withdraw": not incoming and requested,
            "can_disclose": not incoming and accepted and not selectors.disclosure_sent(handover),
        },
        status=status,
    )


@login_required
def handover(request, handover_id: int):
    return _handover_page(request, selectors.access_handover(request.user, handover_id))


def _act(request, handover, perform, done: str, form=None, form_name: str = ""):
    """Perform an action on a handover; back to its page, with the errors if any."""
    if form is None or form.is_valid():
        try:
            with hide_denials():
                perform(form.cleaned_data if form is not None else {})
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
                return redirect("federation:handover", handover_id=handover.pk)
            apply_validation_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("federation:handover", handover_id=handover.pk)
    return _handover_page(request, handover, status=422, **{form_name: form})


@login_required
@require_POST
def accept(request, handover_id: int):
    handover = selectors.access_handover(request.user, handover_id, for_write=True)
    form = AcceptForm(
        request.POST,
        organisations=selectors.receiving_organisations(request.user, handover.agreement),
    )
    return _act(
        request,
        handover,
        lambda data: services.handover_accept(
            actor=request.user, handover=handover, organisation=form.chosen_organisation()
        ),
        _("You took the case over; it is open in your organisation."),
        form,
        "accept_form",
    )


@login_required
@require_POST
def decline(request, handover_id: int):
    handover = selectors.access_handover(request.user, handover_id, for_write=True)
    form = DeclineForm(request.POST)
    return _act(
        request,
        handover,
        lambda data: services.handover_decline(
            actor=request.user, handover=handover, reason=data["reason"]
        ),
        _("You declined the handover; the partner installation is told."),
        form,
        "decline_form",
    )


@login_required
@require_POST
def withdraw(request, handover_id: int):
    handover = selectors.access_handover(request.user, handover_id, for_write=True)
    form = WithdrawForm(request.POST)
    return _act(
        request,
        handover,
        lambda data: services.handover_withdraw(
            actor=request.user, handover=handover, reason=data["reason"]
        ),
        _("The handover was withdrawn; the partner installation is told."),
        form,
        "withdraw_form",
    )


@login_required
@require_POST
@require_recent_auth("federation.handover.disclose")
def disclose(request, handover_id: int):
    handover = selectors.access_handover(request.user, handover_id, for_write=True)
    return _act(
        request,
        handover,
        lambda data: services.handover_disclose(actor=request.user, handover=handover),
        _(
            "The case's information is on its way to the partner installation; the case "
            "closes here when the partner confirms its receipt."
        ),
    )


# --- the register -------------------------------------------------------------------------

REGISTER_COLUMNS = [
    "time",
    "direction",
    "partner",
    "agreement",
    "type",
    "status",
    "refusal",
    "categories",
    "legal_basis",
    "case",
    "user",
    "message_hash",
    "answer_hash",
]


def _csv_cell(value) -> str:
    text = ";".join(value) if isinstance(value, list) else str(value)
    # a cell a spreadsheet would read as a formula is written as text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
def register(request):
    if not selectors.may_see_register(request.user):
        raise PermissionDenied
    filters = {
        "agreement": request.GET.get("agreement", "")[:64],
        "direction": request.GET.get("direction", "")[:3],
        "status": request.GET.get("status", "")[:10],
    }
    rows = selectors.register_rows(selectors.register(request.user, **filters))
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="federation-register.csv"'
        response["Cache-Control"] = "no-store"
        writer = csv.writer(response)
        writer.writerow(REGISTER_COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    row["time"].isoformat() if column == "time" else _csv_cell(row[column])
                    for column in REGISTER_COLUMNS
                ]
            )
        return response
    query = urlencode({key: value for key, value in filters.items() if value})
    return render(
        request,
        "federation/register.html",
        {
            "rows": rows,
            "filters": filters,
            "agreements": selectors.all_agreements(request.user),
            "directions": Direction.choices,
            "statuses": Message.Status.choices,
            "csv_url": reverse("federation:register")
            + "?format=csv"
            + ("&" + query if query else ""),
        },
    )
