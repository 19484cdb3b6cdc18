"""API operations for cases: everything the case pages do, filtered by the same policy."""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile

from casebridge.access.policy import Action, decide, organisations_with
from casebridge.accounts.models import Role, User
from casebridge.accounts.stepup import step_up
from casebridge.apischema import Day, Error, Input, Instant
from casebridge.cases import selectors, services
from casebridge.cases.forms import invitation_link_base
from casebridge.cooperation_models.models import Term
from casebridge.hotline import selectors as hotline_selectors
from casebridge.network.models import Organisation, Region

router = Router(tags=["cases"])


class ParticipantOut(Schema):
    id: int
    organisation_id: int
    organisation_name: str = Field(alias="organisation.name")
    role: str = Field(alias="role.code")
    lead_worker_id: int | None
    members: list[int]
    read: list[str]
    write: list[str]
    valid_from: datetime
    valid_until: datetime | None

    @staticmethod
    def resolve_members(obj):
        return [u.pk for u in obj.members.all()]

    @staticmethod
    def resolve_read(obj):
        return sorted(t.code for t in obj.read_categories.all())

    @staticmethod
    def resolve_write(obj):
        return sorted(t.code for t in obj.write_categories.all())


class GoalOut(Schema):
    id: int
    horizon: str
    title: str
    target_date: date | None
    status: str
    template: str | None = Field(None, description="the goal template's code, if taken from one")

    @staticmethod
    def resolve_template(goal) -> str | None:
        return goal.template.code if goal.template_id else None


class CaseOut(Schema):
    id: int
    number: str
    pseudonym: str
    owner_id: int
    status: str
    phase: str
    opened_at: datetime
    closed_at: datetime | None


class SafetyWarningOut(Schema):
    id: int
    kind: str
    label: str = Field(alias="get_kind_display")
    note: str
    organisation: str = Field(alias="participant.organisation.name")
    review_on: date
    review_due: bool
    reason: str | None = Field(
        description="only for the organisation that set it and the lead; null for others"
    )
    ended_at: datetime | None

    @staticmethod
    def resolve_reason(obj):
        return obj.reason if getattr(obj, "manageable", False) else None


class SafetyWarningIn(Input):
    kind: str = Field(max_length=24)
    note: str = Field(default="", max_length=200)
    reason: str = Field(max_length=500)
    review_on: Day


class ReviewIn(Input):
    review_on: Day


class CaseDetailOut(CaseOut):
    participants: list[ParticipantOut]
    goals: list[GoalOut]
    warnings: list[SafetyWarningOut] = Field(description="staff-safety warnings in force")
    can_change: bool


class EntryOut(Schema):
    id: int
    case_id: int
    kind: str
    category: str = Field(alias="category.code")
    author_id: int
    author_organisation_id: int
    occurred_on: date
    title: str
    text: str
    likelihood: str
    imminence: str
    has_document: bool

    @staticmethod
    def resolve_has_document(obj):
        return bool(obj.document)


class PersonIdentityOut(Schema):
    first_name: str
    last_name: str
    date_of_birth: str
    address: str


class CaseIn(Input):
    pseudonym: str = Field(min_length=1, max_length=60)
    referral_id: int | None = None
    first_name: str = Field(default="", max_length=120)
    last_name: str = Field(default="", max_length=120)
    date_of_birth: Day | None = None
    address: str = Field(default="", max_length=500)


class EntryIn(Input):
    kind: str = Field(max_length=10)
    category: str = Field(max_length=64)
    title: str = Field(max_length=200)
    text: str = Field(default="", max_length=50_000)
    occurred_on: Day | None = None
    likelihood: str = Field(default="", max_length=24)
    imminence: str = Field(default="", max_length=16)


class ParticipantIn(Input):
    organisation_id: int
    role: str = Field(max_length=64)
    members: list[int] = Field(min_length=1, max_length=20)
    valid_until: Instant | None = None
    reason: str = Field(default="", max_length=300)


class ScopeIn(Input):
    read: list[str] = Field(max_length=20)
    write: list[str] = Field(max_length=20)
    reason: str = Field(max_length=300)


class HandoverIn(Input):
    to_worker_id: int
    note: str = Field(max_length=5000)


class PhaseIn(Input):
    phase: str = Field(max_length=16)


class CloseIn(Input):
    closing_reason: str = Field(max_length=64)


class GoalIn(Input):
    horizon: str = Field(default="", max_length=10)
    title: str = Field(default="", max_length=300)
    target_date: Day | None = None
    template: str = Field(default="", max_length=64, description="a goal template's code")


class GoalStatusIn(Input):
    status: str = Field(max_length=8)


class ConferenceIn(Input):
    held_on: Day
    title: str = Field(max_length=200)


class ConferenceItemIn(Input):
    kind: str = Field(max_length=10)
    category: str = Field(max_length=64)
    text: str = Field(max_length=10_000)
    owner_id: int | None = None
    due_on: Day | None = None


class ConferenceItemOut(Schema):
    id: int
    kind: str
    category: str = Field(alias="category.code")
    text: str
    owner_id: int | None
    due_on: date | None


class ConferenceOut(Schema):
    id: int
    held_on: date
    title: str
    attendees: list[int]
    items: list[ConferenceItemOut] = Field(alias="visible_items")

    @staticmethod
    def resolve_attendees(obj):
        return [p.organisation_id for p in obj.attendees.all()]


class RelatedPersonIn(Input):
    relation: str = Field(max_length=64)
    name: str = Field(max_length=200)
    phone: str = Field(default="", max_length=60)
    note: str = Field(default="", max_length=300)


class RelatedPersonOut(Schema):
    id: int
    relation: str = Field(alias="relation.code")
    name: str
    phone: str
    note: str


class CaseSearchIn(Input):
    q: str = Field(min_length=1, max_length=100)


class CoordinationRowOut(Schema):
    case_id: int
    number: str
    owner: str
    phase: str
    active_lead: bool
    lead_changes: int


class CoordinationOut(Schema):
    without_lead: list[CoordinationRowOut]
    changed_often: list[CoordinationRowOut]


class TransferIn(Input):
    to_organisation_id: int
    region: str = Field(max_length=32, description="code of a federal state or district")
    reason: str = Field(max_length=500)
    consent_note: str = Field(
        default="", max_length=300, description="how the person consented (or a legal basis)"
    )
    legal_basis: str = Field(default="", max_length=64, description="code, without consent")
    justification: str = Field(default="", max_length=5000)
    handover_days: int = Field(default=14, description="1 to 30")


class TransferAcceptIn(Input):
    lead_worker_id: int


class TransferDeclineIn(Input):
    reason: str = Field(max_length=500)


class TransferOut(Schema):
    id: int
    case_id: int
    case_number: str = Field(alias="case.number")
    phase: str = Field(alias="case.phase")
    status: str
    from_organisation_id: int
    from_organisation: str = Field(alias="from_organisation.name")
    to_organisation_id: int
    to_organisation: str = Field(alias="to_organisation.name")
    region: str = Field(alias="region.code")
    reason: str
    basis: str = Field(description="consent or legal_basis")
    legal_basis: str | None
    consent_note: str | None = Field(description="for the case's lead only; null for others")
    justification: str | None = Field(description="for the case's lead only; null for others")
    handover_days: int
    proposed_at: datetime
    decided_at: datetime | None
    decline_reason: str
    lead_worker_id: int | None
    can_respond: bool
    can_withdraw: bool

    @staticmethod
    def resolve_legal_basis(obj):
        return obj.legal_basis.code if obj.legal_basis_id else None

    @staticmethod
    def resolve_consent_note(obj):
        return obj.consent_note if getattr(obj, "shows_grounds", False) else None

    @staticmethod
    def resolve_justification(obj):
        return obj.justification if getattr(obj, "shows_grounds", False) else None


def _category(code: str, field: str = "category") -> Term:
    term = Term.objects.of("information_category").filter(code=code).first()
    if term is None:
        raise ValidationError({field: [_("Unknown information category.")]})
    return term


def _categories(codes: list[str], field: str) -> list[Term]:
    return [_category(code, field) for code in codes]


def _detail(request, case):
    return {
        **CaseOut.from_orm(case).dict(),
        "participants": selectors.case_participants(case),
        "goals": selectors.case_goals(request.user, case),
        "warnings": selectors.safety_warnings(request.user, case),
        "can_change": bool(decide(request.user, Action.CHANGE, case)),
    }


@router.get("", response=list[CaseOut], summary="Your cases")
def case_list(request, status: str = ""):
    return selectors.my_cases(request.user, status=status if status in {"open", "closed"} else "")


@router.post(
    "", response={201: CaseDetailOut, 403: Error, 404: Error, 422: Error}, summary="Open a case"
)
def case_open(request, payload: CaseIn):
    owner = selectors.owner_for(request.user)
    if owner is None:
        raise PermissionDenied
    referral = None
    if payload.referral_id is not None:
        try:
            referral = hotline_selectors.access_referral(request.user, payload.referral_id)
        except Http404:
            raise ValidationError({"referral_id": [_("Unknown referral.")]}) from None
    data = payload.dict()
    identity = {
        "first_name": data["first_name"],
        "last_name": data["last_name"],
        "date_of_birth": data["date_of_birth"].isoformat() if data["date_of_birth"] else "",
        "address": data["address"],
    }
    case = services.case_open(
        actor=request.user,
        owner=owner,
        pseudonym=payload.pseudonym,
        referral=referral,
        identity=identity,
    )
    return Status(201, _detail(request, selectors.access_case(request.user, case.pk)))


@router.post("/search", response=list[EntryOut], summary="Search the entries you may read (POST)")
def search(request, payload: CaseSearchIn):
    return selectors.search_entries(request.user, payload.q)


@router.get(
    "/coordination", response={200: CoordinationOut, 403: Error}, summary="Continuity overview"
)
def coordination(request):
    if not organisations_with(request.user, frozenset({Role.COORDINATOR})):
        raise PermissionDenied
    return selectors.coordination_overview(request.user)


@router.get(
    "/transfers/incoming",
    response=list[TransferOut],
    summary="Transfers offered to your organisation, waiting for its decision (audited)",
)
def transfer_incoming(request):
    return selectors.incoming_transfers(request.user)


@router.get(
    "/transfers/{transfer_id}",
    response={200: TransferOut, 404: Error},
    summary="One transfer: for the case's lead and the organisation it is offered to",
)
def transfer_detail(request, transfer_id: int):
    return selectors.access_transfer(request.user, transfer_id)


def _transfer_out(request, transfer_id: int):
    """The transfer as the caller sees it now (after a change)."""
    return selectors.access_transfer(request.user, transfer_id)


@router.post(
    "/transfers/{transfer_id}/accept",
    response={200: TransferOut, 403: Error, 404: Error, 422: Error},
    summary="Accept: your organisation leads the case, with the lead worker you name",
)
def transfer_accept(request, transfer_id: int, payload: TransferAcceptIn):
    transfer = selectors.access_transfer(request.user, transfer_id)
    lead_worker = User.objects.filter(pk=payload.lead_worker_id).first()
    if lead_worker is None:
        raise ValidationError({"lead_worker_id": [_("Unknown person.")]})
    services.transfer_accept(actor=request.user, transfer=transfer, lead_worker=lead_worker)
    return _transfer_out(request, transfer_id)


@router.post(
    "/transfers/{transfer_id}/decline",
    response={200: TransferOut, 403: Error, 404: Error, 422: Error},
    summary="Decline, with a reason: the sender still leads the case",
)
def transfer_decline(request, transfer_id: int, payload: TransferDeclineIn):
    transfer = selectors.access_transfer(request.user, transfer_id)
    services.transfer_decline(actor=request.user, transfer=transfer, reason=payload.reason)
    return _transfer_out(request, transfer_id)


@router.post(
    "/transfers/{transfer_id}/withdraw",
    response={200: TransferOut, 403: Error, 404: Error, 422: Error},
    summary="Withdraw an open transfer (the case's lead)",
)
def transfer_withdraw(request, transfer_id: int):
    transfer = selectors.access_transfer(request.user, transfer_id)
    services.transfer_withdraw(actor=request.user, transfer=transfer)
    return _transfer_out(request, transfer_id)


@router.get("/entries/{entry_id}", response={200: EntryOut, 404: Error})
def entry_detail(request, entry_id: int):
    return selectors.access_entry(request.user, entry_id)


@router.get(
    "/entries/{entry_id}/document", response={200: None, 404: Error}, summary="Download a document"
)
def entry_document(request, entry_id: int):
    entry = selectors.access_entry(request.user, entry_id)
    if not entry.document:
        raise Http404
    return FileResponse(
        entry.document.open("rb"), as_attachment=True, filename=entry.document_name or "document"
    )


@router.get("/{case_id}", response={200: CaseDetailOut, 404: Error})
def case_detail(request, case_id: int):
    return _detail(request, selectors.access_case(request.user, case_id))


@router.get(
    "/{case_id}/identity",
    response={200: PersonIdentityOut, 404: Error},
    summary="Identity (audited)",
)
def case_identity(request, case_id: int):
    identity, _related = selectors.case_identity(
        request.user, selectors.access_case(request.user, case_id)
    )
    if identity is None:
        raise Http404
    return identity


@router.post(
    "/{case_id}/related-people",
    response={201: RelatedPersonOut, 403: Error, 404: Error, 422: Error},
    summary="Record a family member or other person around the case (identity)",
)
def related_person_add(request, case_id: int, payload: RelatedPersonIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    relation = Term.objects.of("caller_relation").filter(code=payload.relation).first()
    if relation is None:
        raise ValidationError({"relation": [_("Unknown relation.")]})
    person = services.related_person_add(
        actor=request.user,
        case=case,
        relation=relation,
        name=payload.name,
        phone=payload.phone,
        note=payload.note,
    )
    return Status(201, person)


@router.get("/{case_id}/entries", response={200: list[EntryOut], 404: Error})
def entry_list(request, case_id: int, category: str = ""):
    case = selectors.access_case(request.user, case_id)
    return selectors.case_entries(request.user, case, category=category[:64])


@router.post("/{case_id}/entries", response={201: EntryOut, 403: Error, 404: Error, 422: Error})
def entry_create(request, case_id: int, payload: EntryIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    data = services.EntryData(**{**payload.dict(), "category": _category(payload.category)})
    return Status(201, services.entry_create(actor=request.user, case=case, data=data))


@router.post(
    "/{case_id}/documents",
    response={201: EntryOut, 403: Error, 404: Error, 422: Error},
    summary="Upload a document (multipart)",
)
def document_upload(
    request,
    case_id: int,
    category: Form[str],
    title: Form[str],
    file: File[UploadedFile],
    text: Form[str] = "",
):
    case = selectors.access_case(request.user, case_id, for_write=True)
    data = services.EntryData(
        kind="document",
        category=_category(category[:64]),
        title=title[:200],
        text=text[:50_000],
        document=file,
    )
    return Status(201, services.entry_create(actor=request.user, case=case, data=data))


@router.get(
    "/{case_id}/export",
    response={200: list[dict], 403: Error, 404: Error},
    summary="Export what you may read (a confirmed browser session; never a token, never "
    "during an emergency access)",
)
@step_up("cases.case.export", emergency=selectors.reads_by_emergency)
def case_export(request, case_id: int):
    return selectors.export_rows(request.user, selectors.access_case(request.user, case_id))


@router.post(
    "/{case_id}/participants", response={201: ParticipantOut, 403: Error, 404: Error, 422: Error}
)
def participant_add(request, case_id: int, payload: ParticipantIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    organisation = (
        Organisation.objects.select_related("type__sector")
        .filter(pk=payload.organisation_id)
        .first()
    )
    if organisation is None:
        raise ValidationError({"organisation_id": [_("Unknown organisation.")]})
    role = Term.objects.of("case_role").filter(code=payload.role).first()
    if role is None:
        raise ValidationError({"role": [_("Unknown role.")]})
    members = list(User.objects.filter(pk__in=payload.members))
    if len(members) != len(set(payload.members)):
        raise ValidationError({"members": [_("Unknown person.")]})
    participant = services.participant_add(
        actor=request.user,
        case=case,
        organisation=organisation,
        role=role,
        members=members,
        valid_until=payload.valid_until,
        reason=payload.reason,
    )
    return Status(201, participant)


@router.post(
    "/{case_id}/participants/{participant_id}/scope",
    response={200: ParticipantOut, 403: Error, 404: Error, 422: Error},
)
def participant_scope(request, case_id: int, participant_id: int, payload: ScopeIn):
    participant = selectors.participant_for_change(request.user, case_id, participant_id)
    read, write = _categories(payload.read, "read"), _categories(payload.write, "write")
    return services.participant_scope(
        actor=request.user,
        participant=participant,
        read=read,
        write=write,
        reason=payload.reason,
    )


@router.post(
    "/{case_id}/participants/{participant_id}/end",
    response={200: ParticipantOut, 403: Error, 404: Error, 422: Error},
)
def participant_end(request, case_id: int, participant_id: int):
    participant = selectors.participant_for_change(request.user, case_id, participant_id)
    return services.participant_end(actor=request.user, participant=participant)


@router.post(
    "/{case_id}/participants/{participant_id}/handover",
    response={200: ParticipantOut, 403: Error, 404: Error, 422: Error},
)
def participant_handover(request, case_id: int, participant_id: int, payload: HandoverIn):
    participant = selectors.participant_for_change(request.user, case_id, participant_id)
    to_worker = User.objects.filter(pk=payload.to_worker_id).first()
    if to_worker is None:
        raise ValidationError({"to_worker_id": [_("Unknown person.")]})
    services.handover(
        actor=request.user, participant=participant, to_worker=to_worker, note=payload.note
    )
    participant.refresh_from_db()
    return participant


@router.post("/{case_id}/phase", response={200: CaseDetailOut, 403: Error, 404: Error, 422: Error})
def case_phase(request, case_id: int, payload: PhaseIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    services.case_update(actor=request.user, case=case, phase=payload.phase)
    return _detail(request, case)


@router.post("/{case_id}/close", response={200: CaseDetailOut, 403: Error, 404: Error, 422: Error})
def case_close(request, case_id: int, payload: CloseIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    reason = Term.objects.of("case_closing_reason").filter(code=payload.closing_reason).first()
    if reason is None:
        raise ValidationError({"closing_reason": [_("Unknown closing reason.")]})
    services.case_close(actor=request.user, case=case, closing_reason=reason)
    return _detail(request, case)


@router.post("/{case_id}/goals", response={201: GoalOut, 403: Error, 404: Error, 422: Error})
def goal_add(request, case_id: int, payload: GoalIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    return Status(201, services.goal_add(actor=request.user, case=case, **payload.dict()))


@router.post(
    "/{case_id}/goals/{goal_id}/status", response={200: GoalOut, 403: Error, 404: Error, 422: Error}
)
def goal_status(request, case_id: int, goal_id: int, payload: GoalStatusIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    goal = selectors.case_goal(case, goal_id)
    return services.goal_status(actor=request.user, goal=goal, status=payload.status)


@router.get("/{case_id}/conferences", response={200: list[ConferenceOut], 404: Error})
def conference_list(request, case_id: int):
    return selectors.case_conferences(request.user, selectors.access_case(request.user, case_id))


@router.post(
    "/{case_id}/conferences", response={201: ConferenceOut, 403: Error, 404: Error, 422: Error}
)
def conference_create(request, case_id: int, payload: ConferenceIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    attendees = selectors.active_participants(case)
    conference = services.conference_create(
        actor=request.user,
        case=case,
        held_on=payload.held_on,
        title=payload.title,
        attendees=attendees,
    )
    conference.visible_items = []
    return Status(201, conference)


@router.post(
    "/{case_id}/conferences/{conference_id}/items",
    response={201: ConferenceItemOut, 403: Error, 404: Error, 422: Error},
)
def conference_item_add(request, case_id: int, conference_id: int, payload: ConferenceItemIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    conference = selectors.case_conference(case, conference_id)
    owner = User.objects.filter(pk=payload.owner_id).first() if payload.owner_id else None
    if payload.owner_id and owner is None:
        raise ValidationError({"owner_id": [_("Unknown person.")]})
    item = services.conference_item_add(
        actor=request.user,
        conference=conference,
        kind=payload.kind,
        category=_category(payload.category),
        text=payload.text,
        owner=owner,
        due_on=payload.due_on,
    )
    return Status(201, item)


@router.post(
    "/{case_id}/warnings",
    response={201: SafetyWarningOut, 403: Error, 404: Error, 422: Error},
    summary="Set a staff-safety warning (every participant sees the precaution)",
)
def warning_add(request, case_id: int, payload: SafetyWarningIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    warning = services.safety_warning_set(actor=request.user, case=case, **payload.dict())
    return Status(201, _warning_out(request, case, warning.pk))


def _warning_out(request, case, warning_id: int):
    """The warning as the caller sees it (with the reason where they may read it)."""
    return next(w for w in selectors.safety_warnings(request.user, case) if w.pk == warning_id)


@router.post(
    "/{case_id}/warnings/{warning_id}/review",
    response={200: SafetyWarningOut, 403: Error, 404: Error, 422: Error},
    summary="Reviewed: the warning holds until the next review date",
)
def warning_review(request, case_id: int, warning_id: int, payload: ReviewIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    warning = selectors.case_warning(case, warning_id)
    services.safety_warning_review(actor=request.user, warning=warning, review_on=payload.review_on)
    return _warning_out(request, case, warning_id)


@router.post(
    "/{case_id}/warnings/{warning_id}/end",
    response={200: SafetyWarningOut, 403: Error, 404: Error, 422: Error},
    summary="End a staff-safety warning",
)
def warning_end(request, case_id: int, warning_id: int):
    case = selectors.access_case(request.user, case_id, for_write=True)
    warning = services.safety_warning_end(
        actor=request.user, warning=selectors.case_warning(case, warning_id)
    )
    warning.manageable = True  # only those who may manage it may end it
    return warning


@router.post(
    "/{case_id}/transfers",
    response={201: TransferOut, 403: Error, 404: Error, 422: Error},
    summary="Propose to transfer the case to another counselling organisation",
)
def transfer_propose(request, case_id: int, payload: TransferIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    organisation = (
        Organisation.objects.select_related("type__sector")
        .filter(pk=payload.to_organisation_id)
        .first()
    )
    if organisation is None:
        raise ValidationError({"to_organisation_id": [_("Unknown organisation.")]})
    region = Region.objects.filter(code=payload.region).first()
    if region is None:
        raise ValidationError({"region": [_("Unknown region.")]})
    legal_basis = None
    if payload.legal_basis:
        legal_basis = Term.objects.of("legal_basis").filter(code=payload.legal_basis).first()
        if legal_basis is None:
            raise ValidationError(
                {"legal_basis": [_("Unknown: %(codes)s") % {"codes": payload.legal_basis}]}
            )
    transfer = services.transfer_propose(
        actor=request.user,
        case=case,
        to_organisation=organisation,
        region=region,
        reason=payload.reason,
        consent_note=payload.consent_note,
        legal_basis=legal_basis,
        justification=payload.justification,
        handover_days=payload.handover_days,
    )
    return Status(201, _transfer_out(request, transfer.pk))


# --- outside professionals invited to one case ----------------------------------------------


class CaseInvitationIn(Input):
    organisation_id: int
    role: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    until: Day


class CaseInvitationOut(Schema):
    id: int
    organisation_id: int
    role: str = Field(alias="role.code")
    name: str
    email: str
    until: date
    status: str
    link_expires_at: datetime
    user_id: int | None
    participant_id: int | None


@router.get(
    "/{case_id}/invitations",
    response={200: list[CaseInvitationOut], 403: Error, 404: Error},
    summary="Outside professionals invited to the case (its lead only)",
)
def invitation_list(request, case_id: int):
    case = selectors.access_case(request.user, case_id, for_write=True)
    if not decide(request.user, Action.CHANGE, case):
        raise PermissionDenied
    return selectors.case_invitations(request.user, case)


@router.post(
    "/{case_id}/invitations",
    response={201: CaseInvitationOut, 403: Error, 404: Error, 422: Error},
    summary="Invite a named outside professional to this case until a date; the link goes by mail",
)
def invitation_add(request, case_id: int, payload: CaseInvitationIn):
    case = selectors.access_case(request.user, case_id, for_write=True)
    organisation = selectors.invitable_organisations().filter(pk=payload.organisation_id).first()
    if organisation is None:
        raise ValidationError({"organisation_id": [_("Unknown organisation.")]})
    role = None
    if payload.role is not None:
        role = Term.objects.of("case_role").filter(code=payload.role).first()
        if role is None:
            raise ValidationError({"role": [_("Unknown: %(codes)s") % {"codes": payload.role}]})
    invitation = services.invitation_create(
        actor=request.user,
        case=case,
        organisation=organisation,
        role=role,
        name=payload.name,
        email=payload.email,
        until=payload.until,
        link=invitation_link_base(request),
    )
    return Status(201, invitation)


@router.post(
    "/{case_id}/invitations/{invitation_id}/end",
    response={200: CaseInvitationOut, 403: Error, 404: Error, 422: Error},
    summary="Withdraw an invitation, or end an invited professional's access now",
)
def invitation_end(request, case_id: int, invitation_id: int):
    case = selectors.access_case(request.user, case_id, for_write=True)
    invitation = selectors.invitation_for_change(request.user, case, invitation_id)
    return services.invitation_end(actor=request.user, invitation=invitation)
