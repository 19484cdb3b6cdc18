"""Replay before signing (issue 19, part 3): read a period's history for ``sop.replay``.

``replay_period`` reads, in a constant number of bulk queries, what the pure replay needs
and nothing more: the events of the period in the cases whose lead organisation's type is
a party of either version, who took part in those cases (organisation type, sector, role,
lead — never a name), the obligations of those events, the approved disclosures of the
period (recipient, categories, legal basis, the obligation fulfilled), and for a hotline
procedure the hotline events of the period. Codes, ids and times only: no entry text, no
excerpt, no justification, no name. It writes nothing and audits nothing; the service that
calls it for the coordinator audits the run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Subquery
from django.utils import timezone

from casebridge.cases.models import Participant
from casebridge.dates import local_midnight
from casebridge.labels import pick_label
from casebridge.sharing.models import CaseEvent, ContactEvent, Disclosure, Obligation, Protocol
from casebridge.sop.engine import Party
from casebridge.sop.events import HOTLINE_EVENTS
from casebridge.sop.replay import (
    PastDisclosure,
    PastObligation,
    ReplayEvent,
    ReplayReport,
    replay,
)

# what a participant is to the engine: its id, its organisation's type (code, labels,
# sector), its role in the case and whether that role leads — read for a participant
# (prefix "") or for a disclosure's recipient (prefix "to_participant__")
PARTY_FIELDS = (
    "id",
    "organisation__type__code",
    "organisation__type__labels",
    "organisation__type__sector__code",
    "role__code",
    "role__attributes",
)


def _party(values: tuple) -> Party:
    """A Party from PARTY_FIELDS' values; the organisation is named by its type's label
    (the replay shows no organisation's or person's name)."""
    pk, type_code, type_labels, sector, role, attributes = values
    return Party(
        participant_id=pk,
        organisation=pick_label(type_labels or {}, fallback=type_code),
        organisation_type=type_code,
        sector=sector,
        role=role,
        lead=bool((attributes or {}).get("lead")),
    )


# an approved disclosure: when, which basis, the obligation it fulfilled, and to whom
DISCLOSURE_FIELDS = (
    "id",
    "case_id",
    "decided_at",
    "excerpt_category__code",
    "legal_basis__code",
    "obligation__rule",
    "obligation__event_id",
    *(f"to_participant__{name}" for name in PARTY_FIELDS),
)
EVENT_FIELDS = ("id", "case_id", "code", "likelihood", "imminence", "event_date", "recorded_at")


def _event(values: tuple, seats: list | None = None) -> ReplayEvent:
    """A ReplayEvent from EVENT_FIELDS' values, with those taking part when it was recorded
    (an event replayed only to judge a disclosure needs nobody)."""
    pk, case_id, code, likelihood, imminence, event_date, recorded_at = values
    return ReplayEvent(
        id=pk,
        case=case_id,
        code=code,
        likelihood=likelihood,
        imminence=imminence,
        event_date=event_date,
        recorded_at=recorded_at,
        parties=_parties_at(seats or [], recorded_at),
    )


def _parties_at(seats: list[tuple[datetime, datetime | None, Party]], at: datetime):
    """Those taking part at ``at``: begun, and not yet ended (``dates.in_force``)."""
    return tuple(
        party for since, until, party in seats if since <= at and (until is None or until > at)
    )


def replay_period(
    *, baseline: Protocol, draft: Protocol, start: date, end: date, examples: int = 5
) -> ReplayReport:
    """Replay the local days [start, end] through ``draft`` and ``baseline`` (usually the
    active version): see ``sop.replay.replay``. A constant number of queries, however long
    the period; changes nothing."""
    baseline_rules, draft_rules = baseline.parsed_rules(), draft.parsed_rules()
    parties = sorted(set(baseline.parties) | set(draft.parties))
    since, until = local_midnight(start), local_midnight(end + timedelta(days=1))
    period_end = min(until, timezone.now())
    in_period = {"recorded_at__gte": since, "recorded_at__lt": until}

    case_events = CaseEvent.objects.filter(case__owner__type__code__in=parties, **in_period)
    rows = list(case_events.order_by().values_list(*EVENT_FIELDS))
    seats: dict[int, list] = {}
    for case_id, valid_from, valid_until, *party in (
        Participant.objects.filter(case_id__in=Subquery(case_events.values("case_id")))
        .order_by("valid_from", "id")
        .values_list("case_id", "valid_from", "valid_until", *PARTY_FIELDS)
    ):
        seats.setdefault(case_id, []).append((valid_from, valid_until, _party(tuple(party))))
    events = [_event(values, seats.get(values[1], [])) for values in rows]

    obligations = [
        PastObligation(
            event=event_id,
            rule=rule,
            recipient=recipient,
            due_at=due_at,
            fulfilled_at=fulfilled_at,
            status=status,
        )
        for event_id, rule, recipient, due_at, fulfilled_at, status in (
            Obligation.objects.filter(event_id__in=Subquery(case_events.values("id")))
            .order_by()
            .values_list("event_id", "rule", "recipient_id", "due_at", "fulfilled_at", "status")
        )
    ]

    approved = Disclosure.objects.filter(
        case__owner__type__code__in=parties,
        status=Disclosure.Status.APPROVED,
        decided_at__gte=since,
        decided_at__lt=until,
    )
    categories: dict[int, set[str]] = {}
    for disclosure_id, code in (
        Disclosure.entries.through.objects.filter(disclosure_id__in=Subquery(approved.values("id")))
        .order_by()
        .values_list("disclosure_id", "entry__category__code")
    ):
        categories.setdefault(disclosure_id, set()).add(code)
    disclosures = []
    for values in approved.order_by().values_list(*DISCLOSURE_FIELDS):
        pk, case_id, at, excerpt_category, basis, rule, event_id, *recipient = values
        shared = categories.get(pk, set()) | ({excerpt_category} if excerpt_category else set())
        disclosures.append(
            PastDisclosure(
                id=pk,
                case=case_id,
                at=at,
                recipient=_party(tuple(recipient)),
                categories=frozenset(shared),
                legal_basis=basis,
                rule=rule or "",
                event=event_id,
            )
        )
    # events before the period whose obligations a disclosure of the period fulfilled:
    # evaluated to judge that disclosure's basis, not replayed
    fulfilled = (
        CaseEvent.objects.filter(pk__in=Subquery(approved.values("obligation__event_id")))
        .exclude(**in_period)
        .order_by()
        .values_list(*EVENT_FIELDS)
    )
    earlier = [_event(values) for values in fulfilled]

    if any(rule.event in HOTLINE_EVENTS for rule in [*baseline_rules, *draft_rules]):
        events += [
            ReplayEvent(id=pk, case=contact_id, code=code, recorded_at=recorded_at)
            for pk, contact_id, code, recorded_at in ContactEvent.objects.filter(
                contact__organisation__type__code__in=parties, **in_period
            )
            .order_by()
            .values_list("id", "contact_id", "code", "recorded_at")
        ]

    return replay(
        events,
        obligations,
        disclosures,
        baseline_rules=baseline_rules,
        draft_rules=draft_rules,
        period_end=period_end,
        earlier_events=earlier,
        examples=examples,
    )
