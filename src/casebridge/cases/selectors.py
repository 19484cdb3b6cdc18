"""Reads of cases through the need-to-know policy (DESIGN.md invariants 1–4).

Every read of case content or identity writes an audit event; a denied access answers
404 and is recorded. The case page loads with a constant number of queries, however
many entries the case has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from casebridge.access.policy import (
    PARTNER_ROLES,
    Action,
    any_read_by_emergency,
    decide,
    emergency_access_of,
    information_category_id,
    may_contribute,
    organisations_with,
    seat_for,
    seats_in,
    visible,
)
from casebridge.accounts.stepup import EMERGENCY_PURPOSE, demand
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_denied, audit_record
from casebridge.cases.models import (
    Case,
    Conference,
    ConferenceItem,
    Entry,
    Goal,
    Handover,
    Invitation,
    Participant,
    RelatedPerson,
    SafetyWarning,
    Transfer,
)
from casebridge.cooperation_models.models import Term
from casebridge.network.models import COUNSELLING_SECTORS, Organisation, Region
from casebridge.refusals import EmergencyRefused


def _purpose(actor, case_ids) -> str:
    """The purpose of an event about these cases: "emergency access" when the actor reads
    any of them by emergency access (the data protection officer reviews those events)."""
    if any_read_by_emergency(actor, case_ids):
        return EMERGENCY_PURPOSE
    return ""


def _my_cases(actor, status: str) -> QuerySet[Case]:
    # a list never shows the person's identity: its encrypted columns stay unread
    cases = visible(
        actor,
        Case.objects.select_related("owner").defer(*Case.IDENTITY_FIELDS),
        Action.VIEW,
    )
    if status:
        cases = cases.filter(status=status)
    return cases.order_by("-opened_at", "-pk")


def _audit_case_list(actor, cases: list[Case]) -> None:
    audit_record(
        actor=actor,
        action="cases.case.list",
        purpose=_purpose(actor, [case.pk for case in cases]),
        details={"count": len(cases)},
    )


def my_cases(actor, *, status: str = "open") -> list[Case]:
    """The cases in which the actor has a seat, newest 500."""
    result = list(_my_cases(actor, status)[:500])
    _audit_case_list(actor, result)
    return result


def my_cases_page(actor, *, status: str = "open", page=None, per_page: int = 50) -> Page:
    """One page of the cases in which the actor has a seat; the audit records those shown."""
    result = Paginator(_my_cases(actor, status), per_page).get_page(page)
    _audit_case_list(actor, list(result.object_list))
    return result


def access_case(actor, case_id: int, *, action: str = Action.VIEW, for_write: bool = False) -> Case:
    """One case, or 404 for missing and forbidden alike (the denial is audited).

    ``for_write``: the caller is about to add to or change the case. An emergency access
    only reads, so it is refused here, audited, with ``EmergencyRefused`` (a 403 that says
    why: the user may know the case, a 404 would only confuse). The services refuse it too.
    """
    case = (
        Case.objects.select_related("owner__region", "closing_reason", "referral")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise Http404
    decision = decide(actor, action, case)
    if not decision:
        audit_denied(
            actor=actor,
            action=f"cases.case.{action}",
            object_type="cases.case",
            object_id=case_id,
            reason=decision,
        )
        raise Http404
    emergency = emergency_access_of(actor, case.pk) is not None
    purpose = EMERGENCY_PURPOSE if emergency else ""
    if for_write and emergency:
        audit_denied(
            actor=actor,
            action="cases.case.write",
            object_type="cases.case",
            object_id=case_id,
            reason=may_contribute(actor, case),
            purpose=purpose,
        )
        raise EmergencyRefused
    # Checked for a change or not, the case is read: a change is recorded by the service
    # that makes it, and only when something changed.
    audit_record(
        actor=actor,
        action=f"cases.case.{Action.VIEW if action == Action.CHANGE else action}",
        obj=case,
        purpose=purpose,
        details={"number": case.number},
    )
    return case


def reads_by_emergency(actor, *, case_id: int, **_ids) -> bool:
    """For the step-up door of an API operation on a case (``accounts.stepup.step_up``)."""
    return emergency_access_of(actor, case_id) is not None


def emergency_seat(actor, case: Case) -> int | None:
    """The id of the actor's running emergency access to the case, if that is how they read it."""
    return emergency_access_of(actor, case.pk)


def own_participant_id(actor, case: Case) -> int | None:
    """The participant through which the actor sits in the case (None by emergency access)."""
    seat = seat_for(actor, case.pk)
    return seat.participant_id if seat else None


def possible_duplicates(owner, index: str) -> int:
    """How many open cases of the same organisation hold a person with the same identity.

    A number only, and only within the organisation: the check never reveals another
    organisation's cases.
    """
    if not index:
        return 0
    return Case.objects.filter(owner=owner, status=Case.Status.OPEN, identity_index=index).count()


def case_for_operator(number: str) -> Case | None:
    """A case by number for the operator's command line (simulation shows no content)."""
    return Case.objects.select_related("owner__type").filter(number=number).first()


def case_goal(case: Case, goal_id: int) -> Goal:
    """A goal of a case the caller already accessed; the service checks the write scope."""
    return get_object_or_404(Goal, pk=goal_id, case=case)


def case_conference(case: Case, conference_id: int) -> Conference:
    """A conference of a case the caller already accessed (its items are filtered apart)."""
    return get_object_or_404(Conference, pk=conference_id, case=case)


def _entries(actor, case: Case) -> QuerySet[Entry]:
    return visible(actor, Entry.objects.all(), case=case).select_related(
        "category", "author", "author_organisation"
    )


def _filtered(
    entries: QuerySet[Entry], query: str, category: str, organisation: int | None = None
) -> QuerySet[Entry]:
    if category:
        entries = entries.filter(category__code=category)
    if organisation:
        entries = entries.filter(author_organisation_id=organisation)
    for word in query.split()[:5]:
        entries = entries.filter(Q(title__icontains=word) | Q(text__icontains=word))
    return entries


def _audit_entry_list(actor, case: Case, count: int) -> None:
    audit_record(
        actor=actor,
        action="cases.entry.list",
        obj=case,
        purpose=_purpose(actor, [case.pk]),
        details={"number": case.number, "count": count},
    )


def case_entries(actor, case: Case, *, query: str = "", category: str = "") -> list[Entry]:
    """The entries of a case the actor may read (its scope, its own organisation's)."""
    result = list(_filtered(_entries(actor, case), query, category))
    _audit_entry_list(actor, case, len(result))
    return result


def search_entries(actor, query: str) -> list[Entry]:
    """Search every case the actor sits in; only readable entries are searched."""
    entries = visible(actor, Entry.objects.select_related("case", "category"))
    for word in query.split()[:5]:
        entries = entries.filter(Q(title__icontains=word) | Q(text__icontains=word))
    result = list(entries.order_by("-occurred_on")[:200])
    audit_record(
        actor=actor,
        action="cases.entry.search",
        purpose=_purpose(actor, {entry.case_id for entry in result}),
        details={"count": len(result)},
    )
    return result


def access_entry(actor, entry_id: int) -> Entry:
    entry = Entry.objects.select_related("case", "category").filter(pk=entry_id).first()
    if entry is None:
        raise Http404
    decision = decide(actor, Action.VIEW, entry)
    if not decision:
        audit_denied(
            actor=actor,
            action="cases.entry.view",
            object_type="cases.entry",
            object_id=entry_id,
            reason=decision,
        )
        raise Http404
    audit_record(
        actor=actor,
        action="cases.entry.view",
        obj=entry,
        purpose=_purpose(actor, [entry.case_id]),
        details={"case": entry.case.number},
    )
    return entry


def may_manage_warning(actor, warning: SafetyWarning) -> bool:
    """The organisation that set a staff-safety warning, and whoever may change the case
    (the lead), see its reason, review it and end it."""
    if decide(actor, Action.CHANGE, warning.case):
        return True
    seat = seat_for(actor, warning.case_id)
    return (
        seat is not None
        and seat.participant_id is not None
        and seat.organisation_id == warning.participant.organisation_id
    )


def case_warning(case: Case, warning_id: int) -> SafetyWarning:
    """A staff-safety warning in force of a case the caller already accessed."""
    return get_object_or_404(
        SafetyWarning.objects.select_related("case", "participant"),
        pk=warning_id,
        case=case,
        ended_at__isnull=True,
    )


def safety_warnings(actor, case: Case) -> list[SafetyWarning]:
    """The case's staff-safety warnings in force, for every seat whatever its scope (the
    precaution and its note); ``manageable`` where the reader may see the reason."""
    warnings = list(
        SafetyWarning.objects.filter(case=case, ended_at__isnull=True).select_related(
            "case", "participant__organisation"
        )
    )
    for warning in warnings:
        warning.manageable = may_manage_warning(actor, warning)
    return warnings


@dataclass
class CaseHeader:
    """What every section of the case page shows above it, filtered by the policy."""

    case: Case
    participants: list[Participant]  # with organisation, role and lead worker only
    can_change: bool
    writable: list  # categories the actor may write
    readable: list  # categories the actor may read by scope: the reader's own scope
    warnings: list  # staff-safety warnings in force: every participant sees them
    since: object = None  # when the reader last opened the case before ("new" marks)

    @property
    def lead(self) -> Participant | None:
        return next((p for p in self.participants if p.role.attributes.get("lead")), None)

    @property
    def can_write_identity(self) -> bool:
        return any(term.code == "identity" for term in self.writable)


def case_header(actor, case: Case) -> CaseHeader:
    """The case's number, phase, participants and the reader's own scope (no content)."""
    seat = seat_for(actor, case.pk)
    terms = {
        term.pk: term
        for term in Term.objects.filter(pk__in=seat.readable | seat.writable).order_by("position")
    }
    return CaseHeader(
        case=case,
        participants=list(
            Participant.objects.filter(case=case).select_related(
                "organisation", "role", "lead_worker"
            )
        ),
        can_change=bool(decide(actor, Action.CHANGE, case)),
        writable=[term for pk, term in terms.items() if pk in seat.writable],
        readable=[term for pk, term in terms.items() if pk in seat.readable],
        warnings=safety_warnings(actor, case),
    )


ENTRIES_PER_PAGE = 50


def new_entries_since(actor, case: Case, since) -> int:
    """How many entries the actor may read were recorded by others since ``since``."""
    if since is None:
        return 0
    return _entries(actor, case).filter(created_at__gt=since).exclude(author=actor).count()


def entry_timeline(
    actor,
    case: Case,
    *,
    query: str = "",
    category: str = "",
    organisation: int | None = None,
    number: str | int | None = 1,
) -> Page:
    """One page of the case's readable entries, newest first, filtered by category, the
    author's organisation and words; the entries shown are audited as one list read."""
    entries = _filtered(
        _entries(actor, case).order_by("-occurred_on", "-created_at", "-pk"),
        query,
        category,
        organisation,
    )
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(number)
    _audit_entry_list(actor, case, len(page.object_list))
    return page


@dataclass
class CaseOverview:
    """The case at a glance for its reader: the latest entries the reader may read, how
    many are new since the last visit, the goals by status and the conferences — what the
    reader's seat may see of each, nothing more."""

    latest: list
    new_since: int
    goals: dict  # status label -> count
    last_conference: object
    conferences: int
    documents: int


def case_overview(actor, case: Case, since) -> CaseOverview:
    readable = _entries(actor, case)
    latest = list(readable.order_by("-occurred_on", "-created_at", "-pk")[:5])
    _audit_entry_list(actor, case, len(latest))
    seat = seat_for(actor, case.pk)
    goals: dict = {}
    last_conference, conferences = None, 0
    if _can_read_code(seat, "case_coordination"):
        labels = dict(Goal.Status.choices)
        for status, n in (
            Goal.objects.filter(case=case).values_list("status").annotate(n=Count("pk")).order_by()
        ):
            goals[str(labels.get(status, status))] = n
        held = Conference.objects.filter(case=case).order_by("-held_on")
        conferences = held.count()
        last_conference = held.first()
    return CaseOverview(
        latest=latest,
        new_since=new_entries_since(actor, case, since),
        goals=goals,
        last_conference=last_conference,
        conferences=conferences,
        documents=readable.exclude(document="").count(),
    )


def case_documents(actor, case: Case) -> list[Entry]:
    """The documents of the case the reader may read (entries with a file), newest first;
    the list read is audited like the timeline's."""
    documents = list(
        _entries(actor, case).exclude(document="").order_by("-occurred_on", "-created_at", "-pk")
    )
    _audit_entry_list(actor, case, len(documents))
    return documents


def case_handovers(actor, case: Case) -> list[Handover]:
    """The history of lead workers, where the seat may read the case's coordination."""
    if not _can_read_code(seat_for(actor, case.pk), "case_coordination"):
        return []
    return list(
        Handover.objects.filter(participant__case=case).select_related(
            "from_worker", "to_worker", "participant__organisation"
        )
    )


def case_participants(case: Case) -> list[Participant]:
    """Who takes part (organisations, roles, named people, scopes): visible to every seat."""
    return list(
        Participant.objects.filter(case=case)
        .select_related("organisation__type__sector", "role", "lead_worker")
        .prefetch_related("members", "read_categories", "write_categories")
    )


def case_goals(actor, case: Case) -> list[Goal]:
    """The case plan's goals (category case_coordination) where the seat may read them."""
    if not _can_read_code(seat_for(actor, case.pk), "case_coordination"):
        return []
    return list(Goal.objects.filter(case=case).select_related("template"))


def case_conferences(actor, case: Case) -> list[Conference]:
    """Conferences with only the minutes the actor's scope allows (``visible_items``)."""
    items = visible(actor, ConferenceItem.objects.all(), case=case).select_related(
        "category", "owner", "author_organisation"
    )
    return list(
        Conference.objects.filter(case=case).prefetch_related(
            Prefetch("items", queryset=items, to_attr="visible_items"), "attendees__organisation"
        )
    )


def case_identity(actor, case: Case) -> tuple[dict | None, list[RelatedPerson]]:
    """The person's identity and related people where the scope allows; the read is audited."""
    if not decide(actor, Action.VIEW_IDENTITY, case):
        return None, []
    identity = {
        "first_name": case.first_name,
        "last_name": case.last_name,
        "date_of_birth": case.date_of_birth,
        "address": case.address,
    }
    related = list(RelatedPerson.objects.filter(case=case).select_related("relation"))
    audit_record(
        actor=actor,
        action="cases.identity.view",
        obj=case,
        purpose=_purpose(actor, [case.pk]),
        details={"number": case.number},
    )
    return identity, related


def writable_categories(actor, case: Case) -> list:
    """The information categories the actor may record in this case, in the model's order."""

    return list(Term.objects.filter(pk__in=seat_for(actor, case.pk).writable).order_by("position"))


def named_people(participants: list[Participant]) -> list:
    """The named people of the active participants (owners of action items)."""
    return [member for p in participants if p.is_active for member in p.members.all()]


def _can_read_code(seat, code: str) -> bool:

    return information_category_id(code) in seat.readable


# What apps above cases add to the export of what the reader may read — sharing: the
# excerpts disclosed to the reader. Each is a callable (actor, case) -> rows with the keys
# of ``export_rows``, registered in its app's ready(); cases imports none of them.
EXPORT_ROW_SOURCES: list = []


def export_rows(actor, case: Case) -> list[dict]:
    """The readable entries of a case as rows for a download (the export is audited).

    A step-up action (``accounts.stepup``): a confirmed session only, never a token, and
    never during an emergency access (a copy would outlive the access).
    """
    demand(
        "cases.case.export",
        actor=actor,
        emergency=emergency_access_of(actor, case.pk) is not None,
        obj=case,
    )
    rows = [
        {
            "date": entry.occurred_on.isoformat(),
            "kind": entry.kind,
            "category": entry.category.code,
            "organisation": entry.author_organisation.name,
            "author": str(entry.author),
            "title": entry.title,
            "text": entry.text,
            "likelihood": entry.likelihood,
            "imminence": entry.imminence,
        }
        for entry in _entries(actor, case)
    ]
    for source in EXPORT_ROW_SOURCES:
        rows += source(actor, case)
    audit_record(
        actor=actor,
        action="cases.case.export",
        obj=case,
        purpose="export",
        details={"number": case.number, "rows": len(rows)},
    )
    return rows


@dataclass
class CoordinationRow:
    case_id: int
    number: str
    owner: str
    phase: str
    status: str
    active_lead: bool
    lead_changes: int


def coordination_overview(
    actor, *, often: int = 3, within_days: int = 365
) -> dict[str, list[CoordinationRow]]:
    """Cases without an active lead worker and cases whose lead changed often (no content)."""
    since = timezone.now() - timedelta(days=within_days)
    lead_active = Participant.objects.active().filter(
        case=OuterRef("pk"),
        role__attributes__lead=True,
        lead_worker__isnull=False,
        lead_worker__is_active=True,
    )
    cases = (
        visible(actor, Case.objects.filter(status=Case.Status.OPEN), Action.VIEW_METADATA)
        .select_related("owner")
        .annotate(
            has_lead=Exists(lead_active),
            changes=Count(
                "participants__handovers", filter=Q(participants__handovers__at__gte=since)
            ),
        )
    )
    rows = [
        CoordinationRow(
            c.pk, c.number, c.owner.name, c.get_phase_display(), c.status, c.has_lead, c.changes
        )
        for c in cases.order_by("number")
    ]
    return {
        "without_lead": [r for r in rows if not r.active_lead],
        "changed_often": [r for r in rows if r.lead_changes >= often],
    }


def case_access_history(actor, case) -> list[AuditEvent]:
    """Every recorded access to a case and its items, for the case's lead organisation."""
    if not decide(actor, Action.CHANGE, case):
        raise Http404
    events = list(
        AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).order_by("-id")[
            :500
        ]
    )
    audit_record(
        actor=actor, action="audit.case_history.view", obj=case, details={"number": case.number}
    )
    return events


def case_for_referral(actor, referral) -> Case | None:
    """The case a referral opened, if the actor sits in it (number and id only)."""
    return visible(
        actor, Case.objects.filter(referral=referral).only("pk", "number"), Action.VIEW
    ).first()


def owner_for(actor) -> Organisation | None:
    """The organisation a case the actor opens belongs to: the first (by name) active
    counselling organisation where they counsel or coordinate; None if there is none."""
    return (
        Organisation.objects.filter(
            pk__in=organisations_with(actor, PARTNER_ROLES),
            active=True,
            type__sector__code__in=COUNSELLING_SECTORS,
        )
        .order_by("name")
        .first()
    )


def participant_for_change(actor, case_id: int, participant_id: int) -> Participant:
    """A participant of a case the actor may change (its scope, its end, a handover);
    404 for a participant of another case, as for a case the actor may not change."""
    case = access_case(actor, case_id, for_write=True)
    return get_object_or_404(
        Participant.objects.select_related("organisation__type__sector", "role", "case"),
        pk=participant_id,
        case=case,
    )


def active_participants(case: Case) -> QuerySet[Participant]:
    """The participants in force in a case the caller has accessed (attendees of a new
    conference, recipients a consent may name)."""
    return Participant.objects.active().filter(case=case).select_related("organisation", "role")


# --- transfers to another organisation ----------------------------------------------------


def _transfers() -> QuerySet[Transfer]:
    # the case's number and phase only: its identity columns stay unread
    return Transfer.objects.select_related(
        "case",
        "from_organisation",
        "to_organisation",
        "region",
        "legal_basis",
        "proposed_by",
        "decided_by",
        "lead_worker",
    ).defer(*(f"case__{name}" for name in Case.IDENTITY_FIELDS))


def _mark_rights(actor, transfers: list[Transfer]) -> list[Transfer]:
    """What the actor may do with each transfer, for pages and the API.

    ``shows_grounds``: how the person consented and the written justification are read by
    the case's lead only — the receiving organisation decides on the number, phase,
    region, reason and sender, and sees no case content before it accepts.
    ``can_respond`` (accept, decline) and ``can_withdraw``: while the transfer is open.
    """
    seats_in(actor, {transfer.case_id for transfer in transfers})  # at once, not one by one
    for transfer in transfers:
        lead = bool(decide(actor, Action.CHANGE, transfer))
        is_open = transfer.status == Transfer.Status.OPEN
        transfer.shows_grounds = lead
        transfer.can_withdraw = is_open and lead
        transfer.can_respond = is_open and bool(decide(actor, Action.RESPOND, transfer))
    return transfers


def incoming_transfers(actor) -> list[Transfer]:
    """The open transfers offered to the actor's organisations (as partner counsellor or
    coordinator), oldest first; the list is audited (its reasons may name the person's
    circumstances)."""
    if not organisations_with(actor, PARTNER_ROLES):
        return []
    transfers = list(
        visible(actor, _transfers().filter(status=Transfer.Status.OPEN), Action.RESPOND).order_by(
            "proposed_at", "pk"
        )
    )
    audit_record(
        actor=actor,
        action="cases.transfer.list",
        details={"count": len(transfers), "cases": [t.case.number for t in transfers]},
    )
    return _mark_rights(actor, transfers)


def incoming_transfer_count(actor) -> int:
    """How many transfers wait for the actor's organisations' decision (a number only)."""
    if not organisations_with(actor, PARTNER_ROLES):
        return 0
    return visible(
        actor, Transfer.objects.filter(status=Transfer.Status.OPEN), Action.RESPOND
    ).count()


def access_transfer(actor, transfer_id: int) -> Transfer:
    """One transfer for the case's lead or the organisation it is offered to; 404 for
    missing and forbidden alike (the denial is audited); the read is audited."""
    transfer = _transfers().filter(pk=transfer_id).first()
    if transfer is None:
        raise Http404
    decision = decide(actor, Action.VIEW, transfer)
    if not decision:
        audit_denied(
            actor=actor,
            action="cases.transfer.view",
            object_type="cases.transfer",
            object_id=transfer_id,
            reason=decision,
        )
        raise Http404
    audit_record(
        actor=actor,
        action="cases.transfer.view",
        obj=transfer,
        details={"case": transfer.case.number},
    )
    return _mark_rights(actor, [transfer])[0]


def case_transfers(actor, case: Case) -> list[Transfer]:
    """The transfers of a case the actor accessed, for its lead (the section "phase and
    closing"): the open one first, then the history, newest first."""
    transfers = list(visible(actor, _transfers().filter(case=case), Action.CHANGE))
    transfers.sort(key=lambda t: t.status != Transfer.Status.OPEN)
    for transfer in transfers:  # the lead: it may change the case
        transfer.shows_grounds, transfer.can_respond = True, False
        transfer.can_withdraw = transfer.status == Transfer.Status.OPEN
    return transfers


def receiving_organisations(case: Case) -> QuerySet[Organisation]:
    """The organisations a case can move to: active counselling organisations other than
    the owner and the central hotline (which refers, and does not lead cases onwards)."""
    return (
        Organisation.objects.filter(
            active=True, is_hotline=False, type__sector__code__in=COUNSELLING_SECTORS
        )
        .exclude(pk=case.owner_id)
        .select_related("type")
        .order_by("name")
    )


def residence_regions() -> QuerySet[Region]:
    """The regions a person can be said to live in: federal states and districts."""
    return Region.objects.filter(
        active=True, level__in=(Region.Level.STATE, Region.Level.DISTRICT)
    ).order_by("code")


# --- outside professionals invited to one case ----------------------------------------------


def case_invitations(actor, case: Case) -> list[Invitation]:
    """The case's invitations, for those who may change the case (its lead): whom they
    invited, from which organisation, until when, and what became of it."""
    if not decide(actor, Action.CHANGE, case):
        return []
    return list(
        Invitation.objects.filter(case=case)
        .select_related("organisation", "role", "invited_by", "user")
        .order_by("-invited_at", "-id")
    )


def invitation_for_change(actor, case: Case, invitation_id: int) -> Invitation:
    """One invitation of a case for its lead: 403 for another participant (who may read the
    case but not manage who joins it), 404 for an unknown one."""
    if not decide(actor, Action.CHANGE, case):
        raise PermissionDenied
    invitation = next((i for i in case_invitations(actor, case) if i.pk == invitation_id), None)
    if invitation is None:
        raise Http404
    return invitation


def invitable_organisations():
    """Active organisations of the directory an outside professional may come from (not the
    hotline: it takes no seat in cases)."""
    return Organisation.objects.filter(active=True, is_hotline=False).order_by("name")
