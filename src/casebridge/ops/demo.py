"""Demo data and the data generator: fictitious people in the real structure of the network.

``demo_prepare()`` is what ``casebridge demo`` runs; ``generate()`` makes larger data sets
for benchmarks. Both go through the services, so every record is validated and audited
exactly as if a person had entered it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from casebridge.accounts import services as account_services
from casebridge.accounts.models import Membership, Role, User
from casebridge.accounts.two_factor import secret_base32, two_factor_required
from casebridge.audit.services import audit_record
from casebridge.cases import services as case_services
from casebridge.cases.models import Case
from casebridge.cooperation_models.models import Term
from casebridge.hotline import services as hotline_services
from casebridge.hotline.models import Contact, Referral
from casebridge.network import services as network_services
from casebridge.network.models import (
    COUNSELLING_SECTORS,
    Organisation,
    OrganisationType,
    PostcodeArea,
)
from casebridge.ops.planner import refresh_planner_statistics
from casebridge.ops.volume import build
from casebridge.outcomes import services as outcome_services
from casebridge.outcomes.services import RatingIn
from casebridge.sharing import services as sharing_services


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    organisation_type: str
    state: str | None
    job_title: str

    @property
    def password(self) -> str:
        # Demo only: readable, long enough for the validators, printed by `casebridge demo`.
        return f"demo-{self.username}-2026"


DEMO_USERS = [
    DemoUser(
        "hotline",
        "Miriam",
        "Scholz",
        Role.HOTLINE_COUNSELLOR,
        "central_advice_centre",
        None,
        "Beraterin Hotline",
    ),
    DemoUser(
        "partner",
        "Jonas",
        "Albers",
        Role.PARTNER_COUNSELLOR,
        "ngo_counselling_partner",
        "DE-HH",
        "Berater",
    ),
    DemoUser(
        "partner2",
        "Selin",
        "Kaya",
        Role.PARTNER_COUNSELLOR,
        "ngo_counselling_partner",
        "DE-BE",
        "Beraterin",
    ),
    DemoUser(
        "police",
        "Thomas",
        "Brandt",
        Role.SECURITY_LIAISON,
        "police_liaison_unit",
        "DE-HH",
        "Verbindungsbeamter Prävention",
    ),
    DemoUser(
        "prison", "Katrin", "Vogel", Role.SECURITY_LIAISON, "prison", None, "Präventionsbeauftragte"
    ),
    DemoUser(
        "coordinator",
        "Andreas",
        "Keller",
        Role.COORDINATOR,
        "central_advice_centre",
        None,
        "Netzwerkkoordination",
    ),
    DemoUser(
        "dpo",
        "Claudia",
        "Neumann",
        Role.DATA_PROTECTION_OFFICER,
        "central_advice_centre",
        None,
        "Datenschutzbeauftragte",
    ),
    DemoUser(
        "admin",
        "Frank",
        "Wolf",
        Role.ADMINISTRATOR,
        "central_advice_centre",
        None,
        "IT-Administration",
    ),
]

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Felix",
    "Greta",
    "Hasan",
    "Ida",
    "Jan",
    "Lea",
    "Mehmet",
    "Nora",
    "Oskar",
    "Paula",
    "Rami",
    "Sara",
    "Tim",
    "Yara",
    "Zoe",
]
LAST_NAMES = [
    "Becker",
    "Demir",
    "Fischer",
    "Hoffmann",
    "Jung",
    "Krüger",
    "Lange",
    "Meyer",
    "Neumann",
    "Özdemir",
    "Peters",
    "Richter",
    "Schmitt",
    "Wagner",
    "Yilmaz",
    "Zimmer",
]
CONTACT_FUNCTIONS = {
    "police_station": "Ansprechperson Prävention (P/CVE)",
    "police_liaison_unit": "Verbindungsstelle Fallkoordination",
    "prison": "Präventionsbeauftragte/r der Anstalt",
    "probation_service": "Ansprechperson Übergangsmanagement",
    "youth_welfare_office": "Fachkraft Kinderschutz (insoweit erfahrene Fachkraft)",
    "school": "Ansprechperson Schulsozialarbeit",
    "ngo_counselling_partner": "Fallannahme und Erstkontakt",
    "state_counselling_centre": "Fallannahme und Erstkontakt",
    "central_advice_centre": "Netzwerkkoordination",
}


def demo_totp_key(username: str) -> str:
    """A fixed TOTP key per demo user (hex), so the printed secrets stay valid across runs.

    Demo only: anyone who reads this code knows these keys.
    """
    return hashlib.sha256(f"casebridge-demo-totp:{username}".encode()).hexdigest()[:40]


def demo_two_factor(user: User) -> str | None:
    """Give a demo user who needs a second factor an authenticator with the known key;
    return the secret to type into an app (None for users who need none)."""
    if not two_factor_required(user):
        return None
    key = demo_totp_key(user.username)
    TOTPDevice.objects.get_or_create(
        user=user, name="demo", defaults={"key": key, "confirmed": True}
    )
    return secret_base32(key)


def _organisation_for(spec: DemoUser) -> Organisation:
    organisations = Organisation.objects.filter(type__code=spec.organisation_type, active=True)
    if spec.state:
        in_state = organisations.filter(region__code__startswith=spec.state)
        organisations = in_state if in_state.exists() else organisations
    organisation = organisations.order_by("code").first()
    if organisation is None:
        raise RuntimeError(
            f'the cooperation model has no organisation of type "{spec.organisation_type}"'
        )
    return organisation


@transaction.atomic
def demo_prepare() -> list[tuple[DemoUser, Organisation]]:
    """Create the demo users (once) and name contact points; return who logs in where."""
    created = []
    for spec in DEMO_USERS:
        organisation = _organisation_for(spec)
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = account_services.user_create(
                actor=None,
                username=spec.username,
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=f"{spec.username}@demo.example.org",
                password=spec.password,
                language="de",
                must_change_password=False,  # demo accounts keep their published password
            )
        if not Membership.objects.filter(
            user=user, organisation=organisation, role=spec.role
        ).exists():
            account_services.membership_add(
                actor=None,
                user=user,
                organisation=organisation,
                role=spec.role,
                job_title=spec.job_title,
            )
        created.append((spec, organisation))
        demo_two_factor(user)
    _demo_contact_points(random.Random(2026))  # noqa: S311 - demo data, not security
    _demo_contacts(random.Random(2027))  # noqa: S311 - demo data, not security
    _demo_cases()
    _demo_year()
    return created


# A network year in the volumes DOMAIN.md reports (300 to 500 contacts, about a third referred,
# a few dozen cases), made by the benchmarks' generator: the dashboards show real shapes,
# above the suppression threshold, in the seed's order of caller groups.
DEMO_YEAR = {"contacts": 500, "cases": 90, "days": 365, "seed": 2026}


def _demo_year() -> None:
    if Contact.objects.filter(reference__startswith="ST-").exists():
        return  # made once; a second `casebridge demo` keeps the first year
    made = build(
        contacts=DEMO_YEAR["contacts"],
        cases=DEMO_YEAR["cases"],
        days=DEMO_YEAR["days"],
        seed=DEMO_YEAR["seed"],
        exact_callers=True,
    )
    audit_record(actor=None, action="demo.year", details=made)


# Where a newcomer starts, per demo login (printed by `casebridge demo`).
START_HERE = {
    "hotline": "Intake: take a call, answer the first analysis, refer to a partner",
    "partner": "Referrals and Cases: accept a referral, open the Hamburg case",
    "police": "Cases and Tasks: what the NGO disclosed to you, what the hotline sent",
    "coordinator": "Statistics, Emergency access, Proposed organisations",
    "dpo": "Disclosure register, Audit log, Subject requests",
    "admin": "Users and Manage organisations",
}


def _demo_cases() -> None:
    """One multi-agency case in Hamburg: the NGO leads, the police liaison takes part."""

    if Case.objects.exists():
        return
    partner = User.objects.get(username="partner")
    police = User.objects.get(username="police")
    organisation = partner.memberships.get().organisation
    referral = (
        Referral.objects.filter(partner=organisation, status="accepted", case__isnull=True)
        .order_by("sent_at")
        .first()
    )
    case = case_services.case_open(
        actor=partner,
        owner=organisation,
        pseudonym="J. aus Hamburg-Mitte",
        referral=referral,
        identity={
            "first_name": "Jonas",
            "last_name": "Beispielmann",
            "date_of_birth": "2008-05-17",
        },
    )
    category = {t.code: t for t in Term.objects.of("information_category")}
    case_services.participant_add(
        actor=partner,
        case=case,
        organisation=police.memberships.get().organisation,
        role=Term.objects.of("case_role").get(code="police_liaison"),
        members=[police],
        reason="Vereinbarung Fallkoordination Hamburg",
    )
    case_services.case_update(actor=partner, case=case, phase="counselling")
    today = timezone.localdate()
    for days, kind, code, title, text, extra in [
        (
            30,
            "session",
            "counselling",
            "Erstgespräch mit J.",
            "J. erzählt von neuen Freunden aus einem Online-Kanal; wirkt verunsichert.",
            {},
        ),
        (
            23,
            "session",
            "counselling",
            "Zweites Gespräch",
            "Gespräch über Familie und Schule; J. möchte den Schulabschluss schaffen.",
            {},
        ),
        (
            20,
            "note",
            "case_coordination",
            "Absprache mit der Polizei",
            "Regelmäßige Fallkonferenz alle sechs Wochen vereinbart.",
            {},
        ),
        (15, "note", "security", "Polizeiliche Erkenntnisse", "Keine Einträge zu J. bekannt.", {}),
        (
            10,
            "risk",
            "risk_assessment",
            "Einschätzung nach drittem Gespräch",
            "Kontakte zur Gruppe bestehen, aber J. stellt Aussagen zunehmend infrage.",
            {"likelihood": "unlikely", "imminence": "not_foreseeable"},
        ),
    ]:
        actor = police if code == "security" else partner
        case_services.entry_create(
            actor=actor,
            case=case,
            data=case_services.EntryData(
                kind=kind,
                category=category[code],
                title=title,
                text=text,
                occurred_on=today - timedelta(days=days),
                **extra,
            ),
        )
    case_services.goal_add(
        actor=partner, case=case, horizon="interim", title="Regelmäßige Gespräche halten"
    )
    case_services.goal_add(
        actor=partner, case=case, horizon="long_term", title="Schulabschluss erreichen"
    )
    conference = case_services.conference_create(
        actor=partner,
        case=case,
        held_on=today - timedelta(days=5),
        title="Fallkonferenz Mai",
        attendees=list(case.participants.all()),
    )
    case_services.conference_item_add(
        actor=partner,
        conference=conference,
        kind="decision",
        category=category["case_coordination"],
        text="Nächste Konferenz in sechs Wochen.",
    )

    sharing_services.consent_record(
        actor=partner,
        case=case,
        given_by="person",
        purpose="Abstimmung mit der Verbindungsstelle",
        categories=[category["case_coordination"]],
        recipients=list(case.participants.all()),
    )
    # the first outcome judgement (issue 20): where J. stands at intake, with the reasons
    outcome_services.assessment_record(
        actor=partner,
        case=case,
        occasion="intake",
        ratings=[
            RatingIn("disengagement", 1),
            RatingIn("network_ties", 1),
            RatingIn("questioning_beliefs", 2),
            RatingIn("education_work", 1),
            RatingIn("family", 1),
        ],
        rationale=(
            "J. hält Gewalt für „manchmal nötig“, hat regelmäßig Kontakt zur Gruppe aus dem "
            "Online-Kanal, stellt deren Aussagen im Gespräch aber zunehmend infrage; "
            "Schule unregelmäßig, Verhältnis zur Mutter angespannt."
        ),
    )


DEMO_CALLS = [
    # (postcode, caller category, relation, age band, topics, contact category, summary)
    (
        "20095",
        "parents_relatives",
        "mother",
        "14_17",
        ["changed_behaviour", "withdrawal_from_family"],
        "clarification_needed",
        "Mutter berichtet, der Sohn habe sich stark zurückgezogen.",
    ),
    (
        "10115",
        "parents_relatives",
        "father",
        "18_21",
        ["contact_with_extremist_groups"],
        "case",
        "Vater sorgt sich über neue Kontakte seines Sohnes zu einer Gruppe.",
    ),
    (
        "80331",
        "parents_relatives",
        "mother",
        "14_17",
        ["religious_questions"],
        "one_off_consultation",
        "Tochter ist konvertiert; die Mutter möchte sie verstehen.",
    ),
    (
        "50667",
        "school",
        "teacher",
        "14_17",
        ["extremist_propaganda_online"],
        "clarification_needed",
        "Lehrkraft meldet Propaganda-Videos im Klassenchat.",
    ),
    (
        "01067",
        "professional_environment",
        "social_worker",
        "18_21",
        ["changed_behaviour"],
        "general_information",
        "Fachkraft fragt nach Fortbildungen und Anlaufstellen.",
    ),
    (
        "28195",
        "private_environment",
        "friend",
        "22_27",
        ["travel_plans_conflict_zone"],
        "case",
        "Freundin berichtet von Reiseplänen in ein Konfliktgebiet.",
    ),
    (
        "24103",
        "parents_relatives",
        "grandparent",
        "under_14",
        ["religious_questions"],
        "one_off_consultation",
        "Großmutter fragt, wie sie mit Fragen des Enkels umgehen soll.",
    ),
    (
        "60311",
        "employer",
        "employer_colleague",
        "22_27",
        ["violence_or_threats"],
        "clarification_needed",
        "Arbeitgeber berichtet von Drohungen gegenüber Kollegen.",
    ),
    (
        "20097",
        "affected_person",
        "self",
        "22_27",
        ["other"],
        "case",
        "Ein junger Mann möchte aus der Szene aussteigen.",
    ),
    (
        "10117",
        "authority",
        "authority_staff",
        "18_21",
        ["returnee_from_conflict_zone"],
        "case",
        "Behörde fragt nach Unterstützung für eine zurückgekehrte Familie.",
    ),
]


def _demo_contacts(rng: random.Random) -> None:
    """A few weeks of hotline work: contacts, referrals, a decline, follow-ups."""

    if Contact.objects.exists():
        return
    hotline = User.objects.get(username="hotline")
    hotline_org = hotline.memberships.get().organisation
    partners = {
        username: User.objects.get(username=username).memberships.get()
        for username in ("partner", "partner2")
    }
    terms = {(t.kind, t.code): t for t in Term.objects.all()}
    closing = {
        "one_off_consultation": terms[("closing_reason", "matter_settled")],
    }
    now = timezone.now()
    for number, (postcode, caller, relation, age, topics, category, summary) in enumerate(
        DEMO_CALLS * 3
    ):
        started = now - timedelta(days=20 - number * 0.6, minutes=rng.randint(0, 300))
        partner = partners["partner"] if postcode.startswith("2") else partners["partner2"]
        refer = category in {"clarification_needed", "case"} and postcode[:1] in {"1", "2"}
        consent = refer and number % 4 == 0
        contact = hotline_services.contact_create(
            actor=hotline,
            organisation=hotline_org,
            values={
                "channel": rng.choice(["phone", "phone", "phone", "email", "chat"]),
                "started_at": started,
                "ended_at": started + timedelta(minutes=rng.randint(8, 45)),
                "language": terms[("language", "de")],
                "caller_category": terms[("caller_category", caller)],
                "caller_relation": terms[("caller_relation", relation)],
                "caller_postcode": postcode,
                "anonymous": not consent,
                "caller_phone": f"+49 30 0000{rng.randint(1000, 9999)}" if consent else "",
                "person_age_band": age,
                "person_gender": rng.choice(["female", "male", "unknown"]),
                "summary": summary,
                "advice": "Im Gespräch bleiben, Interesse zeigen, keine Konfrontation.",
                "contact_category": terms[("contact_category", category)],
                "closing_reason": closing.get(category),
                "next_steps": "Rückruf vereinbart." if number % 5 == 0 else "",
            },
            topics=[terms[("concern_topic", t)] for t in topics],
            referral=hotline_services.ReferralRequest(
                partner=partner.organisation,
                mode="consent" if consent else "anonymous",
                consent_note="mündlich am Telefon" if consent else "",
                message="Die anrufende Person wünscht Beratung vor Ort.",
            )
            if refer
            else None,
        )
        for referral in contact.referrals.all():
            if number % 3 == 0:
                hotline_services.referral_accept(actor=partner.user, referral=referral)
            elif number % 7 == 0:
                hotline_services.referral_decline(
                    actor=partner.user, referral=referral, reason="Derzeit keine freien Plätze."
                )
    # Follow-ups: one due today, one overdue (set directly, as if entered two days ago:
    # the service refuses dates in the past), audited as one demo event.
    recent = list(Contact.objects.order_by("-started_at")[:2])
    Contact.objects.filter(pk=recent[0].pk).update(follow_up_on=timezone.localdate())
    Contact.objects.filter(pk=recent[1].pk).update(
        follow_up_on=timezone.localdate() - timedelta(days=2)
    )
    audit_record(
        actor=None,
        action="demo.follow_ups",
        details={"contacts": [c.reference for c in recent]},
    )


def _demo_contact_points(rng: random.Random) -> None:
    for organisation in Organisation.objects.filter(active=True).select_related("type"):
        function = CONTACT_FUNCTIONS.get(organisation.type.code)
        if function is None or organisation.contact_points.exists():
            continue
        member = organisation.memberships.active().select_related("user").first()
        if member is not None:
            network_services.contact_point_create(
                actor=None, organisation=organisation, function=function, person=member.user
            )
        elif rng.random() < 0.85:  # some points stay vacant, as in real networks
            network_services.contact_point_create(
                actor=None,
                organisation=organisation,
                function=function,
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                phone=f"+49 30 5550{rng.randint(1000, 9999)}",
                email=f"praevention@{organisation.code}.example.org",
            )


def generate(
    *,
    organisations: int,
    people: int,
    contacts: int = 0,
    cases: int = 0,
    entries: int = 0,
    seed: int = 1,
) -> dict[str, int]:
    """Add organisations, staff accounts with roles, and (``casebridge.ops.volume``) hotline
    contacts with referrals, cases from them and entries in those cases."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    types = list(OrganisationType.objects.filter(active=True).exclude(code="central_advice_centre"))
    postcodes = list(PostcodeArea.objects.values_list("postcode", flat=True))
    if not types or not postcodes:
        raise RuntimeError("load a cooperation model with postcodes first (casebridge model load)")
    made_organisations = []
    with transaction.atomic():
        for number in range(organisations):
            organisation_type = rng.choice(types)
            made_organisations.append(
                network_services.organisation_create(
                    actor=None,
                    name=f"{organisation_type.label} {number + 1} (generated)",
                    type=organisation_type,
                    governance="ngo"
                    if organisation_type.sector.code == "counselling_ngo"
                    else "state",
                    postcode=rng.choice(postcodes),
                    city="Musterstadt",
                )
            )
    pool = made_organisations or list(Organisation.objects.filter(active=True))
    offset = User.objects.count()
    with transaction.atomic():
        for number in range(people):
            user = User.objects.create_user(
                username=f"generated{offset + number}",
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                password=None,  # generated staff cannot log in
            )
            organisation = rng.choice(pool)
            Membership.objects.create(
                user=user, organisation=organisation, role=_role_for(organisation.type, rng)
            )
        # Bulk synthetic staff skip the per-record services (argon2 per user would take
        # minutes); the batch itself is audited as one event.
        audit_record(
            actor=None,
            action="demo.generate",
            details={"organisations": len(made_organisations), "people": people, "seed": seed},
        )
    made = {"organisations": len(made_organisations), "people": people}
    made.update(_generate_volume(contacts=contacts, cases=cases, entries=entries, seed=seed))
    return made


def _generate_volume(*, contacts: int, cases: int, entries: int, seed: int) -> dict[str, int]:
    """Contacts, referrals, cases and entries in bulk (``casebridge.ops.volume``), audited as
    one event with the counts."""

    if not contacts and not cases and not entries:
        return {"contacts": 0, "referrals": 0, "cases": 0, "entries": 0}
    if not Organisation.objects.filter(is_hotline=True).exists():
        raise RuntimeError("generated contacts need the hotline (casebridge demo)")
    made = {"entries": 0, **build(contacts=contacts, cases=cases, entries=entries, seed=seed)}
    audit_record(actor=None, action="demo.generate_volume", details=made)
    refresh_planner_statistics()
    return made


def _role_for(organisation_type: OrganisationType, rng: random.Random) -> str:
    sector = organisation_type.sector.code
    if sector in {"security", "justice"}:
        return Role.SECURITY_LIAISON
    if sector in COUNSELLING_SECTORS:
        return Role.PARTNER_COUNSELLOR
    return rng.choice([Role.PARTNER_COUNSELLOR, Role.COORDINATOR])
