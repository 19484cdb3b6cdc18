"""API operations of the hotline: contacts, follow-ups, routing and referrals."""

from datetime import date, datetime
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from casebridge.access.policy import HOTLINE_ROLES, PARTNER_ROLES, organisations_with
from casebridge.apischema import Day, Error, Input, Instant, QueryFlag, QueryInt
from casebridge.cooperation_models.models import Term
from casebridge.hotline import routing, selectors, services
from casebridge.hotline.models import AgeBand, Channel, Gender, Referral
from casebridge.network.models import Organisation, Region
from casebridge.network.selectors import PostcodeError

router = Router(tags=["hotline"])


class ReferralIn(Input):
    partner_id: int
    mode: Referral.Mode | None = Field(
        default=None, description="consent (contact details passed on) or anonymous"
    )
    consent_note: str = Field(default="", max_length=300)
    message: str = Field(default="", max_length=5000)
    services: list[str] = Field(default=[], max_length=20)


AnswerCode = Literal["yes", "no", "unclear"]  # hotline.models.Answer


class ContactIn(Input):
    channel: Channel = Channel.PHONE
    started_at: Instant
    ended_at: Instant | None = None
    language: str = Field(default="de", max_length=64)
    interpreter_used: bool = False
    caller_category: str = Field(max_length=64)
    caller_relation: str | None = Field(default=None, max_length=64)
    anonymous: bool = True
    caller_name: str = Field(default="", max_length=200)
    caller_phone: str = Field(default="", max_length=60)
    caller_email: str = Field(default="", max_length=254)
    caller_postcode: str = Field(default="", max_length=16)
    caller_region: str | None = Field(
        default=None, max_length=32, description="a region code, when there is no postcode"
    )
    person_age_band: AgeBand = AgeBand.UNKNOWN
    person_gender: Gender = Gender.UNKNOWN
    concern_topics: list[str] = Field(default=[], max_length=30)
    first_analysis: dict[str, AnswerCode] = Field(
        default={},
        max_length=50,
        description="point code → yes | no | unclear; a 'yes' to a danger starts the "
        "hotline's procedure (GET /api/v1/sop/contacts/{id}/disclosures)",
    )
    summary: str = Field(default="", max_length=20000)
    advice: str = Field(default="", max_length=20000)
    contact_category: str = Field(max_length=64)
    closing_reason: str | None = Field(default=None, max_length=64)
    next_steps: str = Field(default="", max_length=5000)
    follow_up_on: Day | None = None
    earlier_contact_id: int | None = None
    referral: ReferralIn | None = None


class ContactPatch(Input):
    channel: Channel | None = None
    ended_at: Instant | None = None
    language: str | None = Field(default=None, max_length=64)
    interpreter_used: bool | None = None
    caller_category: str | None = Field(default=None, max_length=64)
    caller_relation: str | None = Field(default=None, max_length=64)
    anonymous: bool | None = None
    caller_name: str | None = Field(default=None, max_length=200)
    caller_phone: str | None = Field(default=None, max_length=60)
    caller_email: str | None = Field(default=None, max_length=254)
    caller_postcode: str | None = Field(default=None, max_length=16)
    person_age_band: AgeBand | None = None
    person_gender: Gender | None = None
    concern_topics: list[str] | None = Field(default=None, max_length=30)
    first_analysis: dict[str, AnswerCode] | None = Field(default=None, max_length=50)
    summary: str | None = Field(default=None, max_length=20000)
    advice: str | None = Field(default=None, max_length=20000)
    contact_category: str | None = Field(default=None, max_length=64)
    closing_reason: str | None = Field(default=None, max_length=64)
    next_steps: str | None = Field(default=None, max_length=5000)
    follow_up_on: Day | None = None


class ReferralEventOut(Schema):
    kind: str
    at: datetime
    actor: str
    note: str

    @staticmethod
    def resolve_actor(obj):
        return str(obj.actor)


class ReferralOut(Schema):
    id: int
    contact_reference: str = Field(alias="contact.reference")
    partner_id: int
    partner_name: str = Field(alias="partner.name")
    mode: str
    status: str
    message: str
    services: list[str]
    sent_at: datetime
    responded_at: datetime | None
    decline_reason: str
    first_contact_at: datetime | None
    first_appointment_on: date | None
    caller_category: str = Field(alias="contact.caller_category.code")
    language: str = Field(alias="contact.language.code")
    person_age_band: str = Field(alias="contact.person_age_band")
    person_gender: str = Field(alias="contact.person_gender")
    person_region: str | None = Field(default=None, alias="contact.person_region.code")
    concern_topics: list[str]

    @staticmethod
    def resolve_services(obj):
        return [t.code for t in obj.services.all()]

    @staticmethod
    def resolve_concern_topics(obj):
        return [t.code for t in obj.contact.concern_topics.all()]


class ReferralDetailOut(ReferralOut):
    history: list[ReferralEventOut] = Field(alias="events")

    @staticmethod
    def resolve_history(obj):
        return selectors.referral_history(obj)


class ContactOut(Schema):
    id: int
    reference: str
    channel: str
    started_at: datetime
    ended_at: datetime | None
    duration_minutes: int | None
    counsellor_id: int
    language: str = Field(alias="language.code")
    interpreter_used: bool
    caller_category: str = Field(alias="caller_category.code")
    caller_relation: str | None = Field(default=None, alias="caller_relation.code")
    anonymous: bool
    caller_postcode: str
    caller_region: str | None = Field(default=None, alias="caller_region.code")
    person_age_band: str
    person_gender: str
    person_region: str | None = Field(default=None, alias="person_region.code")
    concern_topics: list[str]
    first_analysis: dict[str, str]
    summary: str
    advice: str
    contact_category: str = Field(alias="contact_category.code")
    closing_reason: str | None = Field(default=None, alias="closing_reason.code")
    next_steps: str
    follow_up_on: date | None
    follow_up_done_at: datetime | None
    earlier_contact_id: int | None

    @staticmethod
    def resolve_concern_topics(obj):
        return [t.code for t in obj.concern_topics.all()]


class ContactDetailOut(ContactOut):
    referrals: list[ReferralDetailOut]

    @staticmethod
    def resolve_referrals(obj):
        return selectors.contact_referrals(obj)


class CallerIdentityOut(Schema):
    name: str
    phone: str
    email: str


class RouteIn(Input):
    postcode: str = Field(min_length=1, max_length=16)
    services: list[str] = Field(default=[], max_length=20)
    language: str = Field(default="", max_length=64)
    limit: int = Field(default=5, ge=1, le=50)


class SuggestionOut(Schema):
    organisation_id: int
    name: str
    match_level: int
    matched_region: str
    missing_services: list[str]
    language_ok: bool
    free_capacity: int
    capacity: int
    distance_km: float | None
    reasons: list[str]


class RouteOut(Schema):
    postcode: str
    region: str
    state: str | None
    suggestions: list[SuggestionOut]


class ContactSearchIn(Input):
    q: str = Field(default="", max_length=100)
    day_from: Day | None = None
    day_to: Day | None = None
    contact_category: str = Field(default="", max_length=64)
    caller_category: str = Field(default="", max_length=64)
    follow_up_open: bool = False


class DeclineIn(Input):
    reason: str = Field(min_length=1, max_length=2000)


class AppointmentIn(Input):
    on: Day


class WithdrawIn(Input):
    reason: str = Field(default="", max_length=2000)


def _terms(kind: str, codes: list[str], field: str) -> list[Term]:
    found = {t.code: t for t in Term.objects.of(kind).filter(code__in=codes)}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise ValidationError({field: [_("Unknown: %(codes)s") % {"codes": ", ".join(unknown)}]})
    return [found[code] for code in codes]


def _term(kind: str, code: str | None, field: str) -> Term | None:
    if code is None:
        return None
    return _terms(kind, [code], field)[0]


def _contact_values(data: dict) -> dict:
    values = dict(data)
    if values.get("caller_region") is not None:
        region = Region.objects.filter(code=values["caller_region"], active=True).first()
        if region is None:
            raise ValidationError({"caller_region": [_("Unknown region.")]})
        values["caller_region"] = region
    for name in services.TERM_FIELDS:
        if name in values:
            values[name] = _term(name, values[name], name)
    if values.get("first_analysis") is not None:
        values["first_analysis"] = dict(values["first_analysis"])
    elif "first_analysis" in values:
        del values["first_analysis"]
    return values


def _referral_request(payload: ReferralIn) -> services.ReferralRequest:
    partner = (
        Organisation.objects.select_related("type__sector").filter(pk=payload.partner_id).first()
    )
    if partner is None:
        raise ValidationError({"referral.partner_id": [_("Unknown organisation.")]})
    return services.ReferralRequest(
        partner=partner,
        mode=payload.mode or "",
        consent_note=payload.consent_note,
        message=payload.message,
        services=_terms("service", payload.services, "referral.services"),
    )


def _respond(request, referral_id: int, perform):
    referral = selectors.access_referral(request.user, referral_id)
    try:
        perform(referral)
    except PermissionError:
        raise PermissionDenied from None
    return selectors.access_referral(request.user, referral_id)


@router.post(
    "/contacts",
    response={201: ContactDetailOut, 403: Error, 422: Error},
    summary="Record a contact (optionally with a referral, in one transaction)",
)
def contact_create(request, payload: ContactIn):
    organisation = selectors.hotline_organisation_of(request.user)
    data = payload.dict(exclude={"referral", "concern_topics", "earlier_contact_id"})
    values = _contact_values(data)
    if payload.earlier_contact_id is not None:
        try:
            values["earlier_contact"] = selectors.access_contact(
                request.user, payload.earlier_contact_id
            )
        except Http404:  # an invisible earlier contact is simply unknown here
            raise ValidationError({"earlier_contact_id": [_("Unknown earlier contact.")]}) from None
    contact = services.contact_create(
        actor=request.user,
        organisation=organisation,
        values=values,
        topics=_terms("concern_topic", payload.concern_topics, "concern_topics"),
        referral=_referral_request(payload.referral) if payload.referral else None,
    )
    return Status(201, selectors.access_contact(request.user, contact.pk))


@router.get(
    "/contacts", response={200: list[ContactOut], 403: Error}, summary="Contacts (newest first)"
)
def contact_list(
    request,
    day_from: Day | None = None,
    day_to: Day | None = None,
    contact_category: str = Query("", max_length=64),
    caller_category: str = Query("", max_length=64),
    follow_up_open: QueryFlag = False,
):
    if not organisations_with(request.user, HOTLINE_ROLES):
        raise PermissionDenied
    return selectors.contact_list(
        request.user,
        day_from=day_from,
        day_to=day_to,
        contact_category=contact_category,
        caller_category=caller_category,
        follow_up_open=follow_up_open,
    )


@router.post(
    "/contacts/search",
    response={200: list[ContactOut], 403: Error},
    summary="Search contacts by reference or words (POST keeps words out of URLs)",
)
def contact_search(request, payload: ContactSearchIn):
    if not organisations_with(request.user, HOTLINE_ROLES):
        raise PermissionDenied
    return selectors.contact_list(request.user, query=payload.q, **payload.dict(exclude={"q"}))


@router.get("/contacts/{contact_id}", response={200: ContactDetailOut, 404: Error})
def contact_detail(request, contact_id: int):
    return selectors.access_contact(request.user, contact_id)


@router.get(
    "/contacts/{contact_id}/identity",
    response={200: CallerIdentityOut, 404: Error},
    summary="The caller's identity (audited read); 404 when anonymous or not allowed",
)
def contact_identity(request, contact_id: int):
    contact = selectors.access_contact(request.user, contact_id)
    identity = selectors.caller_identity(request.user, contact=contact)
    if identity is None:
        raise Http404
    return identity


@router.patch("/contacts/{contact_id}", response={200: ContactDetailOut, 404: Error, 422: Error})
def contact_update(request, contact_id: int, payload: ContactPatch):
    contact = selectors.access_contact(request.user, contact_id, for_write=True)
    data = payload.dict(exclude_unset=True)
    topics = data.pop("concern_topics", None)
    services.contact_update(
        actor=request.user,
        contact=contact,
        values=_contact_values(data),
        topics=_terms("concern_topic", topics, "concern_topics") if topics is not None else None,
    )
    return selectors.access_contact(request.user, contact_id)


@router.post(
    "/contacts/{contact_id}/follow-up-done",
    response={200: ContactDetailOut, 404: Error, 422: Error},
)
def follow_up_done(request, contact_id: int):
    contact = selectors.access_contact(request.user, contact_id, for_write=True)
    services.follow_up_done(actor=request.user, contact=contact)
    return selectors.access_contact(request.user, contact_id)


@router.get("/follow-ups", response={200: list[ContactOut], 403: Error}, summary="Open follow-ups")
def follow_up_list(
    request,
    within_days: QueryInt = Query(7, ge=0, le=365),  # noqa: B008 - ruff knows int, not QueryInt
):
    if not organisations_with(request.user, HOTLINE_ROLES):
        raise PermissionDenied
    return selectors.follow_ups(request.user, within_days=within_days)


@router.post(
    "/route",
    response={200: RouteOut, 403: Error, 422: Error},
    summary="Rank local partners for a postcode, with the reasons",
)
def route(request, payload: RouteIn):
    if not organisations_with(request.user, HOTLINE_ROLES):
        raise PermissionDenied
    if payload.services:
        _terms("service", payload.services, "services")
    if payload.language:
        _terms("language", [payload.language], "language")
    try:
        place, suggestions = routing.suggest_for_postcode(
            payload.postcode,
            services=payload.services,
            language=payload.language,
            limit=payload.limit,
        )
    except PostcodeError as exc:
        raise ValidationError({"postcode": [str(exc)]}) from None
    return {
        "postcode": place.postcode,
        "region": place.region.code,
        "state": place.state.code if place.state else None,
        "suggestions": suggestions,
    }


@router.post(
    "/contacts/{contact_id}/referrals",
    response={201: ReferralDetailOut, 404: Error, 422: Error},
    summary="Refer a contact to a partner (with consent or anonymously)",
)
def referral_create(request, contact_id: int, payload: ReferralIn):
    contact = selectors.access_contact(request.user, contact_id, for_write=True)
    referral = services.referral_create(
        actor=request.user, contact=contact, request=_referral_request(payload)
    )
    return Status(201, selectors.access_referral(request.user, referral.pk))


@router.get(
    "/referrals",
    response={200: list[ReferralOut], 403: Error},
    summary="Referrals to your organisation",
)
def referral_inbox(request, status: Referral.Status | None = None):
    if not organisations_with(request.user, PARTNER_ROLES):
        raise PermissionDenied
    return selectors.referral_inbox(request.user, status=status or "")


@router.get("/referrals/{referral_id}", response={200: ReferralDetailOut, 404: Error})
def referral_detail(request, referral_id: int):
    return selectors.access_referral(request.user, referral_id)


@router.get(
    "/referrals/{referral_id}/identity",
    response={200: CallerIdentityOut, 404: Error},
    summary="The caller's contact details, where the caller consented (audited read)",
)
def referral_identity(request, referral_id: int):
    referral = selectors.access_referral(request.user, referral_id)
    identity = selectors.caller_identity(request.user, referral=referral)
    if identity is None:
        raise Http404
    return identity


@router.post(
    "/referrals/{referral_id}/accept",
    response={200: ReferralDetailOut, 403: Error, 404: Error, 422: Error},
)
def referral_accept(request, referral_id: int):
    return _respond(
        request, referral_id, lambda r: services.referral_accept(actor=request.user, referral=r)
    )


@router.post(
    "/referrals/{referral_id}/decline",
    response={200: ReferralDetailOut, 403: Error, 404: Error, 422: Error},
)
def referral_decline(request, referral_id: int, payload: DeclineIn):
    return _respond(
        request,
        referral_id,
        lambda r: services.referral_decline(actor=request.user, referral=r, reason=payload.reason),
    )


@router.post(
    "/referrals/{referral_id}/first-contact",
    response={200: ReferralDetailOut, 403: Error, 404: Error, 422: Error},
)
def referral_first_contact(request, referral_id: int):
    return _respond(
        request,
        referral_id,
        lambda r: services.referral_first_contact(actor=request.user, referral=r),
    )


@router.post(
    "/referrals/{referral_id}/appointment",
    response={200: ReferralDetailOut, 403: Error, 404: Error, 422: Error},
)
def referral_appointment(request, referral_id: int, payload: AppointmentIn):
    return _respond(
        request,
        referral_id,
        lambda r: services.referral_appointment(actor=request.user, referral=r, on=payload.on),
    )


@router.post(
    "/referrals/{referral_id}/withdraw",
    response={200: ReferralDetailOut, 403: Error, 404: Error, 422: Error},
)
def referral_withdraw(request, referral_id: int, payload: WithdrawIn):
    return _respond(
        request,
        referral_id,
        lambda r: services.referral_withdraw(actor=request.user, referral=r, reason=payload.reason),
    )
