"""Partnership health (issue 20, part 4): the figures on a small hand-built year, the page,
the API and the annual report, who may see them, and what bad input gets.

The year is last year, so that every date of the data lies in the past whatever day the
tests run; the case of the multi-agency world is moved into it.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext
from pypdf import PdfReader

from casebridge.accounts.models import Membership, Role
from casebridge.accounts.services import api_token_create
from casebridge.audit.models import AuditEvent
from casebridge.cases.models import Case, Handover, Participant
from casebridge.network.models import ContactPoint, Invitation, Lesson, Meeting
from casebridge.sharing.models import (
    CaseEvent,
    Disclosure,
    InformationRequest,
    Obligation,
    Protocol,
)
from casebridge.stats import indicators, selectors
from casebridge.stats.partnership import contact_point_vacancies, network_figures
from casebridge.stats.publication import publish
from casebridge.stats.registry import QueryRecorder
from tests.builders import make_user, org, organisation_of_type, term

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year - 1
PAGE = "/stats/partnership/"
API = "/api/v1/stats/partnership"


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(YEAR, month, day, hour, tzinfo=UTC)


def german(text: str) -> str:
    """The German of an interface text as the catalogue has it (English until translated)."""
    with translation.override("de"):
        return gettext(text)


# -- the hand-built year ------------------------------------------------------------------


def _request(world, asking, asked, requested, due, status, decided=None):
    return InformationRequest.objects.create(
        case=world.case,
        from_participant=asking,
        to_participant=asked,
        question="Gibt es Erkenntnisse?",
        purpose="Gefährdungseinschätzung",
        legal_basis=term("legal_basis", "consent_gdpr"),
        due_at=due,
        requested_by=world.case.owner.memberships.first().user,
        requested_at=requested,
        status=status,
        decided_at=decided,
    )


def _obligation(world, event, *, rule, protocol, recipient, due, status, fulfilled=None):
    return Obligation.objects.create(
        case=world.case,
        event=event,
        protocol=protocol,
        rule=rule,
        label=rule,
        recipient=recipient,
        recipient_label="",
        legal_basis="consent",
        due_at=due,
        status=status,
        fulfilled_at=fulfilled,
    )


@pytest.fixture
def year(personas, world):
    """Last year of the Hamburg case: flows both ways, obligations, handovers, contact
    points, two meetings and three lessons — every figure below is counted by hand."""
    start = at(1, 1, 0)
    # everybody was a member since the year before (meetings count members at the time)
    Membership.objects.filter(valid_until__isnull=True).update(valid_from=start - timedelta(400))
    Case.objects.filter(pk=world.case.pk).update(opened_at=at(2, 1))
    Participant.objects.filter(pk__in=[world.lead.pk, world.police.pk]).update(valid_from=at(2, 1))
    world.case.refresh_from_db()
    lead, police = world.lead, world.police
    partner = personas.partner
    # disclosures: two from the police to the NGO, one back, one not approved
    for day, (source, target, status) in enumerate(
        [
            (police, lead, "approved"),
            (police, lead, "approved"),
            (lead, police, "approved"),
            (lead, police, "pending"),
        ],
        start=1,
    ):
        Disclosure.objects.create(
            case=world.case,
            from_participant=source,
            to_participant=target,
            purpose="Lagebild",
            legal_basis=term("legal_basis", "consent_gdpr"),
            requested_by=partner,
            status=status,
            decided_at=at(3, day) if status == "approved" else None,
        )
    # requests: the police asks twice (answered on time in 2 days, late in 10), the NGO
    # asks three times (refused after exactly 4 days, open and overdue, withdrawn)
    _request(world, police, lead, at(5, 1), at(5, 15), "answered", at(5, 3))
    _request(world, police, lead, at(5, 1), at(5, 8), "answered", at(5, 11))
    _request(world, lead, police, at(6, 1), at(6, 15), "refused", at(6, 5))
    _request(world, lead, police, at(6, 2), at(7, 1), "open")
    _request(world, lead, police, at(6, 3), at(7, 1), "withdrawn", at(6, 4))
    _request(world, lead, police, at(1, 1) - timedelta(days=3), at(1, 20), "open")  # year before
    # obligations: the lead's rule to the police (on time, late), the prison's release rule
    # to the lead (overdue), one whose recipient takes no part (cancelled)
    event = CaseEvent.objects.create(case=world.case, code="case_opened", recorded_by=partner)
    protocol = next(p for p in Protocol.objects.all() if "release-lead" in _rules(p))
    for fulfilled in (at(7, 30), at(8, 5)):
        _obligation(
            world,
            event,
            rule="first-briefing",
            protocol=protocol,
            recipient=police,
            due=at(8, 1),
            status="fulfilled",
            fulfilled=fulfilled,
        )
    _obligation(
        world,
        event,
        rule="release-lead",
        protocol=protocol,
        recipient=lead,
        due=at(9, 1),
        status="open",
    )
    _obligation(
        world,
        event,
        rule="first-briefing",
        protocol=protocol,
        recipient=None,
        due=at(9, 2),
        status="cancelled",
    )
    # handovers: three at the police, one at the NGO, one the year before
    for when, participant in [
        (at(10, 1), police),
        (at(10, 2), police),
        (at(10, 3), police),
        (at(10, 5), lead),
        (start - timedelta(days=2), police),
    ]:
        Handover.objects.create(
            participant=participant,
            to_worker=personas.police,
            note="Übergabe",
            actor=personas.police,
            at=when,
        )
    # contact points: the police's "P/CVE contact" had nobody 1 to 10 March, then a named
    # person without an account; the NGO's left the organisation on 1 July
    police_org, ngo = org(personas.police), org(partner)
    officer = make_user("officer", police_org, Role.SECURITY_LIAISON, valid_from=start)
    ContactPoint.objects.create(
        organisation=police_org,
        function="P/CVE contact",
        person=officer,
        since=date(YEAR, 1, 1),
        until=date(YEAR, 3, 1),
    )
    ContactPoint.objects.create(
        organisation=police_org,
        function="P/CVE  Contact",  # the same function, written differently
        name="Erika Mustermann",
        since=date(YEAR, 3, 11),
    )
    leaver = make_user(
        "leaver", ngo, Role.PARTNER_COUNSELLOR, valid_from=start, valid_until=at(7, 1, 0)
    )
    ContactPoint.objects.create(
        organisation=ngo, function="Fallkoordination", person=leaver, since=date(YEAR, 1, 1)
    )
    # meetings: two held (the police at both, the NGO absent at one, the coordinator's
    # attendance never entered), one cancelled, one the year before
    for when, status, invited in [
        (at(3, 10), "held", {"police": True, "partner": False, "coordinator": None}),
        (at(11, 10), "held", {"police": True}),
        (at(12, 1), "cancelled", {"partner": True}),
        (start - timedelta(days=20), "held", {"partner": True}),
    ]:
        meeting = Meeting.objects.create(
            title="Netzwerktreffen",
            kind="formal",
            starts_at=when,
            ends_at=when + timedelta(hours=2),
            status=status,
            organiser=personas.coordinator,
        )
        for name, attended in invited.items():
            Invitation.objects.create(
                meeting=meeting, user=getattr(personas, name), attended=attended
            )
    # lessons: one failed and drafted from, one mixed and put into force, one went well
    lessons = {}
    for outcome, when in [
        ("failed", at(4, 1)),
        ("mixed", at(4, 2)),
        ("went_well", at(4, 3)),
        ("failed", start - timedelta(days=5)),
    ]:
        lessons[(outcome, when)] = Lesson.objects.create(
            title="Lernerfahrung",
            outcome=outcome,
            what_happened="-",
            what_we_learned="-",
            what_we_change="-",
            author=personas.coordinator,
            created_at=when,
        )
    Protocol.objects.create(
        code="test-sop",
        version="draft-1",
        effective_from=date(YEAR, 6, 1),
        lesson=lessons[("failed", at(4, 1))],
    )
    Protocol.objects.create(
        code="test-sop",
        version="2",
        status="active",
        effective_from=date(YEAR, 6, 1),
        activated_at=at(6, 1),
        lesson=lessons[("mixed", at(4, 2))],
    )
    return world


def _rules(protocol) -> set[str]:
    return {rule.get("code") for rule in protocol.rules}


def _counts(indicator: str) -> dict[str, list[int]]:
    """The indicator's counts over every state, by row label, for the year."""
    period = selectors.period_of(YEAR)
    counts = indicators.BY_CODE[indicator].compute(indicators.Filters(period.start, period.end))
    cells = counts.cells(list(counts.slots))
    return {row: line for row, line in zip(counts.rows, cells, strict=True) if any(line)}


NGO = "Counselling (NGO-led)"
SECURITY = "Security authorities"


# -- the figures, before disclosure control -----------------------------------------------


def test_requests_are_counted_each_way_with_what_became_of_them(year):
    assert _counts("requests_by_direction") == {
        f"{SECURITY} → {NGO}": [1, 1, 0, 0, 0, 0],
        f"{NGO} → {SECURITY}": [0, 0, 1, 1, 1, 0],
    }


def test_the_days_to_an_answer_and_to_a_refusal(year):
    period = selectors.period_of(YEAR)
    counts = indicators.requests_by_direction(indicators.Filters(period.start, period.end))
    medians = {label: (value, n, behind) for label, value, n, behind in counts.medians(None)}
    assert medians["request → answer"][:2] == (6.0, 2)  # 2 and 10 days
    assert medians["request → refusal"][:2] == (4.0, 1)
    assert medians[f"request to {NGO} → answer"][:2] == (6.0, 2)
    assert medians[f"request to {SECURITY} → answer"][:2] == (None, 0)
    # each names the values of its table that count it: answered columns, refused column
    assert medians["request → answer"][2] == (("col", 0), ("col", 1))
    assert medians["request → refusal"][2] == (("col", 2),)


def test_disclosures_go_both_ways(year):
    period = selectors.period_of(YEAR)
    counts = indicators.disclosures_by_direction(indicators.Filters(period.start, period.end))
    cells = counts.cells(list(counts.slots))
    security, ngo = counts.rows.index(SECURITY), counts.rows.index(NGO)
    assert cells[security][ngo] == 2 and cells[ngo][security] == 1
    assert sum(map(sum, cells)) == 3  # the pending one is not a flow yet


def test_obligations_are_counted_per_pair_of_who_must_inform_and_who_is_informed(year):
    police_type = "Police liaison unit (state criminal police office)"
    assert _counts("obligations_by_pair") == {
        # the lead's rule: the case's lead organisation informs
        f"NGO counselling partner → {police_type}": [1, 1, 0, 0, 0],
        # the release rule names the prison as its sender
        "Prison → NGO counselling partner": [0, 0, 1, 0, 0],
        "sender or recipient not taking part in the case": [0, 0, 0, 0, 1],
    }
    by_outcome = _counts("obligations_compliance")
    assert [sum(line[0] for line in by_outcome.values())] == [4]


def test_handovers_are_counted_for_the_organisation_whose_worker_changed(year, personas):
    assert _counts("handovers_by_organisation") == {
        org(personas.police).name: [3],
        org(personas.partner).name: [1],
    }


def test_contact_points_count_the_days_a_function_had_nobody(year):
    rows = {row.code: row for row in contact_point_vacancies(date(YEAR, 1, 1), date(YEAR, 12, 31))}
    police = rows["police_liaison_unit"]
    assert (police.functions, police.vacant, police.days, police.longest, police.at_end) == (
        1,
        1,
        10,  # 1 to 10 March
        10,
        0,
    )
    assert police.without_any == police.organisations - 1
    ngo = rows["ngo_counselling_partner"]
    # the person left on 1 July: nobody from then to 31 December
    assert (ngo.functions, ngo.vacant, ngo.days, ngo.longest, ngo.at_end) == (1, 1, 184, 184, 1)
    assert rows["prison"].functions == 0


def test_meetings_count_attendance_per_organisation_over_the_year(year, personas):
    figures = network_figures(date(YEAR, 1, 1), date(YEAR, 12, 31))
    assert figures.meetings_held == {"formal": 2, "working_group": 0, "informal": 0}
    rows = {row.organisation: row for row in figures.attendance}
    police = rows[org(personas.police).name]
    assert (police.invited, police.attended, police.unrecorded, police.share) == (2, 2, 0, 100)
    assert police.quarters == [(1, 1), (0, 0), (0, 0), (1, 1)]
    ngo = rows[org(personas.partner).name]
    assert (ngo.invited, ngo.attended, ngo.share) == (1, 0, 0)
    centre = rows[org(personas.coordinator).name]
    assert (centre.invited, centre.unrecorded, centre.share) == (1, 1, None)
    assert len(rows) == 3


def test_lessons_count_what_was_acted_on(year):
    figures = network_figures(date(YEAR, 1, 1), date(YEAR, 12, 31))
    assert [(r.code, r.recorded, r.acted_on, r.in_force) for r in figures.lessons] == [
        ("failed", 1, 1, 0),
        ("mixed", 1, 1, 1),
        ("went_well", 1, 0, 0),
    ]


def test_the_partnership_figures_read_only_registered_columns(year):
    """The registry's check on the hand-built year, where a rule names its sender (the
    volume of tests/stats/test_registry.py has none, so the participants it names are read
    only here)."""
    period = selectors.period_of(YEAR)
    recorder = QueryRecorder()
    with connection.execute_wrapper(recorder):
        for code in ("requests_by_direction", "obligations_by_pair", "handovers_by_organisation"):
            counts = indicators.BY_CODE[code].compute(indicators.Filters(period.start, period.end))
            counts.medians(None)
    assert any('"cases_participant"' in sql for sql in recorder.statements)
    assert recorder.unregistered() == {}


# -- through HTTP: what leaves the system ---------------------------------------------------


def _indicator(body: dict, code: str) -> dict:
    return next(item for item in body["indicators"] if item["code"] == code)


def _row(item: dict, label: str) -> list:
    return item["cells"][item["rows"].index(label)]


def test_with_k_1_the_api_shows_the_hand_counted_figures(year, personas, monkeypatch):
    """Nothing below k = 1 is small: the API's numbers are the counts themselves."""
    monkeypatch.setattr(selectors, "threshold", lambda: 1)
    body = personas.client(personas.coordinator).get(API, {"year": YEAR}).json()
    requests = _indicator(body, "requests_by_direction")
    assert [c["value"] for c in _row(requests, f"{NGO} → {SECURITY}")] == [0, 0, 1, 1, 1, 0]
    medians = {m["label"]: m["days"] for m in requests["medians"]}
    assert medians["request → refusal"] == 4.0 and medians["request → answer"] == 6.0
    handovers = _indicator(body, "handovers_by_organisation")
    assert _row(handovers, org(personas.police).name)[0]["value"] == 3
    lessons = {row["outcome"]: row for row in body["lessons"]["outcomes"]}
    assert (lessons["mixed"]["acted_on"], lessons["mixed"]["in_force"]) == (1, 1)
    points = {row["organisation_type"]: row for row in body["contact_points"]["types"]}
    assert points["ngo_counselling_partner"]["days_without_anybody"] == 184


def test_small_counts_are_hidden_on_the_page_the_api_and_in_the_pdf(year, personas):
    client = personas.client(personas.coordinator)
    body = client.get(API, {"year": YEAR}).json()
    assert body["k"] == 5
    requests = _indicator(body, "requests_by_direction")
    for label in (f"{NGO} → {SECURITY}", f"{SECURITY} → {NGO}"):
        for cell in _row(requests, label):
            assert cell["value"] in (0, None)
        assert any(cell["status"] == "suppressed" for cell in _row(requests, label))
    assert all(m["days"] is None and m["withheld"] for m in requests["medians"])
    for item in body["indicators"]:
        for line in item["cells"]:
            assert all(cell["value"] in (0, None) for cell in line), item["code"]
    # the page: the row is there, its small numbers are not
    html = client.get(PAGE, {"year": YEAR}).content.decode()
    cells = _page_row(html, f"{NGO} → {SECURITY}")
    assert cells and all(cell in ("•", "0") for cell in cells)
    assert "suppressed to protect people" in html
    # the annual report: the section's table of requests shows • and no small number
    response = client.get("/stats/", {"year": YEAR, "format": "pdf"})
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    section = text[text.index("Partnership health") :]
    requests_part = section[
        section.index("Requests for information by direction") : section.index(
            "SOP obligations by pair"
        )
    ]
    tokens = requests_part.split()
    assert "•" in tokens and not {"1", "2", "3"} & set(tokens)


def _page_row(html: str, label: str) -> list[str]:
    match = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', html, re.S)
    assert match, label
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", match[1])
    ]


def test_the_page_shows_every_figure_with_its_definition_and_no_name(year, personas):
    response = personas.client(personas.coordinator).get(PAGE, {"year": YEAR})
    assert response.status_code == 200
    html = response.content.decode()
    board = response.context["board"]
    # last year: what describes the cases as they are now is not offered
    assert [item.code for item in board.indicators] == [
        code for code in selectors.PARTNERSHIP_CODES if code != "lead_worker_changes"
    ]
    for item in board.indicators:
        assert f'id="ind-{item.code}"' in html
        assert item.definition and item.definition in html
    for code in ("contact_points", "meeting_attendance", "lessons"):
        assert f'id="net-{code}"' in html
    assert 'class="definition"' in html and html.count('class="definition"') == 8
    for heading in ("Flows between the sectors", "Obligations kept", "Contact points"):
        assert f">{heading}</h2>" in html
    # who is behind a contact point or an attendance is never shown
    for name in ("Erika", "Mustermann", "Officer", "Leaver", "Police Persona"):
        assert name not in html
    assert "data-print hidden" in html and "format=pdf" in html
    event = AuditEvent.objects.filter(action="stats.partnership").latest("id")
    assert event.details["from"] == f"{YEAR}-01-01"


def test_the_api_holds_every_figure_with_its_definition_and_no_name(year, personas):
    body = personas.client(personas.coordinator).get(API, {"year": YEAR}).json()
    assert body["year"] == YEAR and body["from"] == f"{YEAR}-01-01"
    assert all(item["definition"] for item in body["indicators"])
    for part in ("contact_points", "meetings", "lessons"):
        assert body[part]["definition"]
    assert body["meetings"]["held"][0] == {
        "kind": "formal",
        "label": "regular formal meeting",
        "held": 2,
    }
    text = str(body)
    for name in ("Erika", "Mustermann", "officer", "leaver", "Persona"):
        assert name not in text
    assert AuditEvent.objects.filter(action="stats.api").exists()


def test_the_annual_report_has_the_section_with_definitions(year, personas):
    client = personas.client(personas.coordinator)
    response = client.get("/stats/", {"year": YEAR, "format": "pdf"})
    text = " ".join(
        " ".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(response.content)).pages
    )
    section = text[text.index("Partnership health") :]
    for title in (
        "Requests for information by direction",
        "SOP obligations by pair of organisation types",
        "Handovers by organisation",
        "Contact points without anybody",
        "Attendance at the network's meetings",
        "Lessons learned and what came of them",
    ):
        assert title in section
    assert "Requests for information asked in the year" in section  # a definition
    assert "Erika" not in text and "Mustermann" not in text
    workbook = client.get("/stats/", {"year": YEAR, "format": "xlsx"})
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(workbook.content))
    assert {"requests_by_direction", "contact_points", "meeting_attendance", "lessons"} <= set(
        book.sheetnames
    )
    rows = [list(row) for row in book["lessons"].values]
    assert ["something failed", 1, 1, 0] in [row[:4] for row in rows]
    csv = client.get("/stats/", {"year": YEAR, "format": "csv"}).content.decode()
    assert "network.lessons,mixed,Put into force,1,network" in csv


# -- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("coordinator", 200),
        ("dpo", 200),
        ("partner", 403),
        ("partner_other", 403),
        ("hotline", 403),
        ("police", 403),
        ("prison_expired", 403),
        ("admin", 403),
        ("outsider", 403),
    ],
)
def test_who_may_see_partnership_health(year, personas, name, status):
    client = personas.client(getattr(personas, name))
    assert client.get(PAGE, {"year": YEAR}).status_code == status
    assert client.get(API, {"year": YEAR}).status_code == status
    if status == 403:
        assert client.get(API, {"year": "1999"}).status_code == 403  # refused before the year


def test_a_token_passes_the_same_checks(year, personas):
    for user, status in ((personas.coordinator, 200), (personas.partner, 403)):
        secret = api_token_create(actor=user, name="script")[1]
        response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(API, {"year": YEAR})
        assert response.status_code == status


def test_without_sign_in_there_is_nothing(year):
    assert Client().get(API, {"year": YEAR}).status_code == 401
    response = Client().get(PAGE, {"year": YEAR})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_invited_guest_sees_nothing(year, personas):
    guest = make_user(
        "guest",
        organisation_of_type("psychiatry_psychotherapy"),
        Role.GUEST,
        valid_until=timezone.now() + timedelta(days=5),
    )
    client = personas.client(guest)
    assert client.get(PAGE).status_code == 403
    assert client.get(API).status_code == 403


def test_the_dashboard_links_the_page_for_the_network_only(year, personas):
    assert PAGE in personas.client(personas.coordinator).get("/stats/").content.decode()
    assert PAGE not in personas.client(personas.partner).get("/stats/").content.decode()


# -- bad input ----------------------------------------------------------------------------


def test_a_bad_year_names_the_field_and_changes_nothing(year, personas):
    client = personas.client(personas.coordinator)
    before = AuditEvent.objects.count()
    response = client.get(PAGE, {"year": "1999"})
    assert response.status_code == 400 and response.context["board"] is None
    assert "year" in response.context["form"].errors
    assert "Give a year between 2000 and" in response.content.decode()
    assert client.get(PAGE, {"year": "twenty"}).status_code == 400
    for value in ("1999", str(timezone.localdate().year + 1)):
        response = client.get(API, {"year": value})
        assert response.status_code == 422 and "year" in response.json()["fields"]
    response = client.get(API, {"year": "twenty"})
    assert response.status_code == 422 and "year" in str(response.json())
    assert AuditEvent.objects.count() == before


def test_a_year_without_figures_is_refused_naming_the_year(personas):
    client = personas.client(personas.coordinator)
    message = "Nothing was recorded in 2003: there is no figure to report."
    response = client.get(PAGE, {"year": 2003})
    assert response.status_code == 400 and message in response.content.decode()
    response = client.get(API, {"year": 2003})
    assert response.status_code == 422 and response.json()["fields"] == {"year": [message]}
    response = client.get("/stats/", {"year": 2003, "format": "pdf"})
    assert response.status_code == 400 and message in response.content.decode()
    response = client.get("/api/v1/stats/export", {"year": 2003, "format": "pdf"})
    assert response.status_code == 422 and response.json()["fields"] == {"year": [message]}
    assert not AuditEvent.objects.filter(action__startswith="stats.").exists()


def test_the_page_of_a_network_with_nothing_yet_says_so_at_the_year(personas):
    """A new network (or this year's first days): the page without a year answers with the
    message at the year field, not an error (it failed with a 500 once)."""
    client = personas.client(personas.coordinator)
    this_year = timezone.localdate().year
    response = client.get(PAGE)
    assert response.status_code == 200 and response.context["board"] is None
    assert response.context["form"].errors["year"] == [
        f"Nothing was recorded in {this_year}: there is no figure to report."
    ]
    assert not AuditEvent.objects.filter(action__startswith="stats.").exists()


def test_bad_input_is_answered_in_german(year, personas):
    personas.coordinator.language = "de"
    personas.coordinator.save(update_fields=["language"])
    client = personas.client(personas.coordinator)
    with translation.override("de"):
        client.post("/i18n/language/", {"language": "de", "next": PAGE})
        page = client.get(PAGE, {"year": "1999"})
    last = timezone.localdate().year
    expected = german("Give a year between %(first)d and %(last)d.") % {"first": 2000, "last": last}
    assert expected in page.content.decode() and "Geben Sie ein Jahr" in expected
    response = client.get(API, {"year": "1999"})
    assert response.json()["fields"] == {"year": [expected]}
    empty = german("Nothing was recorded in %(year)d: there is no figure to report.")
    response = client.get(API, {"year": 2003})
    assert response.json()["fields"] == {"year": [empty % {"year": 2003}]}
    page = client.get(PAGE, {"year": YEAR})
    assert '<html lang="de">' in page.content.decode()
    assert f"<h1>{german('Partnership health')}</h1>" in page.content.decode()


# -- on the dashboard ---------------------------------------------------------------------


def test_the_dashboard_shows_the_group_for_the_network_but_not_per_state(year, personas):
    client = personas.client(personas.coordinator)
    response = client.get("/stats/", {"year": YEAR})
    html = response.content.decode()
    assert "<summary>Partnership health (3)</summary>" in html
    assert 'id="ind-obligations_by_pair"' in html
    # a state's dashboard leaves out what is published for the whole network only
    response = client.get("/stats/", {"year": YEAR, "state": "DE-HH"})
    codes = [item.code for item in response.context["board"].indicators]
    assert "obligations_by_pair" not in codes and "obligations_compliance" in codes
    response = client.get(
        "/api/v1/stats/indicators/obligations_by_pair", {"year": YEAR, "state": "DE-HH"}
    )
    assert response.status_code == 422 and "state" in response.json()["fields"]
    response = client.get("/api/v1/stats/indicators/obligations_by_pair", {"year": YEAR})
    assert response.status_code == 200
    assert len(response.json()["rows"]) == 12 * 12 + 1  # every pair of types, and the rest


def test_rows_with_nothing_are_left_out_of_the_page_only(year, personas):
    client = personas.client(personas.coordinator)
    page = client.get(PAGE, {"year": YEAR}).context["board"]
    pairs = page.item("obligations_by_pair")
    assert len(pairs.lines) == 3 < len(pairs.table.rows)
    assert {label for label, _line, _total in pairs.lines} == {
        "NGO counselling partner → Police liaison unit (state criminal police office)",
        "Prison → NGO counselling partner",
        "sender or recipient not taking part in the case",
    }


# -- the median rule ----------------------------------------------------------------------


def test_a_median_that_names_its_values_is_shown_when_they_are():
    """Publication.medians: a median naming the values that count it is shown when those
    are published (whatever else its table hides), withheld when one is hidden, left out
    when they are zeros; one naming none needs its whole table published."""
    counts = indicators.Counts(
        ["a", "b"],
        ["answered", "refused", "withdrawn"],
        {indicators.SLOT_NONE: [[6, 0, 0], [6, 2, 0]]},
    )
    counts.medians = lambda state: [
        ("answer", 3.0, 12, (("col", 0),)),
        ("refusal", 4.0, 2, (("col", 1),)),
        ("refusal of b", 4.0, 5, (("cell", 1, 1),)),
        ("withdrawal", None, 0, (("col", 2),)),
        ("anything", 3.5, 14),
    ]
    indicator = indicators.Indicator("x", "X", "partnership", "Row", lambda f: counts, "p")
    publication = publish([indicator], {"x": counts}, [], 5)
    expressions = publication.expressions[("x", None)]
    publication.hidden = {expressions[("cell", 1, 1)], expressions[("col", 1)]}
    shown = {m.label: m.value for m in publication.medians("x", None)}
    assert shown == {
        "answer": 3.0,  # its column is published
        "refusal": None,  # its column is hidden (and two values are fewer than k)
        "refusal of b": None,  # its cell is hidden
        "anything": None,  # names nothing: its table hides a value
    }
    publication.hidden = set()
    assert {m.label: m.value for m in publication.medians("x", None)}["anything"] == 3.5
