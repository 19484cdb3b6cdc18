"""A multi-agency case: an NGO leads, the police liaison takes part, a prison's time is up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from casebridge.cases import services
from casebridge.cases.models import Case, Conference, Entry, Participant
from casebridge.cooperation_models.models import Term


def category(code: str) -> Term:
    return Term.objects.get(kind="information_category", code=code)


def role(code: str) -> Term:
    return Term.objects.get(kind="case_role", code=code)


@dataclass
class World:
    case: Case
    lead: Participant
    police: Participant
    prison: Participant
    counselling: Entry
    security: Entry
    coordination: Entry
    risk: Entry
    conference: Conference


def org(user):
    return user.memberships.get().organisation


def entry(actor, case, code: str, title: str, text: str, kind: str = "note", **extra) -> Entry:
    return services.entry_create(
        actor=actor,
        case=case,
        data=services.EntryData(
            kind=kind, category=category(code), title=title, text=text, **extra
        ),
    )


@pytest.fixture
def world(personas) -> World:
    partner, police, prison = personas.partner, personas.police, personas.prison_expired
    case = services.case_open(
        actor=partner,
        owner=org(partner),
        pseudonym="A. aus Altona",
        identity={"first_name": "Ali", "last_name": "Beispiel", "date_of_birth": "2008-03-01"},
    )
    lead = case.participants.get()
    police_seat = services.participant_add(
        actor=partner,
        case=case,
        organisation=org(police),
        role=role("police_liaison"),
        members=[police],
        reason="SOP Hamburg",
    )
    # The prison officer's membership has expired already; the seat itself ends in the past too.
    prison_seat = Participant.objects.create(
        case=case,
        organisation=org(prison),
        role=role("prison"),
        added_by=partner,
        valid_from=timezone.now() - timedelta(days=60),
        valid_until=timezone.now() - timedelta(days=1),
    )
    prison_seat.members.add(prison)
    prison_seat.read_categories.set([category("case_coordination"), category("justice")])
    counselling = entry(
        partner,
        case,
        "counselling",
        "Gespräch mit A.",
        "Vertrauliche Beratung: Zweifel an der Gruppe.",
    )
    security = entry(police, case, "security", "Lagebild", "Keine polizeilichen Erkenntnisse.")
    coordination = entry(
        partner, case, "case_coordination", "Fallkonferenz geplant", "Termin im Mai."
    )
    risk = entry(
        partner,
        case,
        "risk_assessment",
        "Einschätzung",
        "Begründung der Fachkraft.",
        kind="risk",
        likelihood="likely",
        imminence="medium_term",
    )
    conference = services.conference_create(
        actor=partner,
        case=case,
        held_on=timezone.localdate(),
        title="Fallkonferenz",
        attendees=[lead, police_seat],
    )
    services.conference_item_add(
        actor=partner,
        conference=conference,
        kind="minute",
        category=category("counselling"),
        text="Beratungsinhalt im Protokoll",
    )
    services.conference_item_add(
        actor=partner,
        conference=conference,
        kind="decision",
        category=category("case_coordination"),
        text="Nächste Konferenz in 6 Wochen",
    )
    return World(
        case, lead, police_seat, prison_seat, counselling, security, coordination, risk, conference
    )
