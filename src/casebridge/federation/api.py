"""The federation through the API: the same reads and writes as its pages, through the
same selectors and services (and the same "Confirm it is you" for a handover and the
sending of a case's information)."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from casebridge.accounts.stepup import step_up
from casebridge.apischema import Error, Input
from casebridge.cases import selectors as case_selectors
from casebridge.federation import selectors, services
from casebridge.federation.forms import MATCH_RESULTS
from casebridge.federation.models import Agreement, CrossHandover
from casebridge.labels import pick_label

router = Router(tags=["federation"])


class FederationPartnerError(Schema):
    """The partner refused (502: its code and reason) or cannot be reached (503)."""

    detail: str
    fields: dict[str, list[str]] = {}
    code: str = ""
    reason: dict[str, str] = {}


class AgreementTermOut(Schema):
    purpose: str
    categories: list[str]
    legal_basis: str


class AgreementOut(Schema):
    id: int
    code: str
    version: str
    partner: str
    partner_name: str
    in_force: bool
    valid_from: date
    valid_until: date | None
    copies_kept_days: int
    send: list[AgreementTermOut]
    receive: list[AgreementTermOut]

    @staticmethod
    def resolve_partner_name(obj: Agreement) -> str:
        return selectors.partner_name(obj)

    @staticmethod
    def resolve_in_force(obj: Agreement) -> bool:
        return obj.in_force()

    @staticmethod
    def resolve_send(obj: Agreement) -> list[dict]:
        return [selectors.term_for(obj, "send", t["purpose"]) for t in obj.terms.get("send", [])]

    @staticmethod
    def resolve_receive(obj: Agreement) -> list[dict]:
        return [
            selectors.term_for(obj, "receive", t["purpose"]) for t in obj.terms.get("receive", [])
        ]


class ConsultationIn(Input):
    agreement_id: int
    postcode: str = Field(max_length=16)
    language: str = Field(default="", max_length=8)
    age_band: str = Field(default="unknown", max_length=16)


class ConsultationOfferOut(Schema):
    organisation: str
    city: str
    free_places: int
    language_ok: bool


class ConsultationOut(Schema):
    covered: bool
    region: str
    organisations: list[ConsultationOfferOut]


class PersonMatchIn(Input):
    agreement_id: int


class PersonMatchOut(Schema):
    result: str = Field(description="match, possible or none")
    text: str


class CrossHandoverIn(Input):
    agreement_id: int
    postcode: str = Field(max_length=16)
    language: str = Field(default="", max_length=8)
    reason: str = Field(max_length=500)
    categories: list[str] = Field(max_length=20)
    consent_note: str = Field(default="", max_length=300)
    justification: str = Field(default="", max_length=2000)


class CrossHandoverOut(Schema):
    id: int
    agreement: str = Field(alias="agreement.code")
    partner: str = Field(alias="agreement.partner")
    direction: str
    status: str
    case_id: int | None
    case_number: str | None
    organisation_id: int | None
    categories: list[str]
    legal_basis: str
    consent_note: str
    justification: str
    reason: str
    decline_reason: str
    postcode: str
    language: str
    pseudonym: str
    partner_reference: str
    created_at: datetime
    decided_at: datetime | None
    completed_at: datetime | None

    @staticmethod
    def resolve_case_number(obj: CrossHandover) -> str | None:
        return obj.case.number if obj.case_id else None


class CrossHandoverListOut(Schema):
    id: int
    agreement: str = Field(alias="agreement.code")
    partner: str = Field(alias="agreement.partner")
    direction: str
    status: str
    case_id: int | None
    categories: list[str]
    created_at: datetime


class CrossHandoverAcceptIn(Input):
    organisation_id: int


class CrossHandoverDeclineIn(Input):
    reason: str = Field(max_length=500)


class CrossHandoverWithdrawIn(Input):
    reason: str = Field(default="", max_length=500)


class FederationMessageOut(Schema):
    id: int
    time: datetime
    direction: str
    partner: str
    agreement: str
    type: str
    status: str
    refusal: str
    categories: list[str]
    legal_basis: str
    case: str
    user: str
    message_hash: str
    answer_hash: str


def _agreement(request, agreement_id: int) -> Agreement:
    agreement = next(
        (a for a in selectors.agreements_for(request.user) if a.pk == agreement_id), None
    )
    if agreement is None:
        raise ValidationError({"agreement_id": [_("Choose an agreement you act under.")]})
    return agreement


def _partner_failure(exc: Exception):
    """503 when the partner cannot be reached, 502 with its code and reason when it refused."""
    if isinstance(exc, services.PartnerRefused):
        return Status(
            502,
            {
                "detail": _("The partner installation refused the request (%(code)s): %(reason)s")
                % {"code": exc.code, "reason": pick_label(exc.reason or {}, fallback="")},
                "code": exc.code,
                "reason": exc.reason or {},
            },
        )
    return Status(
        503,
        {
            "detail": _(
                "The partner installation cannot be reached at the moment. Nothing was sent; "
                "please try again later."
            ),
            "code": getattr(exc, "reason", ""),
        },
    )


@router.get("/agreements", response=list[AgreementOut], summary="The agreements you act under")
def agreements(request):
    return selectors.agreements_for(request.user)


@router.post(
    "/consultations",
    response={
        200: ConsultationOut,
        403: Error,
        422: Error,
        502: FederationPartnerError,
        503: FederationPartnerError,
    },
    summary="Ask a partner, without naming anyone, whether it can counsel a person in a place",
)
def consultation(request, payload: ConsultationIn):
    agreement = _agreement(request, payload.agreement_id)
    try:
        answer = services.consult(
            actor=request.user,
            agreement=agreement,
            postcode=payload.postcode,
            language=payload.language,
            age_band=payload.age_band,
        )
    except (services.PartnerUnavailable, services.PartnerRefused) as exc:
        return _partner_failure(exc)
    return answer.model_dump()


def _case(request, case_id: int):
    return selectors.case_to_hand_over(request.user, case_id)


@router.post(
    "/cases/{case_id}/match",
    response={
        200: PersonMatchOut,
        403: Error,
        404: Error,
        422: Error,
        502: FederationPartnerError,
        503: FederationPartnerError,
    },
    summary="Ask whether the partner has an open case of this person (keyed digests only)",
)
def match(request, case_id: int, payload: PersonMatchIn):
    case = _case(request, case_id)
    agreement = _agreement(request, payload.agreement_id)
    try:
        result = services.match(actor=request.user, agreement=agreement, case=case)
    except (services.PartnerUnavailable, services.PartnerRefused) as exc:
        return _partner_failure(exc)
    return {"result": result, "text": str(MATCH_RESULTS[result])}


@router.post(
    "/cases/{case_id}/handovers",
    response={201: CrossHandoverOut, 403: Error, 404: Error, 422: Error},
    summary="Propose to hand the case over to a partner installation (needs a confirmed "
    "session; never during an emergency access)",
)
@step_up("federation.handover.propose", emergency=case_selectors.reads_by_emergency)
def handover_propose(request, case_id: int, payload: CrossHandoverIn):
    case = _case(request, case_id)
    agreement = _agreement(request, payload.agreement_id)
    handover = services.handover_propose(
        actor=request.user,
        agreement=agreement,
        case=case,
        postcode=payload.postcode,
        language=payload.language,
        reason=payload.reason,
        categories=payload.categories,
        consent_note=payload.consent_note,
        justification=payload.justification,
    )
    return Status(201, selectors.access_handover(request.user, handover.pk))


@router.get(
    "/handovers",
    response=list[CrossHandoverListOut],
    summary="Handovers to and from partner installations that you may see",
)
def handover_list(request, direction: str = "", status: str = ""):
    return selectors.handovers(request.user, direction=direction, status=status)


@router.get(
    "/handovers/{handover_id}",
    response={200: CrossHandoverOut, 404: Error},
    summary="One handover (its reading is audited)",
)
def handover_detail(request, handover_id: int):
    return selectors.access_handover(request.user, handover_id)


def _handover_out(request, handover_id: int):
    return selectors.access_handover(request.user, handover_id)


@router.post(
    "/handovers/{handover_id}/accept",
    response={200: CrossHandoverOut, 403: Error, 404: Error, 422: Error},
    summary="Take over a case the partner asks you to: it opens in your organisation",
)
def handover_accept(request, handover_id: int, payload: CrossHandoverAcceptIn):
    handover = selectors.access_handover(request.user, handover_id, for_write=True)
    organisation = next(
        (
            o
            for o in selectors.receiving_organisations(request.user, handover.agreement)
            if o.pk == payload.organisation_id
        ),
        None,
    )
    services.handover_accept(actor=request.user, handover=handover, organisation=organisation)
    return _handover_out(request, handover_id)


@router.post(
    "/handovers/{handover_id}/decline",
    response={200: CrossHandoverOut, 403: Error, 404: Error, 422: Error},
    summary="Decline a case the partner asks you to take over, with a reason",
)
def handover_decline(request, handover_id: int, payload: CrossHandoverDeclineIn):
    handover = selectors.access_handover(request.user, handover_id, for_write=True)
    services.handover_decline(actor=request.user, handover=handover, reason=payload.reason)
    return _handover_out(request, handover_id)


@router.post(
    "/handovers/{handover_id}/withdraw",
    response={200: CrossHandoverOut, 403: Error, 404: Error, 422: Error},
    summary="Withdraw a handover you proposed, before the partner answers",
)
def handover_withdraw(request, handover_id: int, payload: CrossHandoverWithdrawIn):
    handover = selectors.access_handover(request.user, handover_id, for_write=True)
    services.handover_withdraw(actor=request.user, handover=handover, reason=payload.reason)
    return _handover_out(request, handover_id)


@router.post(
    "/handovers/{handover_id}/disclose",
    response={200: CrossHandoverOut, 403: Error, 404: Error, 422: Error},
    summary="Send the case's information after the partner accepted (needs a confirmed "
    "session; never during an emergency access)",
)
@step_up("federation.handover.disclose", emergency=selectors.reads_handover_by_emergency)
def handover_disclose(request, handover_id: int):
    handover = selectors.access_handover(request.user, handover_id, for_write=True)
    services.handover_disclose(actor=request.user, handover=handover)
    return _handover_out(request, handover_id)


@router.get(
    "/register",
    response={200: list[FederationMessageOut], 403: Error},
    summary="Every message to and from partner installations: metadata, never content "
    "(data protection officers and coordinators)",
)
def register(request, agreement: str = "", direction: str = "", status: str = ""):
    return selectors.register_rows(
        selectors.register(
            request.user, agreement=agreement[:64], direction=direction, status=status
        )
    )
