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
entries, identity, conference items and documents; transfers of a case to another
organisation (the case's lead proposes and withdraws, the receiving organisation's
partner counsellors and coordinators see and answer one without a seat in the case).
For case content the facts are the actor's *seats*: the active participations in which
the actor is a named person and an active member of the participating organisation,
with the categories the seat may read and write. A seat never reads by scope what its
sector receives only by disclosure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from casebridge.accounts.models import Role
from casebridge.accounts.permissions import roles_by_organisation
from casebridge.cases.models import (
    Case,
    ConferenceItem,
    Entry,
    Participant,
    RelatedPerson,
    Transfer,
)
from casebridge.cooperation_models.models import Term
from casebridge.dbrouting import on_primary
from casebridge.facts import fact, installation_fact, known_fact
from casebridge.hotline.models import Contact, Referral
from casebridge.network.models import Sector
from casebridge.refusals import EmergencyRefused
from casebridge.sharing.models import ContactDisclosure, Disclosure, EmergencyAccess

HOTLINE_ROLES = frozenset({Role.HOTLINE_COUNSELLOR, Role.COORDINATOR})
PARTNER_ROLES = frozenset({Role.PARTNER_COUNSELLOR, Role.COORDINATOR})
# Roles whose holders can be named people in a case.
CASE_WORK_ROLES = frozenset({Role.PARTNER_COUNSELLOR, Role.SECURITY_LIAISON, Role.COORDINATOR})
# Roles that sit in a case where their holder is a named person: case work, and an outside
# professional invited to that one case (a guest has no other right anywhere).
SEAT_ROLES = CASE_WORK_ROLES | {Role.GUEST}


class Action(StrEnum):
    VIEW = "view"
    CHANGE = "change"
    VIEW_IDENTITY = "view_identity"
    RESPOND = "respond"  # a partner answers a referral, a receiving organisation a transfer
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


@on_primary
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
    """Every active seat of the actor by case id, for lists across cases; derived once per
    request (``casebridge.facts``). One case needs one seat: ``seat_for``."""
    if not _may_sit(actor):
        return {}
    return fact(actor, "seats", lambda: _derive_seats(actor))


def seat_for(actor, case_id: int) -> Seat | None:
    """The actor's seat in one case, or None; loads that seat alone unless every seat is
    known already in this request."""
    if not _may_sit(actor):
        return None
    every = known_fact(actor, "seats")
    if every is not None:
        return every.get(case_id)
    return fact(actor, f"seat:{case_id}", lambda: _derive_seats(actor, [case_id]).get(case_id))


def seats_in(actor, case_ids: Iterable[int]) -> dict[int, Seat]:
    """The actor's seats in these cases by case id, the unknown ones loaded at once (a list
    of a few cases needs their seats, not all of the actor's)."""
    wanted = set(case_ids)
    if not _may_sit(actor) or not wanted:
        return {}
    every = known_fact(actor, "seats")
    if every is not None:
        return {pk: every[pk] for pk in wanted if pk in every}
    missing = [pk for pk in wanted if known_fact(actor, f"seat:{pk}") is None]
    derived = _derive_seats(actor, missing) if missing else {}
    found = {pk: fact(actor, f"seat:{pk}", lambda pk=pk: derived.get(pk)) for pk in wanted}
    return {pk: seat for pk, seat in found.items() if seat is not None}


def _may_sit(actor) -> bool:
    return getattr(actor, "is_authenticated", False) and actor.is_active


@dataclass(frozen=True)
class _Vocabulary:
    """What a seat's rules need from the vocabulary, read as ids (no JSON per seat)."""

    categories: dict[str, int]  # information category id by code
    roles: dict[int, tuple[str, bool]]  # case role id → (code, is a lead role)
    never: dict[int, frozenset[int]]  # sector id → category ids it never reads by scope


def _vocabulary(actor) -> _Vocabulary:
    def derive() -> _Vocabulary:
        categories, roles = {}, {}
        for pk, kind, code, attributes in Term.objects.filter(
            kind__in=("information_category", "case_role")
        ).values_list("pk", "kind", "code", "attributes"):
            if kind == "information_category":
                categories[code] = pk
            else:
                roles[pk] = (code, bool((attributes or {}).get("lead")))
        never = {
            pk: frozenset(categories[code] for code in codes or () if code in categories)
            for pk, codes in Sector.objects.values_list("pk", "never_by_scope")
        }
        return _Vocabulary(categories, roles, never)

    return fact(actor, "seat_vocabulary", derive)


@on_primary
def _derive_seats(actor, case_ids: Collection[int] | None = None) -> dict[int, Seat]:
    """The seats of the actor (in these cases when ``case_ids`` is given), in a few queries
    of ids: participations, their scopes, the entries disclosed to them, emergency accesses."""
    participants = _participations(actor)
    if case_ids is not None:
        case_ids = _storable(case_ids)
        participants = participants.filter(case_id__in=case_ids)
    # A person named in two participations of one case sits through the newest (pk order:
    # the later row wins), as _cases_filter chooses in SQL.
    rows = list(
        participants.order_by("pk").values_list(
            "pk", "case_id", "organisation_id", "role_id", "organisation__type__sector_id"
        )
    )
    vocabulary = _vocabulary(actor)
    held: dict[int, Seat] = {}
    if rows:
        ids = [row[0] for row in rows]
        scopes = {pk: (set(), set()) for pk in ids}
        for through, side in (
            (Participant.read_categories.through, 0),
            (Participant.write_categories.through, 1),
        ):
            for pk, term in through.objects.filter(participant_id__in=ids).values_list(
                "participant_id", "term_id"
            ):
                scopes[pk][side].add(term)
        disclosed: dict[int, set[int]] = {}
        for pk, entry in Disclosure.entries.through.objects.filter(
            disclosure__status=Disclosure.Status.APPROVED, disclosure__to_participant_id__in=ids
        ).values_list("disclosure__to_participant_id", "entry_id"):
            disclosed.setdefault(pk, set()).add(entry)
        for pk, case, organisation, role, sector in rows:
            never = vocabulary.never.get(sector, frozenset())
            code, lead = vocabulary.roles.get(role, ("", False))
            held[case] = Seat(
                case_id=case,
                participant_id=pk,
                organisation_id=organisation,
                role=code,
                lead=lead,
                readable=frozenset(scopes[pk][0]) - never,
                writable=frozenset(scopes[pk][1]) - never,
                disclosed=frozenset(disclosed.get(pk, ())),
            )
    _add_emergency_seats(actor, held, vocabulary, case_ids)
    return held


BIGINT = range(-(2**63), 2**63)


def _storable(ids: Collection[int]) -> list[int]:
    """The ids a database column can hold: an id from an address (``/cases/99…9/``) larger
    than 64 bits names no case, and SQLite would refuse the query rather than find none."""
    return [pk for pk in ids if pk in BIGINT]


def _participations(actor):
    """The active participations in which the actor is a named person and an active
    member of the participating organisation, in a role that does case work."""
    return Participant.objects.active().filter(
        members=actor, organisation_id__in=organisations_with(actor, SEAT_ROLES)
    )


def _running_emergency_accesses(actor, coordinating):
    return EmergencyAccess.objects.filter(
        user=actor,
        organisation_id__in=coordinating,
        ended_at__isnull=True,
        expires_at__gt=timezone.now(),
    )


def _add_emergency_seats(
    actor, held: dict[int, Seat], vocabulary: _Vocabulary, case_ids: Collection[int] | None
) -> None:
    """Break-glass: a coordinator's running emergency access reads the whole case, writes
    nothing, and still never reads by scope what the coordinator's sector may not."""
    coordinating = organisations_with(actor, frozenset({Role.COORDINATOR}))
    if not coordinating:
        return
    accesses = _running_emergency_accesses(actor, coordinating).exclude(case_id__in=list(held))
    if case_ids is not None:
        accesses = accesses.filter(case_id__in=case_ids)
    everything = frozenset(vocabulary.categories.values())
    for pk, case, organisation, sector in accesses.values_list(
        "pk", "case_id", "organisation_id", "organisation__type__sector_id"
    ):
        held[case] = Seat(
            case_id=case,
            participant_id=None,
            organisation_id=organisation,
            role="emergency_access",
            lead=False,
            readable=everything - vocabulary.never.get(sector, frozenset()),
            writable=frozenset(),
            emergency=pk,
        )


def seat_participant(actor, case: Case) -> Participant:
    """The participant through which the actor sits in the case; refused for an emergency
    access (no participant behind it) and for anyone without a seat."""
    seat = seat_for(actor, case.pk)
    if seat is None or seat.participant_id is None:
        raise PermissionDenied(
            _("denied: not a named person of a participant in case %(number)s")
            % {"number": case.number}
        )
    return Participant.objects.get(pk=seat.participant_id)


def can_take_calls(actor) -> bool:
    return bool(organisations_with(actor, frozenset({Role.HOTLINE_COUNSELLOR})))


# --- one object ------------------------------------------------------------------------


@on_primary  # the need-to-know decision reads the primary, never the standby
def decide(actor, action: str, resource) -> Decision:
    """Decide one access to one object; the reason names roles and organisations, never content."""

    if isinstance(resource, Contact):
        return _decide_contact(actor, action, resource)
    if isinstance(resource, Referral):
        return _decide_referral(actor, action, resource)
    if isinstance(resource, ContactDisclosure):
        return _decide_contact_disclosure(actor, action, resource)
    if isinstance(resource, Case):
        return _decide_case(actor, action, resource)
    if isinstance(resource, Entry | ConferenceItem):
        return _decide_item(actor, action, resource)
    if isinstance(resource, RelatedPerson):
        return _decide_case(actor, Action.VIEW_IDENTITY, resource.case)
    if isinstance(resource, Transfer):
        return _decide_transfer(actor, action, resource)
    return Decision(
        False,
        gettext_noop("denied: no rule covers %(kind)s"),
        lambda: {"kind": type(resource).__name__},
    )


def _decide_case(actor, action: str, case) -> Decision:
    seat = seat_for(actor, case.pk)
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
    seat = seat_for(actor, case_id)

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
    seat = seat_for(actor, case_id)
    return seat.emergency if seat is not None else None


def seated_case_ids(actor) -> QuerySet:
    """The ids of the cases in which the actor holds a seat, as a subquery: for filters
    across cases that need no seat in the process."""
    return Case.objects.filter(_cases_filter(actor, Action.VIEW)).values("pk")


def any_read_by_emergency(actor, case_ids) -> bool:
    """Does the actor read any of these cases by emergency access? One query for a list."""
    case_ids = list(case_ids)
    every = known_fact(actor, "seats")
    if every is not None:
        return any(every[c].emergency for c in case_ids if c in every)
    coordinating = organisations_with(actor, frozenset({Role.COORDINATOR}))
    if not case_ids or not coordinating or not _may_sit(actor):
        return False
    return (
        _running_emergency_accesses(actor, coordinating)
        .filter(case_id__in=case_ids)
        .exclude(case_id__in=_participations(actor).values("case_id"))
        .exists()
    )


def may_contribute(actor, case) -> Decision:
    """May the actor add to the case's record (a conference, an event, a disclosure)?

    Any participant's seat may; an emergency access never does.
    """
    seat = seat_for(actor, case.pk)
    if seat is not None and seat.emergency:
        return _emergency_read_only(lambda: case.number)
    return decide(actor, Action.VIEW, case)


def may_write(actor, case, category) -> Decision:
    """May the actor record an item of ``category`` in ``case``?"""
    seat = seat_for(actor, case.pk)
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


def information_category_id(code: str) -> int | None:
    """The id of an information category, kept for one generation of facts: a term saved
    or a model loaded starts a new one, so an id never outlives its term."""
    return installation_fact(
        f"information_category:{code}",
        lambda: (
            Term.objects.filter(kind="information_category", code=code)
            .values_list("id", flat=True)
            .first()
        ),
    )


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


def _decide_contact_disclosure(actor, action: str, disclosure) -> Decision:
    """The hotline that took the contact prepares, approves and reads its disclosures; the
    recipient organisation reads one only once it is sent (approved by a second person),
    and never the contact behind it."""
    hotline_side = disclosure.contact.organisation_id in organisations_with(actor, HOTLINE_ROLES)
    if hotline_side and action in (Action.VIEW, Action.VIEW_IDENTITY, Action.CHANGE):
        return Decision(True, gettext_noop("allowed: the hotline that took the contact"))
    recipient_side = (
        disclosure.status == ContactDisclosure.Status.SENT
        and disclosure.recipient_id in organisations_with(actor, CASE_WORK_ROLES)
    )
    if recipient_side and action in (Action.VIEW, Action.VIEW_IDENTITY, Action.RESPOND):
        return Decision(True, gettext_noop("allowed: the recipient of a sent disclosure"))
    return Decision(
        False,
        gettext_noop(
            "denied: a hotline disclosure is visible to the hotline and, once sent, "
            "to its recipient"
        ),
    )


def _decide_transfer(actor, action: str, transfer) -> Decision:
    """The case's lead sees and withdraws a transfer; the receiving organisation's partner
    counsellors and coordinators see and answer it, with no seat in the case (whether a
    transfer is still open is the service's question, not the policy's)."""
    receiving = transfer.to_organisation_id in organisations_with(actor, PARTNER_ROLES)
    if action in (Action.VIEW, Action.RESPOND) and receiving:
        return Decision(
            True, gettext_noop("allowed: staff of the organisation the transfer is offered to")
        )
    if action in (Action.VIEW, Action.CHANGE):
        lead = _decide_case(actor, Action.CHANGE, transfer.case)
        if lead or lead.emergency:
            return lead
    return Decision(
        False,
        gettext_noop(
            "denied: a transfer of case %(number)s is for the case's lead and the "
            "organisation it is offered to"
        ),
        lambda: {"number": transfer.case.number},
    )


# --- lists: the same rules as a filter ---------------------------------------------------


def visible(actor, queryset: QuerySet, action: str = Action.VIEW, *, case=None) -> QuerySet:
    """Restrict ``queryset`` to what ``decide(actor, action, obj)`` allows, in the database.

    For entries and conference items, ``case`` narrows the list to one case and the
    filter to the actor's one seat in it (a case page loads no other seat).
    """

    if queryset.model in (Entry, ConferenceItem):
        conference = queryset.model is ConferenceItem
        if case is not None:
            seat = seat_for(actor, case.pk)
            queryset = queryset.filter(
                **{"conference__case_id" if conference else "case_id": case.pk}
            )
            held = {case.pk: seat} if seat is not None else {}
        else:
            held = seats(actor)
        return queryset.filter(_items_filter(held, action, conference))
    if queryset.model is Case:
        return queryset.filter(_cases_filter(actor, action))
    if queryset.model is Transfer:
        return queryset.filter(_transfers_filter(actor, action))
    hotline = organisations_with(actor, HOTLINE_ROLES)
    partner = organisations_with(actor, PARTNER_ROLES)
    if queryset.model is Contact:
        if action in (Action.VIEW, Action.CHANGE, Action.VIEW_IDENTITY):
            return queryset.filter(organisation_id__in=hotline)
        return queryset.none()
    if queryset.model is ContactDisclosure:
        sent = Q(
            recipient_id__in=organisations_with(actor, CASE_WORK_ROLES),
            status=ContactDisclosure.Status.SENT,
        )
        if action in (Action.VIEW, Action.VIEW_IDENTITY):
            return queryset.filter(Q(contact__organisation_id__in=hotline) | sent)
        if action == Action.CHANGE:
            return queryset.filter(contact__organisation_id__in=hotline)
        if action == Action.RESPOND:
            return queryset.filter(sent)
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
    """The cases of the actor's seats as subqueries: the database finds them, no seat is
    loaded into the process."""
    if not _may_sit(actor):
        return Q(pk__in=[])
    if action == Action.VIEW_METADATA and organisations_with(actor, frozenset({Role.COORDINATOR})):
        return Q()
    participants = _participations(actor)
    # the participation each case's seat is taken from: the newest (as _derive_seats)
    seated = participants.filter(
        pk=Subquery(
            participants.filter(case_id=OuterRef("case_id")).order_by("-pk").values("pk")[:1]
        )
    )
    coordinating = organisations_with(actor, frozenset({Role.COORDINATOR}))
    # only a coordinator can hold an emergency access: no subquery for anyone else
    emergencies = _running_emergency_accesses(actor, coordinating) if coordinating else None
    if action in (Action.VIEW, Action.VIEW_METADATA):
        condition = Q(pk__in=participants.values("case_id"))
        if emergencies is not None:
            condition |= Q(pk__in=emergencies.values("case_id"))
        return condition
    if action == Action.CHANGE:
        vocabulary = _vocabulary(actor)
        leads = [pk for pk, (_code, lead) in vocabulary.roles.items() if lead]
        return Q(pk__in=seated.filter(role_id__in=leads).values("case_id"))
    if action == Action.VIEW_IDENTITY:
        vocabulary = _vocabulary(actor)
        identity = vocabulary.categories.get("identity")
        barred = [sector for sector, never in vocabulary.never.items() if identity in never]
        condition = Q(
            pk__in=seated.filter(read_categories=identity)
            .exclude(organisation__type__sector_id__in=barred)
            .values("case_id")
        )
        if emergencies is not None:
            # an emergency access counts only where the actor has no participant's seat
            condition |= Q(
                pk__in=emergencies.exclude(organisation__type__sector_id__in=barred)
                .exclude(case_id__in=participants.values("case_id"))
                .values("case_id")
            )
        return condition
    return Q(pk__in=[])


def _transfers_filter(actor, action: str) -> Q:
    """``_decide_transfer`` as a filter: the receiving organisation's staff by organisation,
    the lead by the cases it may change (a subquery, as for the case list)."""
    receiving = Q(to_organisation_id__in=organisations_with(actor, PARTNER_ROLES))
    leading = Q(case_id__in=Case.objects.filter(_cases_filter(actor, Action.CHANGE)).values("pk"))
    if action == Action.VIEW:
        return receiving | leading
    if action == Action.RESPOND:
        return receiving
    if action == Action.CHANGE:
        return leading
    return Q(pk__in=[])


def _items_filter(held: dict[int, Seat], action: str, conference: bool) -> Q:
    """The seats as a filter: grouped by identical scopes so the SQL stays short."""
    prefix = "conference__case_id" if conference else "case_id"
    by_scope: dict[frozenset[int], list[int]] = {}
    by_organisation: dict[int, list[int]] = {}
    for case_id, seat in held.items():
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
            disclosed = sorted(e for seat in held.values() for e in seat.disclosed)
            if disclosed:
                condition |= Q(pk__in=disclosed)
    return condition
