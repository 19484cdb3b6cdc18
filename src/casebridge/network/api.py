"""API operations for the network directory, regions and the model's vocabularies."""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from casebridge.accounts.models import Role, User
from casebridge.accounts.permissions import active_roles, can_administer, can_manage_contact_points
from casebridge.apischema import Day, Error, Input, Instant, QueryFlag
from casebridge.cooperation_models.models import Term, TermKind
from casebridge.network import selectors, services
from casebridge.network.models import ContactPoint, Organisation, OrganisationType, Region, Sector

router = Router(tags=["network"])


class TermOut(Schema):
    code: str
    label: str
    attributes: dict


class SectorOut(Schema):
    code: str
    label: str


class OrganisationTypeOut(Schema):
    code: str
    label: str
    sector: str = Field(alias="sector.code")


class RegionOut(Schema):
    code: str
    level: str
    label: str
    parent: str | None = Field(alias="parent.code", default=None)


class PostcodeOut(Schema):
    postcode: str
    region: RegionOut
    path: list[RegionOut]
    state: RegionOut | None
    latitude: float | None
    longitude: float | None


class CoverageOut(Schema):
    region: str = Field(alias="region.code")
    services: list[str]
    languages: list[str]
    capacity: int

    @staticmethod
    def resolve_services(obj):
        return [term.code for term in obj.services.all()]

    @staticmethod
    def resolve_languages(obj):
        return [term.code for term in obj.languages.all()]


class OrganisationOut(Schema):
    id: int
    code: str
    name: str
    short_name: str
    type: str = Field(alias="type.code")
    sector: str = Field(alias="type.sector.code")
    governance: str
    is_hotline: bool
    postcode: str
    city: str
    region: str = Field(alias="region.code")
    latitude: float | None
    longitude: float | None
    active: bool


class ContactPointOut(Schema):
    id: int
    organisation_id: int
    function: str
    person_id: int | None
    name: str = Field(alias="display_name")
    phone: str
    email: str
    since: date
    until: date | None
    vacant: bool = Field(alias="is_vacant")
    person_left: bool = False


class PersonOut(Schema):
    user_id: int
    name: str
    role: str
    job_title: str

    @staticmethod
    def resolve_name(obj):
        return str(obj.user)


class OrganisationDetailOut(OrganisationOut):
    description: str
    street: str
    phone: str
    email: str
    website: str
    coverage: list[CoverageOut] = Field(alias="coverages")
    contact_points: list[ContactPointOut] = Field(alias="current_contact_points")
    people: list[PersonOut] = Field(alias="active_memberships")

    @staticmethod
    def resolve_coverage(obj):
        return list(obj.coverages.all())


class OrganisationFilter(Input):
    q: str = Field(default="", max_length=100)
    sector: str = Field(default="", max_length=64)
    type: str = Field(default="", max_length=64)
    region: str = Field(default="", max_length=32, description="region code, e.g. DE-HH")
    service: str = Field(default="", max_length=64)
    language: str = Field(default="", max_length=64)
    governance: str = Field(default="", pattern="^(|state|ngo)$")


class OrganisationIn(Input):
    name: str = Field(min_length=1, max_length=200)
    short_name: str = Field(default="", max_length=40)
    type: str = Field(description="organisation type code", max_length=64)
    governance: str = Field(pattern="^(state|ngo)$")
    description: str = Field(default="", max_length=2000)
    street: str = Field(default="", max_length=200)
    postcode: str = Field(min_length=1, max_length=16)
    city: str = Field(min_length=1, max_length=100)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=254)
    website: str = Field(default="", max_length=200)


class OrganisationPatch(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    short_name: str | None = Field(default=None, max_length=40)
    type: str | None = Field(default=None, max_length=64)
    governance: str | None = Field(default=None, pattern="^(state|ngo)$")
    description: str | None = Field(default=None, max_length=2000)
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, min_length=1, max_length=16)
    city: str | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    website: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class ContactPointIn(Input):
    function: str = Field(min_length=1, max_length=120)
    person_id: int | None = None
    name: str = Field(default="", max_length=120)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=254)


def _region_or_error(code: str, field: str = "region") -> Region | None:
    if not code:
        return None
    region = Region.objects.filter(code=code, active=True).first()
    if region is None:
        raise ValidationError({field: [_("Unknown region.")]})
    return region


def _organisation_values(payload: Schema) -> dict:
    values = payload.dict(exclude_none=True)
    if "type" in values:
        organisation_type = OrganisationType.objects.filter(
            code=values["type"], active=True
        ).first()
        if organisation_type is None:
            raise ValidationError({"type": [_("Unknown organisation type.")]})
        values["type"] = organisation_type
    return values


@router.get("/organisations", response=list[OrganisationOut], summary="Search the directory")
@paginate
def organisation_list(request, filters: Query[OrganisationFilter]):
    return selectors.organisation_list(
        query=filters.q,
        sector=filters.sector,
        organisation_type=filters.type,
        region=_region_or_error(filters.region),
        service=filters.service,
        language=filters.language,
        governance=filters.governance,
    )


# before /organisations/{organisation_id}: the first matching path answers
class ProposalIn(Input):
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(description="organisation type code", max_length=64)
    governance: str = Field(pattern="^(state|ngo)$")
    street: str = Field(default="", max_length=200)
    postcode: str = Field(min_length=1, max_length=16)
    city: str = Field(min_length=1, max_length=100)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=254)
    reason: str = Field(max_length=300)


class ProposalOut(OrganisationOut):
    proposal_reason: str
    proposed_by_id: int | None
    proposed_at: datetime | None


class ProposalDecisionIn(Input):
    confirm: bool


@router.post(
    "/organisations/proposals",
    response={201: ProposalOut, 403: Error, 422: Error},
    summary="Propose an organisation the directory lacks (a coordinator confirms it)",
)
def organisation_propose(request, payload: ProposalIn):
    values = _organisation_values(payload)
    reason = values.pop("reason")
    organisation = services.organisation_propose(actor=request.user, reason=reason, **values)
    return Status(201, organisation)


@router.get(
    "/organisations/proposals",
    response={200: list[ProposalOut], 403: Error},
    summary="Organisations waiting for a coordinator's decision",
)
def organisation_proposals(request):
    if Role.COORDINATOR not in active_roles(request.user):
        raise PermissionDenied
    return list(selectors.organisation_proposals())


@router.post(
    "/organisations/proposals/{organisation_id}/decide",
    response={200: ProposalOut, 403: Error, 404: Error, 422: Error},
    summary="Confirm a proposed organisation (it joins the directory) or refuse it",
)
def organisation_proposal_decide(request, organisation_id: int, payload: ProposalDecisionIn):
    if Role.COORDINATOR not in active_roles(request.user):
        raise PermissionDenied
    organisation = get_object_or_404(selectors.organisation_proposals(), pk=organisation_id)
    return services.organisation_proposal_decide(
        actor=request.user, organisation=organisation, confirm=payload.confirm
    )


@router.get("/organisations/{organisation_id}", response={200: OrganisationDetailOut, 404: Error})
def organisation_detail(request, organisation_id: int):
    return selectors.organisation_detail(organisation_id)


@router.post("/organisations", response={201: OrganisationDetailOut, 403: Error, 422: Error})
def organisation_create(request, payload: OrganisationIn):
    """Add an organisation (administrators); the region follows from the postcode."""
    if not can_administer(request.user):
        raise PermissionDenied
    organisation = services.organisation_create(actor=request.user, **_organisation_values(payload))
    return Status(201, selectors.organisation_detail(organisation.pk))


@router.patch(
    "/organisations/{organisation_id}",
    response={200: OrganisationDetailOut, 403: Error, 404: Error, 422: Error},
)
def organisation_update(request, organisation_id: int, payload: OrganisationPatch):
    if not can_administer(request.user):
        raise PermissionDenied
    organisation = get_object_or_404(Organisation, pk=organisation_id)
    services.organisation_update(
        actor=request.user, organisation=organisation, **_organisation_values(payload)
    )
    return selectors.organisation_detail(organisation.pk)


@router.get("/contact-points", response=list[ContactPointOut], summary="Search contact points")
@paginate
def contact_point_list(
    request,
    q: str = Query("", max_length=100),
    type: str = Query("", max_length=64),
    region: str = Query("", max_length=32),
    vacant: QueryFlag = False,
):
    return selectors.contact_point_list(
        query=q,
        organisation_type=type,
        region=_region_or_error(region),
        vacant=True if vacant else None,
    )


@router.post(
    "/organisations/{organisation_id}/contact-points",
    response={201: ContactPointOut, 403: Error, 404: Error, 422: Error},
)
def contact_point_create(request, organisation_id: int, payload: ContactPointIn):
    organisation = get_object_or_404(Organisation, pk=organisation_id)
    if not can_manage_contact_points(request.user, organisation):
        raise PermissionDenied
    values = payload.dict()
    person_id = values.pop("person_id")
    person = None
    if person_id is not None:
        person = User.objects.filter(pk=person_id, is_active=True).first()
        if person is None:
            raise ValidationError({"person_id": [_("Unknown person.")]})
    point = services.contact_point_create(
        actor=request.user, organisation=organisation, person=person, **values
    )
    return Status(201, point)


@router.post(
    "/contact-points/{point_id}/end",
    response={200: ContactPointOut, 403: Error, 404: Error, 422: Error},
)
def contact_point_end(request, point_id: int):
    point = get_object_or_404(ContactPoint.objects.select_related("organisation"), pk=point_id)
    if not can_manage_contact_points(request.user, point.organisation):
        raise PermissionDenied
    return services.contact_point_end(actor=request.user, point=point)


@router.get("/regions", response=list[RegionOut], summary="The region tree, flat")
def region_list(
    request, level: str = Query("", pattern="^(|country|state|district|municipality)$")
):
    regions = Region.objects.filter(active=True).select_related("parent")
    return regions.filter(level=level) if level else regions


@router.get(
    "/regions/resolve", response={200: PostcodeOut, 422: Error}, summary="The region of a postcode"
)
def region_resolve(request, postcode: str = Query(..., max_length=16)):
    try:
        place = selectors.region_for_postcode(postcode)
    except selectors.PostcodeError as exc:
        raise ValidationError({"postcode": [str(exc)]}) from None
    return {
        "postcode": place.postcode,
        "region": place.region,
        "path": place.path,
        "state": place.state,
        "latitude": place.latitude,
        "longitude": place.longitude,
    }


@router.get("/sectors", response=list[SectorOut])
def sector_list(request):
    return Sector.objects.filter(active=True)


@router.get("/organisation-types", response=list[OrganisationTypeOut])
def organisation_type_list(request):
    return OrganisationType.objects.filter(active=True).select_related("sector")


@router.get(
    "/vocabularies/{kind}",
    response={200: list[TermOut], 404: Error},
    summary="One vocabulary of the cooperation model (caller categories, legal bases, ...)",
)
def vocabulary(request, kind: TermKind):
    return Term.objects.of(kind)


# --- meetings and action items (issue 8) -------------------------------------------------


class InvitationOut(Schema):
    user: str = Field(alias="user.username")
    response: str
    attended: bool | None


class MeetingDecisionOut(Schema):
    id: int
    text: str


class ActionItemOut(Schema):
    id: int
    meeting: int = Field(alias="meeting_id")
    title: str
    owner: str = Field(alias="owner.username")
    due_on: date
    done: bool
    overdue: bool

    @staticmethod
    def resolve_done(item) -> bool:
        return item.done_at is not None


class MeetingOut(Schema):
    id: int
    title: str
    kind: str
    status: str
    starts_at: datetime
    ends_at: datetime
    location: str
    organiser: str = Field(alias="organiser.username")


class MeetingDetailOut(MeetingOut):
    agenda: str
    minutes: str
    invitations: list[InvitationOut]
    decisions: list[MeetingDecisionOut]
    action_items: list[ActionItemOut]

    @staticmethod
    def resolve_invitations(meeting):
        return list(meeting.invitations.all())

    @staticmethod
    def resolve_decisions(meeting):
        return list(meeting.decisions.all())

    @staticmethod
    def resolve_action_items(meeting):
        return list(meeting.action_items.all())


class MeetingIn(Input):
    title: str = Field(max_length=200)
    kind: str = Field(max_length=16, description="formal, working_group or informal")
    starts_at: Instant
    ends_at: Instant
    location: str = Field(default="", max_length=200)
    agenda: str = Field(default="", max_length=10_000)
    invitees: list[str] = Field(default=[], max_length=200, description="usernames")


class MeetingPatch(Input):
    title: str | None = Field(default=None, max_length=200)
    kind: str | None = Field(default=None, max_length=16)
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    location: str | None = Field(default=None, max_length=200)
    agenda: str | None = Field(default=None, max_length=10_000)
    minutes: str | None = Field(default=None, max_length=50_000)
    status: str | None = Field(default=None, max_length=10)
    invitees: list[str] | None = Field(default=None, max_length=200)


class RespondIn(Input):
    response: str = Field(max_length=10, description="accepted or declined")


class AttendanceIn(Input):
    present: list[str] = Field(max_length=500, description="usernames")


class MeetingDecisionIn(Input):
    text: str = Field(max_length=1000)


class ActionItemIn(Input):
    title: str = Field(max_length=300)
    owner: str = Field(max_length=150, description="username")
    due_on: Day


def _users(usernames: list[str], field: str) -> list[User]:
    users = list(User.objects.filter(username__in=usernames))
    if len(users) != len(set(usernames)):
        raise ValidationError({field: _("Unknown user.")})
    return users


def _meeting_member(request) -> None:

    if not active_roles(request.user):
        raise PermissionDenied


@router.get("/meetings", response={200: list[MeetingOut], 403: Error}, summary="Your meetings")
def meeting_list(
    request, starts_after: Instant | None = None, starts_before: Instant | None = None
):
    _meeting_member(request)
    meetings = selectors.meetings_for(request.user)
    if starts_after:
        meetings = meetings.filter(starts_at__gte=starts_after)
    if starts_before:
        meetings = meetings.filter(starts_at__lt=starts_before)
    return list(meetings[:500])


@router.post("/meetings", response={201: MeetingDetailOut, 403: Error, 422: Error})
def meeting_create(request, payload: MeetingIn):
    data = payload.dict()
    data["invitees"] = _users(data["invitees"], "invitees")
    meeting = services.meeting_create(actor=request.user, **data)
    return Status(201, selectors.access_meeting(request.user, meeting.pk))


@router.get("/meetings/{meeting_id}", response={200: MeetingDetailOut, 404: Error})
def meeting_detail(request, meeting_id: int):
    return selectors.access_meeting(request.user, meeting_id)


@router.patch(
    "/meetings/{meeting_id}", response={200: MeetingDetailOut, 403: Error, 404: Error, 422: Error}
)
def meeting_update(request, meeting_id: int, payload: MeetingPatch):
    meeting = selectors.access_meeting(request.user, meeting_id)
    data = payload.dict(exclude_none=True)
    if "invitees" in data:
        data["invitees"] = _users(data["invitees"], "invitees")
    services.meeting_update(actor=request.user, meeting=meeting, **data)
    return selectors.access_meeting(request.user, meeting_id)


@router.post(
    "/meetings/{meeting_id}/respond", response={200: MeetingDetailOut, 404: Error, 422: Error}
)
def meeting_respond(request, meeting_id: int, payload: RespondIn):
    meeting = selectors.access_meeting(request.user, meeting_id)
    services.invitation_respond(actor=request.user, meeting=meeting, response=payload.response)
    return selectors.access_meeting(request.user, meeting_id)


@router.post(
    "/meetings/{meeting_id}/attendance",
    response={200: MeetingDetailOut, 403: Error, 404: Error, 422: Error},
)
def meeting_attendance(request, meeting_id: int, payload: AttendanceIn):
    meeting = selectors.access_meeting(request.user, meeting_id)
    present = {u.pk for u in _users(payload.present, "present")}
    services.attendance_record(actor=request.user, meeting=meeting, present=present)
    return selectors.access_meeting(request.user, meeting_id)


@router.post(
    "/meetings/{meeting_id}/decisions",
    response={201: MeetingDecisionOut, 403: Error, 404: Error, 422: Error},
)
def meeting_decision(request, meeting_id: int, payload: MeetingDecisionIn):
    meeting = selectors.access_meeting(request.user, meeting_id)
    return Status(
        201, services.decision_add(actor=request.user, meeting=meeting, text=payload.text)
    )


@router.post(
    "/meetings/{meeting_id}/action-items",
    response={201: ActionItemOut, 403: Error, 404: Error, 422: Error},
)
def meeting_action_item(request, meeting_id: int, payload: ActionItemIn):
    meeting = selectors.access_meeting(request.user, meeting_id)
    owner = User.objects.filter(username=payload.owner).first()
    item = services.action_item_add(
        actor=request.user, meeting=meeting, title=payload.title, owner=owner, due_on=payload.due_on
    )
    return Status(201, item)


@router.get("/action-items", response=list[ActionItemOut], summary="Your open action items")
def action_items(request):
    return selectors.my_action_items(request.user)


@router.post(
    "/action-items/{item_id}/done",
    response={200: ActionItemOut, 403: Error, 404: Error, 422: Error},
)
def action_item_done(request, item_id: int):
    item = selectors.access_action_item(request.user, item_id)
    return services.action_item_done(actor=request.user, item=item)


# --- lessons learned (issue 8) -----------------------------------------------------------


class LessonOut(Schema):
    id: int
    title: str
    outcome: str
    what_happened: str
    what_we_learned: str
    what_we_change: str
    tags: list[str]
    author: str | None
    created_at: datetime

    @staticmethod
    def resolve_tags(lesson) -> list[str]:
        return [t.name for t in lesson.tags.all()]

    @staticmethod
    def resolve_author(lesson) -> str | None:
        return lesson.author.username if lesson.show_author else None


class LessonIn(Input):
    title: str = Field(max_length=200)
    outcome: str = Field(max_length=10, description="failed, mixed or went_well")
    what_happened: str = Field(max_length=10_000)
    what_we_learned: str = Field(max_length=10_000)
    what_we_change: str = Field(max_length=10_000)
    tags: list[str] = Field(default=[], max_length=10)
    show_author: bool = False


class LessonSearchIn(Input):
    q: str = Field(default="", max_length=200)
    tag: str = Field(default="", max_length=40)
    outcome: str = Field(default="", max_length=10)


@router.get("/lessons", response={200: list[LessonOut], 403: Error}, summary="Lessons learned")
@paginate
def lesson_list(request, tag: str = "", outcome: str = ""):
    _meeting_member(request)
    return selectors.lessons(request.user, tag=tag[:40], outcome=outcome[:10])


@router.post(
    "/lessons/search",
    response={200: list[LessonOut], 403: Error},
    summary="Search lessons learned by text (POST keeps the words out of URLs)",
)
@paginate
def lesson_search(request, payload: LessonSearchIn):
    _meeting_member(request)
    return selectors.lessons(
        request.user, query=payload.q, tag=payload.tag, outcome=payload.outcome
    )


@router.post("/lessons", response={201: LessonOut, 403: Error, 422: Error})
def lesson_create(request, payload: LessonIn):
    lesson = services.lesson_create(actor=request.user, **payload.dict())
    return Status(201, selectors.access_lesson(request.user, lesson.pk))


@router.get("/lessons/{lesson_id}", response={200: LessonOut, 404: Error})
def lesson_detail(request, lesson_id: int):
    return selectors.access_lesson(request.user, lesson_id)


class GapsOut(Schema):
    organisations_without: list[OrganisationOut]
    departed: list[ContactPointOut]


@router.get(
    "/contact-points/gaps",
    response={200: GapsOut, 403: Error},
    summary="Organisations without a contact point, points whose person left (coordinators)",
)
def contact_point_gaps(request, organisation_type: str = ""):

    roles = active_roles(request.user)
    if Role.COORDINATOR not in roles and Role.ADMINISTRATOR not in roles:
        raise PermissionDenied
    return selectors.contact_point_gaps(organisation_type=organisation_type[:64])
