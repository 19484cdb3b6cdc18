"""API operations for the SOP: simulate, events, consents, disclosures, tasks, the register."""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from casebridge.access import protocol as protocol_events
from casebridge.access.policy import Action, decide, seat_participant
from casebridge.accounts.stepup import step_up
from casebridge.apischema import Day, Error, Input
from casebridge.cases import selectors as case_selectors
from casebridge.cooperation_models.models import Term
from casebridge.hotline import selectors as hotline_selectors
from casebridge.sharing import emergency, selectors, services
from casebridge.sop.events import HOTLINE_EVENTS, RECORDED_EVENTS

router = Router(tags=["sop"])


class OutcomeOut(Schema):
    rule: str
    label: str
    obligation: str
    sender: str = Field("", description="who informs, in words ('' for a barrier)")
    sender_participant_id: int | None = None
    recipient: str
    recipient_participant_id: int | None
    categories: list[str]
    due: datetime | None
    legal_basis: str
    consent_required: bool
    second_approval: bool
    overridden_by: list[str]


class SimulationOut(Schema):
    protocol: str | None
    outcomes: list[OutcomeOut]


class SimulateIn(Input):
    event: str = Field(max_length=32)
    likelihood: str = Field(default="", max_length=24)
    imminence: str = Field(default="", max_length=16)
    event_date: Day | None = None


class EventIn(Input):
    code: str = Field(max_length=32, description=f"one of {', '.join(RECORDED_EVENTS)}")
    event_date: Day | None = None


class ObligationOut(Schema):
    id: int
    case_id: int
    rule: str
    label: str
    recipient_id: int | None
    recipient_label: str
    categories: list[str]
    legal_basis: str
    due_at: datetime | None
    status: str
    second_approval: bool
    consent_required: bool


class ConsentIn(Input):
    given_by: str = Field(max_length=10)
    purpose: str = Field(max_length=300)
    categories: list[str] = Field(max_length=10)
    recipients: list[int] = Field(max_length=20, description="participant ids")
    given_on: Day | None = None
    valid_until: Day | None = None


class ConsentOut(Schema):
    id: int
    given_by: str
    purpose: str
    categories: list[str]
    recipients: list[int]
    given_on: date
    valid_until: date | None
    withdrawn_at: datetime | None

    @staticmethod
    def resolve_categories(obj):
        return sorted(t.code for t in obj.categories.all())

    @staticmethod
    def resolve_recipients(obj):
        return [p.pk for p in obj.recipients.all()]


class DisclosureIn(Input):
    to_participant_id: int
    entries: list[int] = Field(default=[], max_length=50)
    excerpt: str = Field(default="", max_length=10_000)
    excerpt_category: str | None = Field(default=None, max_length=64)
    purpose: str = Field(max_length=300)
    legal_basis: str | None = Field(default=None, max_length=64)
    consent_id: int | None = None
    justification: str = Field(default="", max_length=5000)
    obligation_id: int | None = None
    answers_request_id: int | None = Field(
        default=None, description="the open request for information this disclosure answers"
    )
    approver_id: int | None = Field(
        default=None,
        description="the colleague (or coordinator) asked to approve, where approval is needed",
    )


class InformationRequestIn(Input):
    to_participant_id: int
    categories: list[str] = Field(max_length=10, description="information category codes")
    question: str = Field(max_length=500)
    purpose: str = Field(max_length=300)
    legal_basis: str | None = Field(default=None, max_length=64)
    due_on: Day


class RefuseIn(Input):
    reason: str = Field(max_length=500)


class RequestRowOut(Schema):
    """A request as the register lists it: who asked whom, why, on which basis, what became
    of it — never the question or the reason for a refusal."""

    id: int
    case_id: int
    from_participant_id: int
    from_organisation: str = Field(alias="from_participant.organisation.name")
    to_participant_id: int
    to_organisation: str = Field(alias="to_participant.organisation.name")
    categories: list[str]
    purpose: str
    legal_basis: str = Field(alias="legal_basis.code")
    due_at: datetime
    status: str
    requested_at: datetime
    decided_at: datetime | None

    @staticmethod
    def resolve_categories(obj):
        return sorted(t.code for t in obj.categories.all())


class InformationRequestOut(RequestRowOut):
    """A request as the two participants (and the lead) see it in the case."""

    question: str
    refusal: str
    answered_by: list[int] = Field(description="disclosures that answer it")

    @staticmethod
    def resolve_answered_by(obj):
        return [d.pk for d in obj.answered_by]  # prefetched by the selector


class RequestDirectionOut(Schema):
    from_sector: str
    to_sector: str
    asked: int
    answered: int
    refused: int
    open: int
    overdue: int


class RequestRegisterOut(Schema):
    directions: list[RequestDirectionOut]
    requests: list[RequestRowOut]


class DisclosureOut(Schema):
    id: int
    case_id: int
    from_organisation: str = Field(alias="from_participant.organisation.name")
    to_participant_id: int
    to_organisation: str = Field(alias="to_participant.organisation.name")
    purpose: str
    legal_basis: str = Field(alias="legal_basis.code")
    consent_id: int | None
    obligation_id: int | None
    answers_id: int | None = Field(description="the request for information it answers")
    status: str
    requested_at: datetime
    decided_at: datetime | None


class ReceivedOut(DisclosureOut):
    excerpt: str
    entry_ids: list[int]

    @staticmethod
    def resolve_entry_ids(obj):
        return selectors.disclosed_entry_ids(obj)


class ReviewEntryOut(Schema):
    id: int
    title: str
    category: str = Field(alias="category.code")
    occurred_on: date
    text: str


class DisclosureReviewOut(DisclosureOut):
    case_number: str = Field(alias="case.number")
    case_phase: str = Field(alias="case.phase")
    excerpt: str
    excerpt_category: str | None = Field(default=None, alias="excerpt_category.code")
    justification: str
    approver_id: int | None
    entries: list[ReviewEntryOut]

    @staticmethod
    def resolve_entries(obj):
        return obj.items  # read by the selector (sharing.selectors.disclosure_review)


class CaseSharingOut(Schema):
    obligations: list[ObligationOut]
    disclosures: list[DisclosureOut]
    received: list[ReceivedOut]
    consents: list[ConsentOut]
    requests: list[InformationRequestOut]


class DecisionIn(Input):
    approve: bool


class CancelIn(Input):
    reason: str = Field(max_length=300)


class TasksOut(Schema):
    obligations: list[ObligationOut]
    approvals: list[DisclosureOut]
    requests: list[InformationRequestOut]


def _term(kind: str, code: str | None, field: str):
    if code is None:
        return None
    term = Term.objects.of(kind).filter(code=code).first()
    if term is None:
        raise ValidationError({field: [_("Unknown: %(codes)s") % {"codes": code}]})
    return term


@router.post(
    "/cases/{case_id}/simulate",
    response={200: SimulationOut, 404: Error, 422: Error},
    summary="Who must or may inform whom for a hypothetical event (changes nothing)",
)
def simulate(request, case_id: int, payload: SimulateIn):
    case = case_selectors.access_case(request.user, case_id)
    protocol, outcomes = protocol_events.simulate(
        case,
        payload.event,
        likelihood=payload.likelihood,
        imminence=payload.imminence,
        event_date=payload.event_date,
    )
    return {"protocol": str(protocol) if protocol else None, "outcomes": outcomes}


@router.get(
    "/cases/{case_id}",
    response={200: CaseSharingOut, 404: Error},
    summary="Obligations, disclosures and consents of a case, as you may see them",
)
def case_sharing(request, case_id: int):
    return _sharing_out(request.user, case_selectors.access_case(request.user, case_id))


def _sharing_out(actor, case) -> dict:
    """The SOP side of the case with what was disclosed to the caller (the read audited)."""
    return {
        **vars(selectors.case_sharing(actor, case)),
        "received": selectors.received_disclosures(actor, case),
        "requests": selectors.case_requests(actor, case),
    }


@router.post(
    "/cases/{case_id}/events", response={201: CaseSharingOut, 403: Error, 404: Error, 422: Error}
)
def event_record(request, case_id: int, payload: EventIn):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    services.event_record(
        actor=request.user, case=case, code=payload.code, event_date=payload.event_date
    )
    return Status(201, _sharing_out(request.user, case))


@router.post(
    "/cases/{case_id}/consents", response={201: ConsentOut, 403: Error, 404: Error, 422: Error}
)
def consent_add(request, case_id: int, payload: ConsentIn):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    categories = [_term("information_category", code, "categories") for code in payload.categories]
    choices = selectors.disclosure_choices(request.user, case)
    own = seat_participant(request.user, case)
    recipients = [p for p in [*choices["to_participant"], own] if p.pk in payload.recipients]
    if len(recipients) != len(set(payload.recipients)):
        raise ValidationError({"recipients": [_("Unknown participant.")]})
    consent = services.consent_record(
        actor=request.user,
        case=case,
        given_by=payload.given_by,
        purpose=payload.purpose,
        categories=categories,
        recipients=recipients,
        given_on=payload.given_on,
        valid_until=payload.valid_until,
    )
    return Status(201, consent)


@router.post(
    "/cases/{case_id}/consents/{consent_id}/withdraw",
    response={200: ConsentOut, 403: Error, 404: Error, 422: Error},
)
def consent_withdraw(request, case_id: int, consent_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    return services.consent_withdraw(
        actor=request.user, consent=selectors.case_consent(case, consent_id)
    )


@router.post(
    "/cases/{case_id}/disclosures",
    response={201: DisclosureOut, 403: Error, 404: Error, 422: Error},
    summary="Disclose items or an excerpt beyond the recipient's scope (a confirmed browser "
    "session; never a token)",
)
@step_up("sharing.disclosure.request", emergency=case_selectors.reads_by_emergency)
def disclosure_request(request, case_id: int, payload: DisclosureIn):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    choices = selectors.disclosure_choices(request.user, case)
    recipient = choices["to_participant"].filter(pk=payload.to_participant_id).first()
    if recipient is None:
        raise ValidationError(
            {"to_participant_id": [_("Choose an active participant of this case.")]}
        )
    entries = list(choices["entries"].filter(pk__in=payload.entries))
    if len(entries) != len(set(payload.entries)):
        raise ValidationError(
            {"entries": [_("You can only disclose items you may read in this case.")]}
        )
    consent = (
        choices["consent"].filter(pk=payload.consent_id).first() if payload.consent_id else None
    )
    if payload.consent_id and consent is None:
        raise ValidationError({"consent_id": [_("Unknown or withdrawn consent.")]})
    obligation = (
        choices["obligation"].filter(pk=payload.obligation_id).first()
        if payload.obligation_id
        else None
    )
    if payload.obligation_id and obligation is None:
        raise ValidationError({"obligation_id": [_("Unknown or closed obligation.")]})
    answers = (
        choices["answers"].filter(pk=payload.answers_request_id).first()
        if payload.answers_request_id
        else None
    )
    approver = (
        choices["approver"].filter(pk=payload.approver_id).first() if payload.approver_id else None
    )
    if payload.approver_id and approver is None:
        raise ValidationError(
            {
                "approver_id": [
                    _("Choose a colleague of your organisation in this case, or a coordinator.")
                ]
            }
        )
    if payload.answers_request_id and answers is None:
        raise ValidationError(
            {"answers_request_id": [_("Unknown or closed request, or not to your organisation.")]}
        )
    disclosure = services.disclosure_request(
        actor=request.user,
        case=case,
        to_participant=recipient,
        entries=entries,
        excerpt=payload.excerpt,
        excerpt_category=_term(
            "information_category", payload.excerpt_category, "excerpt_category"
        ),
        purpose=payload.purpose,
        legal_basis=_term("legal_basis", payload.legal_basis, "legal_basis"),
        consent=consent,
        justification=payload.justification,
        obligation=obligation,
        answers=answers,
        approver=approver,
    )
    return Status(201, disclosure)


@router.get(
    "/disclosures/{disclosure_id}",
    response={200: DisclosureReviewOut, 403: Error, 404: Error},
    summary="A pending disclosure with its whole context, for the second person (audited)",
)
def disclosure_review(request, disclosure_id: int):
    return selectors.disclosure_review(request.user, disclosure_id)


@router.post(
    "/cases/{case_id}/requests",
    response={201: InformationRequestOut, 403: Error, 404: Error, 422: Error},
    summary="Ask another participant of the case for specific information",
)
def request_add(request, case_id: int, payload: InformationRequestIn):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    recipient = (
        case_selectors.active_participants(case).filter(pk=payload.to_participant_id).first()
    )
    created = services.information_request_create(
        actor=request.user,
        case=case,
        to_participant=recipient,
        categories=[
            _term("information_category", code, "categories") for code in payload.categories
        ],
        question=payload.question,
        purpose=payload.purpose,
        legal_basis=_term("legal_basis", payload.legal_basis, "legal_basis"),
        due_on=payload.due_on,
    )
    return Status(201, selectors.case_request(request.user, case, created.pk))


@router.post(
    "/cases/{case_id}/requests/{request_id}/refuse",
    response={200: InformationRequestOut, 403: Error, 404: Error, 422: Error},
    summary="Refuse a request to your organisation, saying why",
)
def request_refuse(request, case_id: int, request_id: int, payload: RefuseIn):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    asked = selectors.case_request(request.user, case, request_id)
    services.information_request_refuse(
        actor=request.user, info_request=asked, reason=payload.reason
    )
    return selectors.case_request(request.user, case, request_id)


@router.post(
    "/cases/{case_id}/requests/{request_id}/withdraw",
    response={200: InformationRequestOut, 403: Error, 404: Error, 422: Error},
    summary="Withdraw a request your organisation made",
)
def request_withdraw(request, case_id: int, request_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    asked = selectors.case_request(request.user, case, request_id)
    services.information_request_withdraw(actor=request.user, info_request=asked)
    return selectors.case_request(request.user, case, request_id)


@router.post(
    "/disclosures/{disclosure_id}/decide",
    response={200: DisclosureOut, 403: Error, 404: Error},
    summary="Approve or reject as the second person (a confirmed browser session; never a token)",
)
@step_up("sharing.disclosure.decide", emergency=selectors.decides_by_emergency)
def disclosure_decide(request, disclosure_id: int, payload: DecisionIn):
    disclosure = selectors.disclosure_for_decision(request.user, disclosure_id)
    return services.disclosure_decide(
        actor=request.user, disclosure=disclosure, approve=payload.approve
    )


@router.post(
    "/cases/{case_id}/obligations/{obligation_id}/cancel",
    response={200: ObligationOut, 403: Error, 404: Error, 422: Error},
)
def obligation_cancel(request, case_id: int, obligation_id: int, payload: CancelIn):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    obligation = selectors.case_obligation(case, obligation_id)
    return services.obligation_cancel(
        actor=request.user, obligation=obligation, reason=payload.reason
    )


@router.get("/tasks", response=TasksOut, summary="Your open obligations and approvals")
def tasks(request):
    return selectors.my_tasks(request.user)


@router.get(
    "/register",
    response={200: list[DisclosureOut], 404: Error},
    summary="All disclosures across cases (data protection officer)",
)
def register(request, legal_basis: str = ""):
    return selectors.register(request.user, legal_basis=legal_basis[:64])


@router.get(
    "/register/requests",
    response={200: RequestRegisterOut, 404: Error},
    summary="Requests for information by direction and the newest 1,000 (data protection officer)",
)
def request_register(request):
    return selectors.request_register(request.user)


# --- emergency access (break-glass) -----------------------------------------------------


class EmergencyAccessIn(Input):
    case_number: str = Field(max_length=20)
    reason: str = Field(max_length=2000)
    hours: int = Field(description="1, 2 or 4")


class EmergencyAccessOut(Schema):
    id: int
    case_id: int
    case_number: str = Field(alias="case.number")
    user: str = Field(alias="user.username")
    reason: str
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    active: bool = Field(alias="is_active")
    review_outcome: str
    review_note: str
    reviewed_at: datetime | None


class EmergencyReviewIn(Input):
    outcome: str = Field(max_length=16, description="justified or not_justified")
    note: str = Field(default="", max_length=2000)


class EmergencyQueueOut(Schema):
    waiting: list[EmergencyAccessOut]
    reviewed: list[EmergencyAccessOut]


@router.post(
    "/emergency-access",
    response={201: EmergencyAccessOut, 403: Error, 404: Error, 422: Error},
    summary="Open a case in an emergency (network coordinators in a confirmed browser session; "
    "audited and reviewed)",
)
@step_up("sharing.emergency.start")
def emergency_access_start(request, payload: EmergencyAccessIn):
    case = selectors.emergency_case(request.user, payload.case_number)
    access = emergency.emergency_access_start(
        actor=request.user, case=case, reason=payload.reason, hours=payload.hours
    )
    return Status(201, access)


@router.get(
    "/emergency-access",
    response={200: list[EmergencyAccessOut], 404: Error},
    summary="Your emergency accesses (network coordinators)",
)
def emergency_access_list(request):
    return selectors.my_emergency_accesses(request.user)


@router.post(
    "/emergency-access/{access_id}/end",
    response={200: EmergencyAccessOut, 403: Error, 404: Error, 422: Error},
    summary="End your emergency access now",
)
def emergency_access_end(request, access_id: int):
    access = selectors.emergency_access(request.user, access_id)
    return emergency.emergency_access_end(actor=request.user, access=access)


@router.get(
    "/emergency-access/reviews",
    response={200: EmergencyQueueOut, 404: Error},
    summary="Emergency accesses waiting for review (data protection officers)",
)
def emergency_access_reviews(request):
    return selectors.emergency_review_queue(request.user)


@router.post(
    "/emergency-access/{access_id}/review",
    response={200: EmergencyAccessOut, 403: Error, 404: Error, 422: Error},
    summary="Review an ended emergency access (data protection officers)",
)
def emergency_access_review(request, access_id: int, payload: EmergencyReviewIn):
    access, _events = selectors.emergency_access_review_page(request.user, access_id)
    return emergency.emergency_access_review(
        actor=request.user, access=access, outcome=payload.outcome, note=payload.note
    )


# --- the hotline's path to the authorities -------------------------------------------------


class ContactEventIn(Input):
    code: str = Field(max_length=32, description=f"one of {', '.join(HOTLINE_EVENTS)}")


class ContactDisclosureOut(Schema):
    """A hotline disclosure. The recipient sees it once sent; the contact behind it stays
    with the hotline (its reference only for the hotline)."""

    id: int
    contact_reference: str | None
    event: str
    rule: str
    rule_label: str
    duty: str
    status: str
    recipient_id: int | None
    recipient: str | None
    categories: list[str]
    legal_basis: str
    due_at: datetime | None
    overdue: bool
    sent_at: datetime | None
    received_at: datetime | None
    note: str

    @staticmethod
    def resolve_contact_reference(obj):
        return obj.contact.reference if getattr(obj, "hotline_side", False) else None

    @staticmethod
    def resolve_event(obj):
        return obj.event.code

    @staticmethod
    def resolve_recipient(obj):
        return obj.recipient.name if obj.recipient else None

    @staticmethod
    def resolve_legal_basis(obj):
        return obj.legal_basis.code

    @staticmethod
    def resolve_sent_at(obj):
        return obj.decided_at if obj.status == "sent" else None


class ContactDisclosureDetailOut(ContactDisclosureOut):
    excerpt: str
    identity: str
    caller: dict[str, str] | None
    purpose: str
    justification: str
    person_age_band: str
    person_gender: str
    person_region: str | None
    approver_id: int | None

    @staticmethod
    def resolve_person_age_band(obj):
        return obj.contact.person_age_band

    @staticmethod
    def resolve_person_gender(obj):
        return obj.contact.person_gender

    @staticmethod
    def resolve_person_region(obj):
        region = obj.contact.person_region
        return region.code if region else None


class ContactDisclosurePrepareIn(Input):
    recipient_id: int | None = None
    excerpt: str = Field(default="", max_length=4000)
    identity: str = Field(default="", max_length=1000)
    include_caller_contact: bool = False
    purpose: str = Field(default="", max_length=300)
    legal_basis: str | None = Field(default=None, max_length=64)
    justification: str = Field(default="", max_length=4000)
    approver_id: int | None = None


class ContactDisclosureDecisionIn(Input):
    send: bool
    note: str = Field(default="", max_length=500)


class ContactDisclosureCancelIn(Input):
    reason: str = Field(max_length=500)


def _with_side(actor, disclosure):
    disclosure.hotline_side = bool(decide(actor, Action.CHANGE, disclosure))
    return disclosure


@router.post(
    "/contacts/{contact_id}/events",
    response={201: list[ContactDisclosureOut], 403: Error, 404: Error, 422: Error},
    summary="Record a danger a hotline contact showed; returns the disclosures the "
    "hotline's procedure asks for",
)
def contact_event_record(request, contact_id: int, payload: ContactEventIn):
    contact = hotline_selectors.access_contact(request.user, contact_id, for_write=True)
    services.contact_event_record(actor=request.user, contact=contact, code=payload.code)
    rows = selectors.contact_disclosures(request.user, contact)
    return Status(201, [_with_side(request.user, d) for d in rows])


@router.get(
    "/contacts/{contact_id}/disclosures",
    response={200: list[ContactDisclosureOut], 404: Error},
    summary="The disclosures of a hotline contact (the hotline only)",
)
def contact_disclosure_list(request, contact_id: int):
    contact = hotline_selectors.access_contact(request.user, contact_id)
    return [
        _with_side(request.user, d) for d in selectors.contact_disclosures(request.user, contact)
    ]


@router.get(
    "/hotline-disclosures",
    response=list[ContactDisclosureOut],
    summary="What the hotline sent to your organisations, unconfirmed first",
)
def hotline_reports(request):
    return [_with_side(request.user, d) for d in selectors.hotline_reports_received(request.user)]


@router.get(
    "/hotline-disclosures/{disclosure_id}",
    response={200: ContactDisclosureDetailOut, 404: Error},
    summary="One hotline disclosure with what it passes on (the read is audited)",
)
def contact_disclosure(request, disclosure_id: int):
    return _with_side(request.user, selectors.contact_disclosure(request.user, disclosure_id))


@router.post(
    "/hotline-disclosures/{disclosure_id}/prepare",
    response={200: ContactDisclosureDetailOut, 403: Error, 404: Error, 422: Error},
    summary="Prepare a hotline disclosure and name the second person (a confirmed browser "
    "session; never a token)",
)
@step_up("sharing.contact_disclosure.prepare")
def contact_disclosure_prepare(request, disclosure_id: int, payload: ContactDisclosurePrepareIn):
    disclosure = selectors.contact_disclosure(request.user, disclosure_id, Action.CHANGE)
    recipient = None
    if payload.recipient_id is not None:
        recipient = next(
            (
                o
                for o in protocol_events.recipient_candidates(disclosure)
                if o.pk == payload.recipient_id
            ),
            None,
        )
        if recipient is None:
            raise ValidationError(
                {"recipient_id": [_("Choose an organisation of the kind the procedure names.")]}
            )
    approver = None
    if payload.approver_id is not None:
        approver = (
            selectors.hotline_approvers(disclosure.contact, request.user)
            .filter(pk=payload.approver_id)
            .first()
        )
        if approver is None:
            raise ValidationError(
                {"approver_id": [_("Choose a colleague of the hotline other than yourself.")]}
            )
    services.contact_disclosure_prepare(
        actor=request.user,
        disclosure=disclosure,
        recipient=recipient,
        excerpt=payload.excerpt,
        identity=payload.identity,
        include_caller_contact=payload.include_caller_contact,
        purpose=payload.purpose,
        legal_basis=_term("legal_basis", payload.legal_basis, "legal_basis"),
        justification=payload.justification,
        approver=approver,
    )
    return _with_side(request.user, selectors.contact_disclosure(request.user, disclosure_id))


@router.post(
    "/hotline-disclosures/{disclosure_id}/decide",
    response={200: ContactDisclosureOut, 403: Error, 404: Error, 422: Error},
    summary="Send or send back as the hotline's second person (a confirmed browser session; "
    "never a token)",
)
@step_up("sharing.contact_disclosure.decide")
def contact_disclosure_decide(request, disclosure_id: int, payload: ContactDisclosureDecisionIn):
    disclosure = selectors.contact_disclosure(request.user, disclosure_id, Action.CHANGE)
    services.contact_disclosure_decide(
        actor=request.user, disclosure=disclosure, approve=payload.send, note=payload.note
    )
    return _with_side(request.user, disclosure)


@router.post(
    "/hotline-disclosures/{disclosure_id}/cancel",
    response={200: ContactDisclosureOut, 403: Error, 404: Error, 422: Error},
    summary="Record that a hotline disclosure is not sent, and why",
)
def contact_disclosure_cancel(request, disclosure_id: int, payload: ContactDisclosureCancelIn):
    disclosure = selectors.contact_disclosure(request.user, disclosure_id, Action.CHANGE)
    services.contact_disclosure_cancel(
        actor=request.user, disclosure=disclosure, reason=payload.reason
    )
    return _with_side(request.user, disclosure)


@router.post(
    "/hotline-disclosures/{disclosure_id}/receive",
    response={200: ContactDisclosureOut, 403: Error, 404: Error},
    summary="Confirm that your organisation received a hotline disclosure",
)
def contact_disclosure_receive(request, disclosure_id: int):
    disclosure = selectors.contact_disclosure(request.user, disclosure_id, Action.RESPOND)
    services.contact_disclosure_receive(actor=request.user, disclosure=disclosure)
    return _with_side(request.user, disclosure)


class HotlineRegisterRowOut(Schema):
    """The DPO's row: who passed on what kind of thing to whom and on which basis; never
    the excerpt, the identifying details or the weighing."""

    id: int
    contact_reference: str
    event: str
    rule: str
    recipient: str | None
    legal_basis: str
    purpose: str
    status: str
    requested_by_id: int | None
    decided_by_id: int | None
    decided_at: datetime | None
    received_at: datetime | None

    @staticmethod
    def resolve_contact_reference(obj):
        return obj.contact.reference

    @staticmethod
    def resolve_event(obj):
        return obj.event.code

    @staticmethod
    def resolve_recipient(obj):
        return obj.recipient.name if obj.recipient else None

    @staticmethod
    def resolve_legal_basis(obj):
        return obj.legal_basis.code


@router.get(
    "/register/hotline",
    response={200: list[HotlineRegisterRowOut], 404: Error},
    summary="The hotline's disclosures for the data protection officer (no content)",
)
def hotline_register(request):
    return selectors.hotline_register(request.user)
