"""Every list and detail page takes a fixed number of queries, and that number does not grow
with the data: a page that queries once per row shows here before it shows in production.

The data is made through the services, as users make it, so each page has rows of its own
kind to show (and to loop over). The counts are pinned: a change that adds a query to a
page has to change its number here, on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from casebridge.accounts.models import Role
from casebridge.cases import services as case_services
from casebridge.cases.models import Case, Goal, Transfer
from casebridge.network import services as network_services
from casebridge.network.models import Lesson, Meeting, Region
from casebridge.outcomes import services as outcomes_services
from casebridge.outcomes.services import RatingIn
from casebridge.privacy import services as privacy_services
from casebridge.privacy.models import SubjectRequest
from casebridge.sharing import emergency
from casebridge.sharing import services as sharing_services
from casebridge.sharing.models import ContactDisclosure, Obligation
from casebridge.training import services as training_services
from casebridge.training.models import TrainingRun
from tests.builders import (
    Personas,
    category,
    entry,
    make_contact,
    make_user,
    org,
    role,
    term,
)

pytestmark = pytest.mark.django_db


@dataclass
class Rows:
    """The newest row of each kind a detail page shows."""

    case: Case
    contact: object
    referral: object
    meeting: Meeting
    lesson: Lesson
    run: TrainingRun
    request: SubjectRequest
    user: object
    transfer: Transfer


def grow(personas: Personas, n: int) -> Rows:
    """One more of everything the pages list, made by the people who make it."""
    partner, police, coordinator = personas.partner, personas.police, personas.coordinator
    contact = make_contact(
        personas,
        referral_to=org(partner),
        mode="consent",
        anonymous=False,
        caller_name=f"Erika Muster {n}",
        caller_phone="040 000001",
        # every danger: one disclosure sent to the police (and confirmed), two still to do
        first_analysis={"danger_to_others": "yes", "danger_to_self": "yes", "child_at_risk": "yes"},
    )
    to_police = ContactDisclosure.objects.get(contact=contact, rule="hotline-danger-to-others")
    sharing_services.contact_disclosure_prepare(
        actor=personas.hotline,
        disclosure=to_police,
        recipient=to_police.recipient,
        excerpt=f"Anschlagspläne {n}",
        identity="Max",
        include_caller_contact=True,
        purpose="Gefahrenabwehr",
        legal_basis=term("legal_basis", "justifying_emergency"),
        justification="§ 34 StGB",
        approver=coordinator,
    )
    sharing_services.contact_disclosure_decide(
        actor=coordinator, disclosure=to_police, approve=True
    )
    sharing_services.contact_disclosure_receive(actor=police, disclosure=to_police)
    case = case_services.case_open(actor=partner, owner=org(partner), pseudonym=f"P. {n}")
    seat = case_services.participant_add(
        actor=partner,
        case=case,
        organisation=org(police),
        role=role("police_liaison"),
        members=[police],
        reason="SOP",
    )
    for code in ("counselling", "case_coordination", "risk_assessment"):
        entry(partner, case, code, f"Eintrag {n}", "Text")
    entry(police, case, "security", f"Lagebild {n}", "Keine Erkenntnisse.")
    case_services.goal_add(actor=partner, case=case, horizon=Goal.Horizon.INTERIM, title="Schule")
    for occasion, level in (("intake", 0), ("review", 1)):  # the course: two columns
        outcomes_services.assessment_record(
            actor=partner,
            case=case,
            occasion=occasion,
            ratings=[RatingIn("disengagement", level), RatingIn("housing", level)],
            rationale=f"Begründung {n}",
        )
    case_services.conference_create(
        actor=partner,
        case=case,
        held_on=timezone.localdate(),
        title=f"Fallkonferenz {n}",
        attendees=[case.participants.get(organisation=org(partner)), seat],
    )
    sharing_services.event_record(actor=partner, case=case, code="travel_to_conflict_zone")
    sharing_services.consent_record(
        actor=partner,
        case=case,
        given_by="person",
        purpose="Austausch",
        categories=[category("case_coordination")],
        recipients=[seat],
    )
    risk = case_services.entry_create(
        actor=partner,
        case=case,
        data=case_services.EntryData(
            kind="risk",
            category=category("risk_assessment"),
            title=f"Einschätzung {n}",
            text="Konkrete Pläne geschildert.",
            likelihood="very_likely",
            imminence="imminent",
        ),
    )
    for code in ("counselling", "case_coordination"):  # documents: the lead's and a shared one
        case_services.entry_create(
            actor=partner,
            case=case,
            data=case_services.EntryData(
                kind="document",
                category=category(code),
                title=f"Bericht {n}",
                document=SimpleUploadedFile(f"b{n}.txt", b"inhalt"),
            ),
        )
    sharing_services.disclosure_request(  # pending: waits for a second person
        actor=partner,
        case=case,
        to_participant=seat,
        entries=[risk],
        excerpt="Plant nach eigener Aussage eine Tat.",
        excerpt_category=category("risk_assessment"),
        purpose="Gefahrenabwehr",
        legal_basis=term("legal_basis", "duty_to_report"),
        justification="§ 138 StGB",
        obligation=Obligation.objects.get(case=case, rule="duty-138"),
    )
    lead = case.participants.get(organisation=org(partner))
    for asker, asked in ((police, lead), (partner, seat)):  # requests both ways, still open
        sharing_services.information_request_create(
            actor=asker,
            case=case,
            to_participant=asked,
            categories=[category("case_coordination")],
            question=f"Stand {n}?",
            purpose="Fallkonferenz",
            legal_basis=term("legal_basis", "danger_prevention_bdsg"),
            due_on=timezone.localdate() + timedelta(days=5),
        )
    case_services.safety_warning_set(
        actor=police,
        case=case,
        kind="do_not_meet_alone",
        note="",
        reason=f"Drohung {n}",
        review_on=timezone.localdate() + timedelta(days=30),
    )
    emergency.emergency_access_start(
        actor=coordinator, case=case, reason="Gefahr im Verzug, Leitung nicht erreichbar", hours=1
    )
    start = timezone.now() + timedelta(days=n + 1)
    meeting = network_services.meeting_create(
        actor=coordinator,
        title=f"AG Schulen {n}",
        kind="working_group",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        invitees=[partner, police],
    )
    network_services.decision_add(actor=coordinator, meeting=meeting, text="Weiter so.")
    lesson = network_services.lesson_create(
        actor=partner,
        title=f"Übergang {n}",
        outcome=Lesson.Outcome.WENT_WELL,
        what_happened="Übergabe nach der Haft.",
        what_we_learned="Früh planen.",
        what_we_change="Termin drei Monate vorher.",
        tags=["haft"],
    )
    run = training_services.run_create(actor=partner, scenario_code="worried-mother")
    request = privacy_services.subject_request_create(
        actor=personas.dpo, kind="access", article="art15"
    )
    user = make_user(f"extra{n}", org(partner), Role.PARTNER_COUNSELLOR)
    # the case is offered to partner_other's organisation in Berlin (it waits there)
    transfer = case_services.transfer_propose(
        actor=partner,
        case=case,
        to_organisation=org(personas.partner_other),
        region=Region.objects.get(code="DE-BE"),
        reason=f"Umzug nach Berlin {n}",
        consent_note="schriftlich",
    )
    return Rows(
        case, contact, contact.referrals.get(), meeting, lesson, run, request, user, transfer
    )


# page, the persona who reads it, how to build its address from the newest rows, queries
# (every section of a case: two for the reader's visit, "new since your last visit")
PAGES = [
    ("home", "partner", lambda r: reverse("home"), 24),
    # profile and user: one more since issue 21, whether the account signs in through its
    # organisation's identity provider (single sign-on)
    ("profile", "partner", lambda r: reverse("accounts:profile"), 7),
    ("users", "admin", lambda r: reverse("accounts:admin_users"), 7),
    ("user", "admin", lambda r: reverse("accounts:admin_user", args=[r.user.pk]), 10),
    ("cases", "partner", lambda r: reverse("cases:list"), 8),
    ("cases as police", "police", lambda r: reverse("cases:list"), 7),
    ("coordination", "coordinator", lambda r: reverse("cases:coordination"), 5),
    ("case", "partner", lambda r: reverse("cases:case", args=[r.case.pk]), 24),
    ("case as police", "police", lambda r: reverse("cases:case", args=[r.case.pk]), 24),
    *(
        (
            f"case{reader}: {section}",
            persona,
            lambda r, section=section: (
                reverse("cases:case", args=[r.case.pk]) + f"?section={section}"
            ),
            expected,
        )
        for reader, persona, sections in (
            (
                "",
                "partner",
                {
                    "people": 35,
                    "documents": 20,
                    "overview": 25,
                    "procedure": 35,
                    "goals": 20,  # 19 + the goal templates offered (issue 20)
                    "outcomes": 24,
                    "conferences": 28,
                    "closing": 20,
                },
            ),
            (
                " as police",
                "police",
                {
                    "people": 24,
                    "documents": 20,
                    "overview": 25,
                    "procedure": 29,
                    "goals": 20,
                    "outcomes": 23,
                    "conferences": 28,
                },
            ),
        )
        for section, expected in sections.items()
    ),
    (
        "access history",
        "partner",
        lambda r: reverse("cases:access_history", args=[r.case.pk]),
        14,
    ),
    ("intake", "hotline", lambda r: reverse("hotline:intake"), 21),
    ("incoming transfers", "partner_other", lambda r: reverse("cases:transfers"), 9),
    ("transfer", "partner_other", lambda r: reverse("cases:transfer", args=[r.transfer.pk]), 10),
    (
        "transfer as sender",
        "partner",
        lambda r: reverse("cases:transfer", args=[r.transfer.pk]),
        12,
    ),
    ("contacts", "hotline", lambda r: reverse("hotline:contacts"), 6),
    ("contact", "hotline", lambda r: reverse("hotline:contact", args=[r.contact.pk]), 19),
    ("referral inbox", "partner", lambda r: reverse("hotline:inbox"), 10),
    ("referral", "partner", lambda r: reverse("hotline:referral", args=[r.referral.pk]), 13),
    ("organisations", "partner", lambda r: reverse("network:organisations"), 11),
    (
        "organisation",
        "partner",
        lambda r: reverse("network:organisation", args=[r.user.memberships.get().organisation_id]),
        11,
    ),
    ("contact points", "coordinator", lambda r: reverse("network:contact_points"), 7),
    ("contact point gaps", "coordinator", lambda r: reverse("network:contact_point_gaps"), 8),
    ("meetings", "partner", lambda r: reverse("network:meetings"), 5),
    ("meeting", "partner", lambda r: reverse("network:meeting", args=[r.meeting.pk]), 8),
    ("lessons", "partner", lambda r: reverse("network:lessons"), 8),
    ("lesson", "partner", lambda r: reverse("network:lesson", args=[r.lesson.pk]), 6),
    ("organisations to manage", "admin", lambda r: reverse("network:admin_organisations"), 6),
    ("subject requests", "dpo", lambda r: reverse("privacy:requests"), 5),
    ("subject request", "dpo", lambda r: reverse("privacy:request", args=[r.request.pk]), 5),
    ("audit log", "dpo", lambda r: reverse("audit:log"), 7),
    ("tasks", "partner", lambda r: reverse("sharing:tasks"), 20),
    ("tasks at the hotline", "hotline", lambda r: reverse("sharing:tasks"), 7),
    ("tasks as police", "police", lambda r: reverse("sharing:tasks"), 19),
    ("from the hotline", "police", lambda r: reverse("sharing:hotline_reports"), 5),
    ("register", "dpo", lambda r: reverse("sharing:register"), 16),
    ("tasks of the receiver", "partner_other", lambda r: reverse("sharing:tasks"), 12),
    ("protocols", "partner", lambda r: reverse("procedures:list"), 8),
    ("emergency access", "coordinator", lambda r: reverse("sharing:emergency"), 5),
    ("emergency reviews", "dpo", lambda r: reverse("sharing:emergency_reviews"), 6),
    # + partnership health (issue 20): requests (counts, two medians), obligations by pair
    # (organisation types, the rules' senders, the obligations of named senders and the
    # participants they name, the rest), handovers (organisations, counts)
    # + the outcome tables (issue 20): does the model have dimensions, the built and stale
    # months, the year's outcome figures, the dimensions, their caveats' headline, the lead
    # roles' sectors and each organisation's sector
    ("statistics", "coordinator", lambda r: reverse("stats:dashboard"), 55),
    # its indicators as above (protected with the whole dashboard), and the network's own
    # figures: contact points (organisations, points, members), meetings (invitations,
    # members, organisations, meetings held), lessons (lessons, procedure versions); the
    # outcome tables' reads (+8) since every table of the year is protected together
    ("partnership health", "coordinator", lambda r: reverse("stats:partnership"), 59),
    # + the scenarios against the version in force: the model's terms and vocabulary (4),
    # the latest reviews and the procedure (one each)
    ("training runs", "partner", lambda r: reverse("training:runs"), 11),
    ("training run", "partner", lambda r: reverse("training:run", args=[r.run.pk]), 10),
]

# PostgreSQL only: the statistics set jit and work_mem for their transaction (two SET LOCAL)
ON_POSTGRESQL = {"statistics": 2, "partnership health": 2}


def _queries(client, url, django_assert_max_num_queries) -> int:
    client.get(url)  # the first reading fills the per-process caches (routing, geography)
    with django_assert_max_num_queries(10_000) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


@pytest.mark.parametrize(
    ("page", "persona", "address", "expected"), PAGES, ids=[p[0] for p in PAGES]
)
def test_page_takes_its_pinned_number_of_queries(
    personas, page, persona, address, expected, django_assert_num_queries
):
    rows = grow(personas, 1)
    client = personas.client(getattr(personas, persona))
    url = address(rows)
    client.get(url)
    if connection.vendor == "postgresql":
        expected += ON_POSTGRESQL.get(page, 0)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200


@pytest.mark.slow
def test_no_page_queries_once_per_row(personas, django_assert_max_num_queries):
    """Three times the rows of every kind, the same number of queries on every page."""
    rows = grow(personas, 1)
    clients = {name: personas.client(getattr(personas, name)) for _, name, _, _ in PAGES}
    before = {
        page: _queries(clients[persona], address(rows), django_assert_max_num_queries)
        for page, persona, address, _ in PAGES
    }
    for n in (2, 3):
        rows = grow(personas, n)
    after = {
        page: _queries(clients[persona], address(rows), django_assert_max_num_queries)
        for page, persona, address, _ in PAGES
    }
    assert after == before


@pytest.mark.slow
def test_case_sections_do_not_query_once_per_request_or_warning(
    personas, django_assert_max_num_queries
):
    """Within one case: three times the requests for information and the staff-safety
    warnings, the same queries on every section (the header shows the warnings on each)."""
    rows = grow(personas, 1)
    client = personas.client(personas.partner)
    base = reverse("cases:case", args=[rows.case.pk])
    addresses = [base] + [f"{base}?section={s}" for s in ("people", "procedure", "closing")]
    before = [_queries(client, url, django_assert_max_num_queries) for url in addresses]
    lead = rows.case.participants.get(organisation=org(personas.partner))
    police = rows.case.participants.get(organisation=org(personas.police))
    for n in range(2):
        sharing_services.information_request_create(
            actor=personas.police,
            case=rows.case,
            to_participant=lead,
            categories=[category("case_coordination"), category("security")],
            question=f"Noch {n}?",
            purpose="Fallkonferenz",
            legal_basis=term("legal_basis", "danger_prevention_bdsg"),
            due_on=timezone.localdate() + timedelta(days=5),
        )
        case_services.safety_warning_set(
            actor=personas.partner,
            case=rows.case,
            kind="office_only",
            note=f"Nur im Büro {n}",
            reason="Drohung",
            review_on=timezone.localdate() + timedelta(days=30),
        )
    assert police.pk  # the police liaison's seat asked the requests above
    after = [_queries(client, url, django_assert_max_num_queries) for url in addresses]
    assert after == before
