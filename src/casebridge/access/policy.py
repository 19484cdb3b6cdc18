"""The need-to-know policy: one set of rules, two evaluators (DESIGN.md invariants 1, 2).

``decide(actor, action, resource)`` answers for one object in memory and explains itself;
``visible(actor, queryset)`` compiles the same rules into a filter for lists. Both are
built from the same role facts (``_roles_by_organisation``), and a property test checks
that they always agree.

A coordinator's running emergency access (break-glass, ``EmergencyAccess``) is a seat too:
it reads every category the coordinator's sector may read by scope, writes nothing, and
ends by itself. Every write decision refuses it with an emergency denial, which
``require()`` turns into ``EmergencyRefused`` (a clear 403, not a 404).

Covered: hotline contacts, referrals and the caller's identity on them; cases, their
entries, identity, conference items and documents. For case content the facts are the
actor's *seats*: the active participations in which the actor is a named person and an
active member of the participating organisation, with the categories the seat may read
and write. A seat never reads by scope what its sector receives only by disclosure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from casebridge.accounts.models import Role
from casebridge.accounts.permissions import roles_by_organisation
from casebridge.cases.models import Case, ConferenceItem, Entry, Participant, RelatedPerson
from casebridge.cooperation_models.models import Term
from casebridge.facts import fact
from casebridge.hotline.models import Contact, Referral
from casebridge.refusals import EmergencyRefused
from casebridge.sharing.models import Disclosure, EmergencyAccess

HOTLINE_ROLES = frozenset({Role.HOTLINE_COUNSELLOR, Role.COORDINATOR})
PARTNER_ROLES = frozenset({Role.PARTNER_COUNSELLOR, Role.COORDINATOR})
# Roles whose holders can be named people in a case.
CASE_WORK_ROLES = frozenset({Role.PARTNER_COUNSELLOR, Role.SECURITY_LIAISON, Role.COORDINATOR})


class Action(StrEnum):
    VIEW = "view"
    CHANGE = "change"
    VIEW_IDENTITY = "view_identity"
    RESPOND = "respond"  # a partner answers a referral
    VIEW_METADATA = "view_metadata"  # number, owner, phase, lead changes: no content


class Decision:
    """An answer with its explanation; the explanation is rendered (translated) only when read.

    Rendering on demand keeps ``decide()`` fast for lists, where most reasons are never shown.
    """

    __slots__ = ("_message", "_params", "allowed", "emergency")

    def __init__(self, allowed: bool, message: str, params=None, *, emergency: bool = False):
        self.allowed = allowed
        self._message = message
        self._params = params
        self.emergency = emergency  # refused because the seat is an emergency access

    def __bool__(self) -> bool:
        return self.allowed

    def __repr__(self) -> str:
        return f"Decision({self.allowed}, {self.reason!r})"

    @property
    def reason(self) -> str:
        text = _(self._message)
        params = self._params() if callable(self._params) else self._params
        return text % params if params else text


def organisations_with(actor, roles: frozenset[str]) -> set[int]:
    """The organisations in which the actor holds one of ``roles`` now."""
    return {org for org, held in roles_by_organisation(actor).items() if held & roles}


@dataclass(frozen=True)
class Seat:
    """The actor's place in one case."""

    case_id: int
    participant_id: int | None  # None for an emergency access (no participant behind it)
    organisation_id: int
    role: str
    lead: bool
    readable: frozenset[int]  # category ids readable by scope (never_by_scope removed)
    writable: frozenset[int]
    disclosed: frozenset[int] = frozenset()  # entry ids disclosed to this participant
    emergency: int | None = None  # the EmergencyAccess id when the seat is a break-glass one


def seats(actor) -> dict[int, Seat]:
    """The actor's active seats by case id; derived once per request (``casebridge.facts``)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return {}
    return fact(actor, "seats", lambda: _derive_seats(actor))


def _derive_seats(actor) -> dict[int, Seat]:
    organisations = organisations_with(actor, CASE_WORK_ROLES)
    participants = (
        Participant.objects.active()
        .filter(members=actor, organisation_id__in=organisations)
        .select_related("role", "organisation__type__sector")
        .prefetch_related("read_categories", "write_categories")
    )
    category_ids = dict(Term.objects.filter(kind="information_category").values_list("code", "id"))
    cached = {}
    for participant in participants:
        never = {
            category_ids[code]
            for code in participant.organisation.type.sector.never_by_scope
            if code in category_ids
        }
        cached[participant.case_id] = Seat(
            case_id=participant.case_id,
            participant_id=participant.pk,
            organisation_id=participant.organisation_id,
            role=participant.role.code,
            lead=bool(participant.role.attributes.get("lead")),
            readable=frozenset(t.pk for t in participant.read_categories.all()) - never,
            writable=frozenset(t.pk for t in participant.write_categories.all()) - never,
        )
    if cached:
        disclosed: dict[int, set[int]] = {}
        rows = Disclosure.entries.through.objects.filter(
            disclosure__status=Disclosure.Status.APPROVED,
            disclosure__to_participant_id__in=[seat.participant_id for seat in cached.values()],
        ).values_list("disclosure__case_id", "entry_id")
        for case_id, entry_id in rows:
            disclosed.setdefault(case_id, set()).add(entry_id)
        for case_id, entry_ids in disclosed.items():
            seat = cached[case_id]
            cached[case_id] = Seat(**{**seat.__dict__, "disclosed": frozenset(entry_ids)})
    _add_emergency_seats(actor, cached, category_ids)
    return cached


def _add_emergency_seats(actor, held: dict[int, Seat], category_ids: dict[str, int]) -> None:
    """Break-glass: a coordinator's running emergency access reads the whole case, writes
    nothing, and still never reads by scope what the coordinator's sector may not."""
    coordinating = organisations_with(actor, frozenset({Role.COORDINATOR}))
    if not coordinating:
        return

    accesses = (
        EmergencyAccess.objects.filter(
            user=actor,
            organisation_id__in=coordinating,
            ended_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .exclude(case_id__in=list(held))
        .select_related("organisation__type__sector")
    )
    everything = frozenset(category_ids.values())
    for access in accesses:
        never = {
            category_ids[code]
            for code in access.organisation.type.sector.never_by_scope
            if code in category_ids
        }
        held[access.case_id] = Seat(
            case_id=access.case_id,
            participant_id=None,
            organisation_id=access.organisation_id,
            role="emergency_access",
            lead=False,
            readable=everything - never,
            writable=frozenset(),
            emergency=access.pk,
        )


def seat_participant(actor, case: Case) -> Participant:
    """The participant through which the actor sits in the case; refused for an emergency
    access (no participant behind it) and for anyone without a seat."""
    seat = seats(actor).get(case.pk)
    if seat is None or seat.participant_id is None:
        raise PermissionDenied(
            _("denied: not a named person of a participant in case %(number)s")
            % {"number": case.number}
        )
    return Participant.objects.get(pk=seat.participant_id)


def can_take_calls(actor) -> bool:
    return bool(organisations_with(actor, frozenset({Role.HOTLINE_COUNSELLOR})))


# --- one object ------------------------------------------------------------------------


def decide(actor, action: str, resource) -> Decision:
    """Decide one access to one object; the reason names roles and organisations, never content."""

    if isinstance(resource, Contact):
        return _decide_contact(actor, action, resource)
    if isinstance(resource, Referral):
        return _decide_referral(actor, action, resource)
    if isinstance(resource, Case):
        return _decide_case(actor, action, resource)
    if isinstance(resource, Entry | ConferenceItem):
        return _decide_item(actor, action, resource)
    if isinstance(resource, RelatedPerson):
        return _decide_case(actor, Action.VIEW_IDENTITY, resource.case)
    return Decision(
        False,
        gettext_noop("denied: no rule covers %(kind)s"),
        lambda: {"kind": type(resource).__name__},
    )


def _decide_case(actor, action: str, case) -> Decision:
    seat = seats(actor).get(case.pk)
    if action == Action.VIEW_METADATA and (
        seat or organisations_with(actor, frozenset({Role.COORDINATOR}))
    ):
        return Decision(True, gettext_noop("allowed: participant or network coordinator"))
    if seat is None:
        return Decision(
            False,
            gettext_noop("denied: not a named person of a participant in case %(number)s"),
            lambda: {"number": case.number},
        )
    if action == Action.VIEW:
        if seat.emergency:
            return _emergency_decision(lambda: case.number)
        return Decision(
            True,
            gettext_noop("allowed: participant in case %(number)s"),
            lambda: {"number": case.number},
        )
    if action == Action.CHANGE:
        if seat.emergency:
            return _emergency_read_only(lambda: case.number)
        if seat.lead:
            return Decision(
                True,
                gettext_noop("allowed: the lead of case %(number)s"),
                lambda: {"number": case.number},
            )
        return Decision(
            False,
            gettext_noop("denied: only the lead of case %(number)s changes it"),
            lambda: {"number": case.number},
        )
    if action == Action.VIEW_IDENTITY:
        identity = information_category_id("identity")
        if identity in seat.readable:
            if seat.emergency:
                return _emergency_decision(lambda: case.number)
            return Decision(True, gettext_noop("allowed: the scope includes identity"))
        return Decision(
            False,
            gettext_noop("denied: the %(role)s scope in case %(number)s excludes identity"),
            lambda: {"role": seat.role, "number": case.number},
        )
    return Decision(False, gettext_noop("denied: no rule covers this action on a case"))


def _decide_item(actor, action: str, item) -> Decision:
    """Entries and conference items: readable by scope, by authorship, or (later) disclosure."""
    # Ids only on the hot path: the case and the category are loaded just for a reason.
    case_id = item.case_id if isinstance(item, Entry) else item.conference.case_id
    seat = seats(actor).get(case_id)

    def case_number():
        return item.case.number if isinstance(item, Entry) else item.conference.case.number

    if seat is None:
        return Decision(
            False,
            gettext_noop("denied: not a named person of a participant in case %(number)s"),
            lambda: {"number": case_number()},
        )
    if action == Action.VIEW:
        if seat.emergency and item.category_id in seat.readable:
            return _emergency_decision(case_number)
        if item.category_id in seat.readable:
            return Decision(
                True,
                gettext_noop("allowed: the scope includes %(category)s"),
                lambda: {"category": item.category.code},
            )
        if item.author_organisation_id == seat.organisation_id:
            return Decision(True, gettext_noop("allowed: written by the reader's own organisation"))
        if isinstance(item, Entry) and item.pk in seat.disclosed:
            return Decision(True, gettext_noop("allowed: disclosed to the reader's organisation"))
    elif action == Action.CHANGE and item.category_id in seat.writable:
        return Decision(
            True,
            gettext_noop("allowed: the scope may write %(category)s"),
            lambda: {"category": item.category.code},
        )
    return Decision(
        False,
        gettext_noop("denied: the %(role)s scope in case %(number)s excludes %(category)s"),
        lambda: {"role": seat.role, "number": case_number(), "category": item.category.code},
    )


def _emergency_decision(number) -> Decision:
    """``number`` is a callable: the case number is loaded only when the reason is read."""
    return Decision(
        True,
        gettext_noop(
            "allowed: emergency access to case %(number)s, reviewed by the data protection officer"
        ),
        lambda: {"number": number()},
    )


def _emergency_read_only(number) -> Decision:
    return Decision(
        False,
        gettext_noop("denied: emergency access to case %(number)s reads and never writes"),
        lambda: {"number": number()},
        emergency=True,
    )


def require(decision: Decision) -> None:
    """Raise unless allowed: ``EmergencyRefused`` (said to the user) for an emergency seat,
    ``PermissionDenied`` with the reason otherwise."""
    if decision:
        return
    if decision.emergency:
        raise EmergencyRefused
    raise PermissionDenied(decision.reason)


def emergency_access_of(actor, case_id: int) -> int | None:
    """The id of the running emergency access through which the actor reads the case."""
    seat = seats(actor).get(case_id)
    return seat.emergency if seat is not None else None


def may_contribute(actor, case) -> Decision:
    """May the actor add to the case's record (a conference, an event, a disclosure)?

    Any participant's seat may; an emergency access never does.
    """
    seat = seats(actor).get(case.pk)
    if seat is not None and seat.emergency:
        return _emergency_read_only(lambda: case.number)
    return decide(actor, Action.VIEW, case)


def may_write(actor, case, category) -> Decision:
    """May the actor record an item of ``category`` in ``case``?"""
    seat = seats(actor).get(case.pk)
    if seat is not None and seat.emergency:
        return _emergency_read_only(lambda: case.number)
    if seat is not None and category.pk in seat.writable:
        return Decision(
            True,
            gettext_noop("allowed: the scope may write %(category)s"),
            lambda: {"category": category.code},
        )
    return Decision(
        False,
        gettext_noop("denied: no scope in case %(number)s to write %(category)s"),
        lambda: {"number": case.number, "category": category.code},
    )


_CATEGORY_IDS: dict[str, int] = {}


def information_category_id(code: str) -> int | None:
    if code not in _CATEGORY_IDS:
        found = (
            Term.objects.filter(kind="information_category", code=code)
            .values_list("id", flat=True)
            .first()
        )
        if found is None:
            return None
        _CATEGORY_IDS[code] = found
    return _CATEGORY_IDS[code]


def _decide_contact(actor, action: str, contact) -> Decision:
    if contact.organisation_id in organisations_with(actor, HOTLINE_ROLES) and action in (
        Action.VIEW,
        Action.CHANGE,
        Action.VIEW_IDENTITY,
    ):
        return Decision(
            True, gettext_noop("allowed: hotline staff of the organisation that took the contact")
        )
    return Decision(
        False,
        gettext_noop("denied: contact %(reference)s belongs to the hotline that took it"),
        lambda: {"reference": contact.reference},
    )


def _decide_referral(actor, action: str, referral) -> Decision:
    hotline_side = referral.contact.organisation_id in organisations_with(actor, HOTLINE_ROLES)
    partner_side = referral.partner_id in organisations_with(actor, PARTNER_ROLES)
    if action == Action.VIEW and (hotline_side or partner_side):
        return Decision(True, gettext_noop("allowed: sender or addressee of the referral"))
    if action == Action.CHANGE and hotline_side:
        return Decision(True, gettext_noop("allowed: the hotline that sent the referral"))
    if action == Action.RESPOND and partner_side:
        return Decision(True, gettext_noop("allowed: the partner the referral is addressed to"))
    if action == Action.VIEW_IDENTITY:
        if hotline_side:
            return Decision(True, gettext_noop("allowed: the hotline that took the contact"))
        if partner_side and referral.mode == "consent" and referral.status in _IDENTITY_STATUSES:
            return Decision(
                True, gettext_noop("allowed: the caller consented to pass on contact details")
            )
        if partner_side:
            return Decision(
                False,
                gettext_noop(
                    "denied: the caller's identity is passed on only with recorded consent"
                ),
            )
    return Decision(
        False,
        gettext_noop(
            "denied: referral of %(reference)s is visible only to its sender and addressee"
        ),
        lambda: {"reference": referral.contact.reference},
    )


_IDENTITY_STATUSES = ("sent", "accepted")


# --- lists: the same rules as a filter ---------------------------------------------------


def visible(actor, queryset: QuerySet, action: str = Action.VIEW) -> QuerySet:
    """Restrict ``queryset`` to what ``decide(actor, action, obj)`` allows, in the database."""

    if queryset.model in (Entry, ConferenceItem):
        return queryset.filter(_items_filter(actor, action, queryset.model is ConferenceItem))
    if queryset.model is Case:
        return queryset.filter(_cases_filter(actor, action))
    hotline = organisations_with(actor, HOTLINE_ROLES)
    partner = organisations_with(actor, PARTNER_ROLES)
    if queryset.model is Contact:
        if action in (Action.VIEW, Action.CHANGE, Action.VIEW_IDENTITY):
            return queryset.filter(organisation_id__in=hotline)
        return queryset.none()
    if queryset.model is Referral:
        if action == Action.VIEW:
            return queryset.filter(
                Q(contact__organisation_id__in=hotline) | Q(partner_id__in=partner)
            )
        if action == Action.CHANGE:
            return queryset.filter(contact__organisation_id__in=hotline)
        if action == Action.RESPOND:
            return queryset.filter(partner_id__in=partner)
        if action == Action.VIEW_IDENTITY:
            return queryset.filter(
                Q(contact__organisation_id__in=hotline)
                | Q(partner_id__in=partner, mode="consent", status__in=_IDENTITY_STATUSES)
            )
    return queryset.none()


def _cases_filter(actor, action: str) -> Q:
    held = seats(actor)
    if action == Action.VIEW_METADATA and organisations_with(actor, frozenset({Role.COORDINATOR})):
        return Q()
    if action in (Action.VIEW, Action.VIEW_METADATA):
        return Q(pk__in=list(held))
    if action == Action.CHANGE:
        return Q(pk__in=[case for case, seat in held.items() if seat.lead])
    if action == Action.VIEW_IDENTITY:
        identity = information_category_id("identity")
        return Q(pk__in=[case for case, seat in held.items() if identity in seat.readable])
    return Q(pk__in=[])


def _items_filter(actor, action: str, conference: bool) -> Q:
    """The seats as a filter: grouped by identical scopes so the SQL stays short."""
    prefix = "conference__case_id" if conference else "case_id"
    by_scope: dict[frozenset[int], list[int]] = {}
    by_organisation: dict[int, list[int]] = {}
    for case_id, seat in seats(actor).items():
        scope = seat.readable if action == Action.VIEW else seat.writable
        by_scope.setdefault(scope, []).append(case_id)
        by_organisation.setdefault(seat.organisation_id, []).append(case_id)
    condition = Q(pk__in=[])
    if action not in (Action.VIEW, Action.CHANGE):
        return condition
    for scope, cases in by_scope.items():
        if scope:
            condition |= Q(**{f"{prefix}__in": cases, "category_id__in": sorted(scope)})
    if action == Action.VIEW:
        for organisation, cases in by_organisation.items():
            condition |= Q(**{f"{prefix}__in": cases, "author_organisation_id": organisation})
        if not conference:
            disclosed = sorted(e for seat in seats(actor).values() for e in seat.disclosed)
            if disclosed:
                condition |= Q(pk__in=disclosed)
    return condition
