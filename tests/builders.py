"""Builders the tests share: the personas, the multi-agency case, hotline contacts and the
vocabulary. Plain functions only; the fixtures that call them live in tests/conftest.py."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from casebridge import facts
from casebridge.accounts.models import Membership, Role, User
from casebridge.accounts.security import mark_reauthenticated
from casebridge.accounts.two_factor import two_factor_state
from casebridge.audit import signing
from casebridge.cases import services as case_services
from casebridge.cases.models import Case, Conference, Entry, Participant
from casebridge.cooperation_models.models import Term
from casebridge.hotline import services as hotline_services
from casebridge.network.models import Organisation

PASSWORD = "correct-horse-battery-staple"

# One postcode in each state's capital.
STATE_CAPITALS = {
    "DE-BW": "70173",
    "DE-BY": "80331",
    "DE-BE": "10115",
    "DE-BB": "14467",
    "DE-HB": "28195",
    "DE-HH": "20095",
    "DE-HE": "65183",
    "DE-MV": "19053",
    "DE-NI": "30159",
    "DE-NW": "40213",
    "DE-RP": "55116",
    "DE-SL": "66111",
    "DE-SN": "01067",
    "DE-ST": "39104",
    "DE-SH": "24103",
    "DE-TH": "99084",
}


# -- people ---------------------------------------------------------------------------------


@dataclass
class Personas:
    hotline: User
    partner: User
    partner_other: User
    police: User
    prison_expired: User
    coordinator: User
    dpo: User
    admin: User
    outsider: User

    def client(self, user: User, *, reauthenticated: bool = True) -> Client:
        """A signed-in client as after a complete sign-in: users who need a second factor
        have given it, and the user has just confirmed it is them (exports, disclosures and
        new tokens work). Tests of re-authentication pass ``reauthenticated=False``."""
        client = Client()
        client.force_login(user)
        if any(two_factor_state_fresh(user)):
            verify_session(client, user)
        if reauthenticated:
            session = client.session
            mark_reauthenticated(session)
            session.save()
        return client

    def unverified_client(self, user: User) -> Client:
        """A client after the password step only: the second factor is still to come."""
        client = Client()
        client.force_login(user)
        return client


def two_factor_state_fresh(user: User) -> tuple[bool, bool]:
    """(required, enrolled) as the database says now (a kept fact is derived again after
    any change of devices or memberships: casebridge.facts)."""
    return two_factor_state(user)


def verify_session(client: Client, user: User) -> None:
    """Mark the client's session as verified with the user's (or a new test) TOTP device."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def organisation_of_type(type_code: str, state: str | None = None) -> Organisation:
    organisations = Organisation.objects.filter(type__code=type_code, active=True)
    if state:
        organisations = organisations.filter(region__code__startswith=state)
    return organisations.order_by("code").first()


def make_user(username: str, organisation: Organisation | None, role: str | None, **membership):
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        first_name=username.capitalize(),
        last_name="Persona",
        email=f"{username}@example.org",
        language="en",  # tests read English; the German pages have tests of their own
    )
    if organisation is not None:
        Membership.objects.create(user=user, organisation=organisation, role=role, **membership)
    return user


def build_personas() -> Personas:
    """The people of STYLE.md: one per role, two NGO counsellors in different organisations,
    a prison officer whose access has expired, and a user without any role."""
    centre = organisation_of_type("central_advice_centre")
    now = timezone.now()
    return Personas(
        hotline=make_user("hotline", centre, Role.HOTLINE_COUNSELLOR),
        partner=make_user(
            "partner",
            organisation_of_type("ngo_counselling_partner", "DE-HH"),
            Role.PARTNER_COUNSELLOR,
        ),
        partner_other=make_user(
            "partner_other",
            organisation_of_type("ngo_counselling_partner", "DE-BE"),
            Role.PARTNER_COUNSELLOR,
        ),
        police=make_user(
            "police", organisation_of_type("police_liaison_unit", "DE-HH"), Role.SECURITY_LIAISON
        ),
        prison_expired=make_user(
            "prison",
            organisation_of_type("prison"),
            Role.SECURITY_LIAISON,
            valid_from=now - timedelta(days=200),
            valid_until=now - timedelta(days=10),
        ),
        coordinator=make_user("coordinator", centre, Role.COORDINATOR),
        dpo=make_user("dpo", centre, Role.DATA_PROTECTION_OFFICER),
        admin=make_user("admin", centre, Role.ADMINISTRATOR),
        outsider=make_user("outsider", None, None),
    )


# -- vocabulary -----------------------------------------------------------------------------


_TERMS: tuple[int, dict[tuple[str, str], Term]] = (-1, {})


def term(kind: str, code: str) -> Term:
    """A vocabulary term, read once per generation of facts: fixtures ask for the same few
    thousands of times. Each test starts a generation (tests/conftest.py), and so does a
    term saved or a model loaded; the caller gets its own copy."""
    global _TERMS
    if _TERMS[0] != facts.generation():
        _TERMS = (facts.generation(), {})
    found = _TERMS[1].get((kind, code))
    if found is None:
        found = _TERMS[1][(kind, code)] = Term.objects.get(kind=kind, code=code)
    return copy.copy(found)


def category(code: str) -> Term:
    return term("information_category", code)


def role(code: str) -> Term:
    return term("case_role", code)


def org(user) -> Organisation:
    """The organisation of a user with one membership."""
    return user.memberships.get().organisation


# -- the multi-agency case: an NGO leads, the police liaison takes part, a prison's time is up


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


def entry(actor, case, code: str, title: str, text: str, kind: str = "note", **extra) -> Entry:
    return case_services.entry_create(
        actor=actor,
        case=case,
        data=case_services.EntryData(
            kind=kind, category=category(code), title=title, text=text, **extra
        ),
    )


def build_world(personas: Personas) -> World:
    partner, police, prison = personas.partner, personas.police, personas.prison_expired
    case = case_services.case_open(
        actor=partner,
        owner=org(partner),
        pseudonym="A. aus Altona",
        identity={"first_name": "Ali", "last_name": "Beispiel", "date_of_birth": "2008-03-01"},
    )
    lead = case.participants.get()
    police_seat = case_services.participant_add(
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
    conference = case_services.conference_create(
        actor=partner,
        case=case,
        held_on=timezone.localdate(),
        title="Fallkonferenz",
        attendees=[lead, police_seat],
    )
    case_services.conference_item_add(
        actor=partner,
        conference=conference,
        kind="minute",
        category=category("counselling"),
        text="Beratungsinhalt im Protokoll",
    )
    case_services.conference_item_add(
        actor=partner,
        conference=conference,
        kind="decision",
        category=category("case_coordination"),
        text="Nächste Konferenz in 6 Wochen",
    )
    return World(
        case, lead, police_seat, prison_seat, counselling, security, coordination, risk, conference
    )


# -- hotline contacts ------------------------------------------------------------------------


def make_contact(personas: Personas, referral_to=None, mode="anonymous", **values):
    """Record a contact through the service, as the hotline persona."""
    started = timezone.now() - timedelta(minutes=20)
    fields = {
        "channel": "phone",
        "started_at": started,
        "ended_at": started + timedelta(minutes=15),
        "language": term("language", "de"),
        "caller_category": term("caller_category", "parents_relatives"),
        "contact_category": term("contact_category", "clarification_needed"),
        "caller_postcode": "20095",
        "summary": "Mutter berichtet über Rückzug des Sohnes.",
        **values,
    }
    referral = None
    if referral_to is not None:
        referral = hotline_services.ReferralRequest(
            partner=referral_to,
            mode=mode,
            consent_note="mündlich am Telefon" if mode == "consent" else "",
            message="Bitte Kontakt aufnehmen.",
        )
    return hotline_services.contact_create(
        actor=personas.hotline, organisation=org(personas.hotline), values=fields, referral=referral
    )


# -- the audit log's signing files ----------------------------------------------------------


@dataclass
class Signing:
    key: Path
    public: Path
    checkpoints: Path


def isolate_signing(tmp_path: Path, monkeypatch) -> Signing:
    """Point the signing key and the checkpoint file at the test's own folder (never the
    shared data directory)."""
    key = tmp_path / "keys" / "audit-signing.key"
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    monkeypatch.setenv(signing.KEY_ENV, str(key))
    monkeypatch.setenv(signing.CHECKPOINT_ENV, str(checkpoints))
    return Signing(key, signing.public_key_file(key), checkpoints)


def whole_case_page(client: Client, case_id: int) -> str:
    """Every section of the case page as the client may see it, one after the other: the
    default section, then each section its navigation links to (all must answer 200).
    A test that something is *not* on the case page reads this, not one section."""
    import re

    from django.urls import reverse

    address = reverse("cases:case", args=[case_id])
    first = client.get(address)
    assert first.status_code == 200, first.status_code
    pages = [first.content.decode()]
    for section in re.findall(rf'href="{re.escape(address)}\?section=([a-z_]+)"', pages[0]):
        response = client.get(address, {"section": section})
        assert response.status_code == 200, (section, response.status_code)
        pages.append(response.content.decode())
    return "\n".join(pages)
