"""Reads for the network directory: organisations, regions, postcodes, contact points.

The directory holds no case content; every signed-in member of the network may read it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from casebridge.accounts.models import Membership, Role, User
from casebridge.accounts.permissions import active_roles
from casebridge.cooperation_models.models import CooperationModel
from casebridge.labels import pick_label
from casebridge.network.models import (
    ActionItem,
    ContactPoint,
    Coverage,
    Invitation,
    Lesson,
    LessonTag,
    Meeting,
    Organisation,
    PostcodeArea,
    Region,
)


class PostcodeError(ValueError):
    """A postcode that is malformed or that the loaded model does not know."""

    def __init__(self, message: str, *, malformed: bool):
        super().__init__(message)
        self.malformed = malformed


@dataclass(frozen=True)
class PostcodeResolution:
    postcode: str
    region: Region
    latitude: float | None
    longitude: float | None

    @property
    def path(self) -> list[Region]:
        return self.region.path()

    @property
    def state(self) -> Region | None:
        return next((r for r in self.path if r.level == Region.Level.STATE), None)


def normalise_postcode(raw: str) -> str:
    return re.sub(r"\s+", " ", (raw or "").strip().upper())


@dataclass(frozen=True)
class _Geography:
    """The loaded model's postcode pattern and region tree, linked in memory."""

    model: CooperationModel
    regions: dict[int, Region]
    prefixed: list[Region]


_geography: tuple[float, _Geography] | None = None
GEOGRAPHY_SECONDS = 60  # a model load reaches every worker within a minute


def invalidate_geography() -> None:
    global _geography
    _geography = None


def _load_geography() -> _Geography | None:
    """Regions with their parents set, so ``path()`` needs no query; cached briefly."""
    global _geography
    now = time.monotonic()
    if _geography is not None and now - _geography[0] < GEOGRAPHY_SECONDS:
        return _geography[1]
    model = CooperationModel.objects.first()
    if model is None:
        return None
    regions = {region.pk: region for region in Region.objects.all()}
    for region in regions.values():
        if region.parent_id is not None:
            region.parent = regions[region.parent_id]
    prefixed = [r for r in regions.values() if r.active and r.postcode_prefixes]
    geography = _Geography(model, regions, prefixed)
    _geography = (now, geography)
    return geography


def region_for_postcode(raw: str) -> PostcodeResolution:
    """Resolve a postcode to its most specific region; raise ``PostcodeError`` otherwise."""
    postcode = normalise_postcode(raw)
    geography = _load_geography()
    if geography is None:
        raise PostcodeError(_("No cooperation model is loaded."), malformed=False)
    pattern = geography.model.settings.get("postcode_pattern", r"^\S+$")
    if postcode and not re.fullmatch(pattern, postcode):
        # people write "20 095" as well as "20095": without its spaces it may fit
        compact = postcode.replace(" ", "")
        if re.fullmatch(pattern, compact):
            postcode = compact
    if not postcode or not re.fullmatch(pattern, postcode):
        raise PostcodeError(
            _('"%(postcode)s" is not a well-formed postcode.') % {"postcode": raw.strip()[:20]},
            malformed=True,
        )
    area = (
        PostcodeArea.objects.filter(postcode=postcode)
        .values_list("region_id", "latitude", "longitude")
        .first()
    )
    by_prefix = _region_by_prefix(postcode, geography.prefixed)
    if area is not None:
        region = geography.regions[area[0]]
        # A district declared by prefixes refines the region the postcode file gives.
        if by_prefix is not None and region in by_prefix.path():
            region = by_prefix
        return PostcodeResolution(postcode, region, area[1], area[2])
    if by_prefix is not None:
        return PostcodeResolution(postcode, by_prefix, None, None)
    raise PostcodeError(
        _('Unknown postcode "%(postcode)s": check it, or choose the federal state instead.')
        % {"postcode": postcode},
        malformed=False,
    )


def _region_by_prefix(postcode: str, regions: list[Region]) -> Region | None:
    compact = postcode.replace(" ", "")
    best, best_length = None, 0
    for region in regions:
        for prefix in region.postcode_prefixes:
            if compact.startswith(prefix) and len(prefix) > best_length:
                best, best_length = region, len(prefix)
    return best


def region_descendants(region: Region) -> list[int]:
    """Return the ids of ``region`` and every region below it."""
    ids, frontier = [region.pk], [region.pk]
    while frontier:
        frontier = list(Region.objects.filter(parent_id__in=frontier).values_list("id", flat=True))
        ids.extend(frontier)
    return ids


def states() -> QuerySet[Region]:
    return Region.objects.filter(level=Region.Level.STATE, active=True)


def organisation_list(
    *,
    query: str = "",
    sector: str = "",
    organisation_type: str = "",
    region: Region | None = None,
    service: str = "",
    language: str = "",
    governance: str = "",
    include_inactive: bool = False,
) -> QuerySet[Organisation]:
    """Search and filter the directory; ``region`` matches seat or coverage inside it."""
    organisations = Organisation.objects.select_related("type__sector", "region")
    if not include_inactive:
        organisations = organisations.filter(active=True)
    if query:
        words = query.split()
        for word in words[:5]:
            organisations = organisations.filter(
                Q(name__icontains=word) | Q(short_name__icontains=word) | Q(city__icontains=word)
            )
    if sector:
        organisations = organisations.filter(type__sector__code=sector)
    if organisation_type:
        organisations = organisations.filter(type__code=organisation_type)
    if governance:
        organisations = organisations.filter(governance=governance)
    if region is not None:
        inside = region_descendants(region)
        covering = Coverage.objects.filter(region_id__in=[*inside, *_ancestor_ids(region)])
        organisations = organisations.filter(
            Q(region_id__in=inside) | Q(id__in=covering.values("organisation_id"))
        )
    if service:
        organisations = organisations.filter(
            id__in=Coverage.objects.filter(services__code=service).values("organisation_id")
        )
    if language:
        organisations = organisations.filter(
            id__in=Coverage.objects.filter(languages__code=language).values("organisation_id")
        )
    return organisations.order_by("name")


def _ancestor_ids(region: Region) -> list[int]:
    return [r.pk for r in region.path() if r.pk != region.pk and r.level != Region.Level.COUNTRY]


def organisation_detail(organisation_id: int) -> Organisation:
    """Return one organisation with its coverage, people and contact points, or 404."""
    people = Membership.objects.active().select_related("user").order_by("user__last_name")
    return get_object_or_404(
        Organisation.objects.select_related("type__sector", "region__parent").prefetch_related(
            Prefetch(
                "coverages",
                queryset=Coverage.objects.select_related("region").prefetch_related(
                    "services", "languages"
                ),
            ),
            Prefetch("memberships", queryset=people, to_attr="active_memberships"),
            Prefetch(
                "contact_points",
                queryset=ContactPoint.objects.current().select_related("person"),
                to_attr="current_contact_points",
            ),
        ),
        pk=organisation_id,
    )


def contact_point_list(
    *, query: str = "", organisation_type: str = "", region: Region | None = None, vacant=None
) -> QuerySet[ContactPoint]:
    """Search current contact points by place, organisation type and function."""
    points = ContactPoint.objects.current().select_related(
        "organisation__type", "organisation__region", "person"
    )
    if query:
        for word in query.split()[:5]:
            points = points.filter(
                Q(function__icontains=word)
                | Q(organisation__name__icontains=word)
                | Q(organisation__city__icontains=word)
                | Q(organisation__postcode__startswith=word)
            )
    if organisation_type:
        points = points.filter(organisation__type__code=organisation_type)
    if region is not None:
        points = points.filter(organisation__region_id__in=region_descendants(region))
    points = points.annotate(person_left=_person_left())
    if vacant is True:
        points = points.filter(
            Q(person__is_active=False) | Q(person_left=True) | (Q(person__isnull=True) & Q(name=""))
        )
    return points.order_by("organisation__name", "function")


def _person_left():
    """True where the point names a person whose membership in its organisation has ended."""

    working = Membership.objects.active().filter(
        user_id=OuterRef("person_id"), organisation_id=OuterRef("organisation_id")
    )
    return ExpressionWrapper(
        Q(person__isnull=False) & ~Exists(working), output_field=BooleanField()
    )


@dataclass
class ContactPointGaps:
    """Continuity of staff: where the network has nobody to call."""

    organisations_without: list  # active organisations with no filled contact point
    departed: list  # contact points whose person has left or whose account is off


def contact_point_gaps(*, organisation_type: str = "") -> ContactPointGaps:
    """Organisations without a filled contact point, and points whose person has left."""
    points = (
        ContactPoint.objects.current()
        .annotate(person_left=_person_left())
        .select_related("organisation__type", "person")
    )
    if organisation_type:
        points = points.filter(organisation__type__code=organisation_type)
    points = list(points.order_by("organisation__name", "function"))
    departed = [p for p in points if p.person_id and (p.person_left or not p.person.is_active)]
    filled = {
        p.organisation_id
        for p in points
        if (p.person_id and not p.person_left and p.person.is_active)
        or (not p.person_id and p.name)
    }
    organisations = Organisation.objects.filter(active=True).select_related(
        "type__sector", "region"
    )
    if organisation_type:
        organisations = organisations.filter(type__code=organisation_type)
    without = [o for o in organisations.order_by("type__position", "name") if o.pk not in filled]
    return ContactPointGaps(without, departed)


def organisation_counts_by_type() -> list[dict]:
    """Return active organisations counted per type, labelled in the active language."""
    rows = (
        Organisation.objects.filter(active=True)
        .values("type__code", "type__labels")
        .annotate(count=Count("id"))
        .order_by("type__position")
    )
    return [
        {"code": row["type__code"], "label": pick_label(row["type__labels"]), "count": row["count"]}
        for row in rows
    ]


# --- meetings and action items (issue 8) -------------------------------------------------
# Meetings are shown to their organiser, the people invited and coordinators; anybody else
# gets 404. They hold the network's work, not case content.


def can_manage_meeting(actor, meeting) -> bool:
    """The organiser and coordinators keep agenda, minutes, attendance and action items."""

    return meeting.organiser_id == actor.pk or Role.COORDINATOR in active_roles(actor)


def meetings_for(actor):

    roles = active_roles(actor)
    if not roles:
        return Meeting.objects.none()
    meetings = Meeting.objects.select_related("organiser")
    if Role.COORDINATOR not in roles:
        meetings = meetings.filter(Q(organiser=actor) | Q(invitations__user=actor)).distinct()
    return meetings.order_by("starts_at")


def meetings_between(actor, start, end):
    """The actor's meetings starting in [start, end)."""
    return list(meetings_for(actor).filter(starts_at__gte=start, starts_at__lt=end))


def access_meeting(actor, meeting_id: int):
    """One meeting with invitations, decisions and action items, or 404."""

    meeting = (
        meetings_for(actor)
        .filter(pk=meeting_id)
        .prefetch_related(
            Prefetch("invitations", queryset=Invitation.objects.select_related("user")),
            "decisions",
            Prefetch("action_items", queryset=ActionItem.objects.select_related("owner")),
        )
        .first()
    )
    if meeting is None:
        raise Http404
    return meeting


def my_action_items(actor) -> list:
    """Open action items the actor owns, for the task list (soonest due first)."""

    return list(
        ActionItem.objects.open().filter(owner=actor).select_related("meeting").order_by("due_on")
    )


def invitable_users():
    """People with a role in force: who may be invited and own action items."""

    return (
        User.objects.filter(is_active=True, memberships__in=Membership.objects.active())
        .distinct()
        .order_by("last_name", "first_name")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.active().select_related("organisation"),
                to_attr="current_memberships",
            )
        )
    )


def person_label(user) -> str:
    """A person in a network-wide choice: name, e-mail and organisations (from
    ``invitable_users``), so that two people of one name can be told apart."""
    organisations = sorted({m.organisation.name for m in getattr(user, "current_memberships", [])})
    return (
        f"{user.picker_label} ({', '.join(organisations)})" if organisations else user.picker_label
    )


def access_action_item(actor, item_id: int):
    """An action item of a meeting the actor may see, or one the actor owns; else 404."""

    item = (
        ActionItem.objects.select_related("meeting")
        .filter(pk=item_id)
        .filter(Q(owner=actor) | Q(meeting__in=meetings_for(actor)))
        .first()
    )
    if item is None:
        raise Http404
    return item


# --- lessons learned (issue 8) -----------------------------------------------------------


def lessons(actor, *, query: str = "", tag: str = "", outcome: str = ""):
    """Lessons every member may read, newest first; ``query`` searches the three parts."""

    if not active_roles(actor):
        return Lesson.objects.none()
    found = Lesson.objects.select_related("author").prefetch_related("tags")
    for word in query.split()[:5]:
        found = found.filter(
            Q(title__icontains=word)
            | Q(what_happened__icontains=word)
            | Q(what_we_learned__icontains=word)
            | Q(what_we_change__icontains=word)
        )
    if tag:
        found = found.filter(tags__name=tag)
    if outcome:
        found = found.filter(outcome=outcome)
    return found.order_by("-created_at")


def lesson_tags() -> list[tuple[str, int]]:
    """Tags with the number of lessons carrying them, most used first."""

    rows = LessonTag.objects.annotate(count=Count("lessons")).filter(count__gt=0)
    return [(t.name, t.count) for t in rows.order_by("-count", "name")]


def access_lesson(actor, lesson_id: int):

    lesson = lessons(actor).filter(pk=lesson_id).first()
    if lesson is None:
        raise Http404
    return lesson


def organisation_proposals() -> QuerySet[Organisation]:
    """Organisations case workers proposed that no coordinator has decided on, oldest first."""
    return (
        Organisation.objects.filter(proposed_at__isnull=False, reviewed_at__isnull=True)
        .select_related("type__sector", "region", "proposed_by")
        .order_by("proposed_at", "pk")
    )
