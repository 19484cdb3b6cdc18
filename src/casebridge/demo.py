"""Demo data and the data generator: fictitious people in the real structure of the network.

``demo_prepare()`` is what ``casebridge demo`` runs; ``generate()`` makes larger data sets
for benchmarks. Both go through the services, so every record is validated and audited
exactly as if a person had entered it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import transaction

from casebridge.accounts import services as account_services
from casebridge.accounts.models import Membership, Role, User
from casebridge.audit.services import audit_record
from casebridge.network import services as network_services
from casebridge.network.models import Organisation, OrganisationType, PostcodeArea


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
    _demo_contact_points(random.Random(2026))  # noqa: S311 - demo data, not security
    return created


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


def generate(*, organisations: int, people: int, seed: int = 1) -> dict[str, int]:
    """Add ``organisations`` organisations and ``people`` staff accounts with roles."""
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
    return {"organisations": len(made_organisations), "people": people}


def _role_for(organisation_type: OrganisationType, rng: random.Random) -> str:
    sector = organisation_type.sector.code
    if sector in {"security", "justice"}:
        return Role.SECURITY_LIAISON
    if sector in {"counselling_ngo", "state_counselling"}:
        return Role.PARTNER_COUNSELLOR
    return rng.choice([Role.PARTNER_COUNSELLOR, Role.COORDINATOR])
