"""Issue 14, point 7: an emergency access (break-glass) reads and never writes.

The user guide promises it; these tests try to break the promise on every door: the
coordinator of the report creating conferences, goals, events and disclosures through
the page, the session API and a token; every write operation of the API and every write
page of a case; the case page's controls; and the purpose of every event written while
the access runs.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from casebridge.accounts.services import api_token_create
from casebridge.audit.models import AuditEvent
from casebridge.cases import services as case_services
from casebridge.outcomes.models import FollowUp
from casebridge.sharing import emergency as emergency_services
from casebridge.sharing import services as sharing_services
from casebridge.sharing.models import Obligation
from tests.builders import category, entry, org, term, whole_case_page

pytestmark = pytest.mark.django_db

REASON = "Anruf der Polizei: akute Selbstgefährdung, Fallbeteiligte nachts nicht erreichbar."
READ_ONLY = "by emergency access"
NO_TOKEN = "An API token cannot confirm"
PURPOSE = "emergency access"


@pytest.fixture
def emergency(personas, world, coordination_consent):
    """The coordinator reads the multi-agency case by emergency access; the case has a goal,
    a consent and an open obligation to aim writes at."""
    goal = case_services.goal_add(
        actor=personas.partner, case=world.case, horizon="interim", title="Ziel"
    )
    consent = coordination_consent
    asked = sharing_services.information_request_create(  # the police ask the lead
        actor=personas.police,
        case=world.case,
        to_participant=world.lead,
        categories=[category("case_coordination")],
        question="Stand?",
        purpose="Fallkonferenz",
        legal_basis=term("legal_basis", "justifying_emergency"),
        due_on=timezone.localdate() + timedelta(days=3),
    )
    warning = case_services.safety_warning_set(
        actor=personas.partner,
        case=world.case,
        kind="do_not_meet_alone",
        note="",
        reason="r",
        review_on=timezone.localdate() + timedelta(days=10),
    )
    invitation = case_services.invitation_create(
        actor=personas.partner,
        case=world.case,
        organisation=personas.partner_other.memberships.get().organisation,
        role=term("case_role", "co_counselling"),
        name="Dr. G",
        email="g@example.org",
        until=timezone.localdate() + timedelta(days=30),
        link="https://x/",
    )
    # a follow-up to aim a result at (the case is open: a test row, not the lead's schedule)
    follow_up = FollowUp.objects.create(
        case=world.case, due_on=timezone.localdate(), scheduled_by=personas.partner
    )
    access = emergency_services.emergency_access_start(
        actor=personas.coordinator, case=world.case, reason=REASON, hours=1
    )
    return {
        "invitation_id": invitation.pk,
        "follow_up_id": follow_up.pk,
        "category": "counselling",
        "warning_id": warning.pk,
        "request_id": asked.pk,
        "access": access,
        "case_id": world.case.pk,
        "participant_id": world.police.pk,
        "goal_id": goal.pk,
        "conference_id": world.conference.pk,
        "consent_id": consent.pk,
        "obligation_id": Obligation.objects.filter(case=world.case, status="open").first().pk,
    }


def case_records() -> dict:
    """Every row of every case and SOP table, to show that a refusal changed nothing."""
    return {
        model._meta.label: sorted(map(repr, model.objects.values()))
        for app in ("cases", "sharing", "outcomes")
        for model in apps.get_app_config(app).get_models()
    }


def written_by(user) -> list[str]:
    return list(
        AuditEvent.objects.filter(actor=user, outcome="ok").values_list("action", flat=True)
    )


def api_post(client: Client, url: str, body: dict | None):
    return client.post(
        url, json.dumps(body) if body is not None else "", content_type="application/json"
    )


def assert_refused(response, *, json_body: bool):
    assert response.status_code == 403, response.content[:300]
    text = response.json()["detail"] if json_body else response.content.decode()
    # A token is refused a step-up action (a disclosure) before anything else is asked.
    assert READ_ONLY in text or NO_TOKEN in text
    assert "Vertrauliche Beratung" not in response.content.decode()


# --- the report, door by door -------------------------------------------------------------


def test_the_reported_page_writes_are_refused_with_a_message(personas, world, emergency):
    client = personas.client(personas.coordinator)
    case = world.case.pk
    before, actions = case_records(), written_by(personas.coordinator)
    attempts = {
        "cases:conference_add": ({"title": "Konferenz", "held_on": "2026-12-01"}, [case]),
        "cases:goal_add": ({"horizon": "interim", "title": "Neues Ziel"}, [case]),
        "cases:goal_status": ({"status": "reached"}, [case, emergency["goal_id"]]),
        "sharing:event_record": ({"code": "child_welfare_concern"}, [case]),
        "sharing:disclose": (
            {
                "to_participant": world.police.pk,
                "excerpt": "x",
                "excerpt_category": "case_coordination",
                "purpose": "p",
                "legal_basis": "danger_prevention_bdsg",
                "justification": "j",
            },
            [case],
        ),
    }
    for name, (data, args) in attempts.items():
        assert_refused(client.post(reverse(name, args=args), data), json_body=False)
    # the disclosure form itself is refused too, with the message, not Django's bare 404
    assert_refused(client.get(reverse("sharing:disclose", args=[case])), json_body=False)
    assert case_records() == before
    assert written_by(personas.coordinator) == actions
    denied = AuditEvent.objects.filter(actor=personas.coordinator, outcome="denied")
    assert denied.count() == len(attempts) + 1
    assert set(denied.values_list("purpose", flat=True)) == {PURPOSE}


REPORTED_API = {
    "/api/v1/cases/{case_id}/conferences": {"held_on": "2026-12-01", "title": "Konferenz"},
    "/api/v1/cases/{case_id}/goals": {"horizon": "interim", "title": "Neues Ziel"},
    "/api/v1/cases/{case_id}/goals/{goal_id}/status": {"status": "reached"},
    "/api/v1/sop/cases/{case_id}/events": {"code": "child_welfare_concern"},
    "/api/v1/sop/cases/{case_id}/disclosures": {
        "to_participant_id": "POLICE",
        "excerpt": "x",
        "excerpt_category": "case_coordination",
        "purpose": "p",
        "legal_basis": "danger_prevention_bdsg",
        "justification": "j",
    },
}


@pytest.mark.parametrize("door", ["session", "token"])
def test_the_reported_api_writes_are_refused_with_a_message(personas, world, emergency, door):
    if door == "session":
        client = personas.client(personas.coordinator)
    else:
        client = Client(
            HTTP_AUTHORIZATION="Bearer "
            + api_token_create(actor=personas.coordinator, name="script")[1]
        )
    before, actions = case_records(), written_by(personas.coordinator)
    for path, body in REPORTED_API.items():
        data = json.loads(json.dumps(body).replace('"POLICE"', str(world.police.pk)))
        assert_refused(api_post(client, path.format(**emergency), data), json_body=True)
    assert case_records() == before
    assert written_by(personas.coordinator) == actions


# --- every door -------------------------------------------------------------------------

# Operations under a case that change nothing (they answer an emergency access).
API_READS = {"POST /api/v1/sop/cases/{case_id}/simulate"}
API_BODIES = {
    "POST /api/v1/cases/{case_id}/related-people": {"relation": "mother", "name": "Erika X"},
    "POST /api/v1/cases/{case_id}/entries": {
        "kind": "note",
        "category": "case_coordination",
        "title": "Abstimmung",
    },
    "POST /api/v1/cases/{case_id}/documents": None,  # multipart, below
    "POST /api/v1/cases/{case_id}/participants": {
        "organisation_id": "OTHER_ORG",
        "role": "co_counselling",
        "members": ["OTHER_USER"],
    },
    "POST /api/v1/cases/{case_id}/participants/{participant_id}/scope": {
        "read": ["case_coordination"],
        "write": [],
        "reason": "weniger",
    },
    "POST /api/v1/cases/{case_id}/participants/{participant_id}/end": None,
    "POST /api/v1/cases/{case_id}/participants/{participant_id}/handover": {
        "to_worker_id": "OTHER_USER",
        "note": "Übergabe",
    },
    "POST /api/v1/cases/{case_id}/phase": {"phase": "assessment"},
    "POST /api/v1/cases/{case_id}/close": {"closing_reason": "goals_reached"},
    "POST /api/v1/cases/{case_id}/goals": {"horizon": "interim", "title": "Ziel"},
    "POST /api/v1/cases/{case_id}/goals/{goal_id}/status": {"status": "reached"},
    "POST /api/v1/cases/{case_id}/conferences": {"held_on": "2026-12-01", "title": "K"},
    "POST /api/v1/cases/{case_id}/conferences/{conference_id}/items": {
        "kind": "decision",
        "category": "case_coordination",
        "text": "ok",
    },
    "POST /api/v1/sop/cases/{case_id}/events": {"code": "child_welfare_concern"},
    "POST /api/v1/sop/cases/{case_id}/consents": {
        "given_by": "person",
        "purpose": "p",
        "categories": ["case_coordination"],
        "recipients": ["POLICE"],
    },
    "POST /api/v1/sop/cases/{case_id}/consents/{consent_id}/withdraw": None,
    "POST /api/v1/sop/cases/{case_id}/disclosures": REPORTED_API[
        "/api/v1/sop/cases/{case_id}/disclosures"
    ],
    "POST /api/v1/sop/cases/{case_id}/obligations/{obligation_id}/cancel": {"reason": "x"},
    "POST /api/v1/sop/cases/{case_id}/requests": {
        "to_participant_id": "POLICE",
        "categories": ["case_coordination"],
        "question": "Stand?",
        "purpose": "p",
        "legal_basis": "justifying_emergency",
        "due_on": "2099-01-01",
    },
    "POST /api/v1/sop/cases/{case_id}/requests/{request_id}/refuse": {"reason": "x"},
    "POST /api/v1/sop/cases/{case_id}/requests/{request_id}/withdraw": None,
    "POST /api/v1/cases/{case_id}/warnings": {
        "kind": "do_not_meet_alone",
        "reason": "r",
        "review_on": "2099-01-01",
    },
    "POST /api/v1/cases/{case_id}/warnings/{warning_id}/review": {"review_on": "2099-01-01"},
    "POST /api/v1/cases/{case_id}/warnings/{warning_id}/end": None,
    "POST /api/v1/cases/{case_id}/transfers": {
        "to_organisation_id": "OTHER_ORG",
        "region": "DE-BE",
        "reason": "Umzug",
        "consent_note": "schriftlich",
    },
    "POST /api/v1/cases/{case_id}/invitations": {
        "organisation_id": "OTHER_ORG",
        "role": "co_counselling",
        "name": "Dr. G",
        "email": "g2@example.org",
        "until": "2099-01-01",
    },
    "POST /api/v1/cases/{case_id}/invitations/{invitation_id}/end": None,
    "POST /api/v1/cases/{case_id}/assessments": {
        "occasion": "review",
        "ratings": [{"dimension": "disengagement", "level": 2}],
        "rationale": "Gespräch",
    },
    "POST /api/v1/cases/{case_id}/follow-up/consent": {"consent": True, "note": "mündlich"},
    "POST /api/v1/cases/{case_id}/follow-up/withdrawal": None,
    "POST /api/v1/cases/{case_id}/follow-ups": {"due_on": "2099-01-01"},
    "POST /api/v1/cases/{case_id}/follow-ups/{follow_up_id}/result": {
        "reached": False,
        "ratings": [],
        "rationale": "nicht erreicht",
    },
}


def case_operations() -> set[str]:
    from casebridge.api import api

    return {
        f"{method.upper()} {path}"
        for path, item in api.get_openapi_schema()["paths"].items()
        if path.startswith(("/api/v1/cases/{case_id}", "/api/v1/sop/cases/{case_id}"))
        for method in item
        if method != "get"
    }


def test_every_write_operation_of_a_case_is_walked():
    """A new operation that writes in a case needs a body here (or is a read: API_READS)."""
    assert case_operations() == set(API_BODIES) | API_READS


@pytest.mark.parametrize("operation", sorted(API_BODIES))
@pytest.mark.parametrize("door", ["session", "token"])
def test_every_write_operation_refuses_an_emergency_access(
    personas, world, emergency, operation, door
):
    if door == "session":
        client = personas.client(personas.coordinator)
    else:
        secret = api_token_create(actor=personas.coordinator, name="script")[1]
        client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    _method, path = operation.split(" ", 1)
    url = path.format(**emergency)
    before, actions = case_records(), written_by(personas.coordinator)
    if path.endswith("/documents"):
        response = client.post(
            url,
            {"category": "counselling", "title": "N", "file": SimpleUploadedFile("n.txt", b"n")},
        )
    else:
        text = json.dumps(API_BODIES[operation])
        for marker, value in (
            ('"OTHER_ORG"', org(personas.partner_other).pk),
            ('"OTHER_USER"', personas.partner_other.pk),
            ('"POLICE"', world.police.pk),
        ):
            text = text.replace(marker, str(value))
        response = client.post(url, text, content_type="application/json")
    assert_refused(response, json_body=True)
    assert case_records() == before
    assert written_by(personas.coordinator) == actions


def case_pages() -> dict[str, str]:
    """URL name → route of every page that takes a case id."""
    pages = {}

    def collect(patterns, namespace, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if pattern.namespace != "api":
                    inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                    collect(pattern.url_patterns, inner, route)
            elif isinstance(pattern, URLPattern) and "<int:case_id>" in route:
                pages[f"{namespace}{pattern.name}"] = route

    collect(get_resolver().url_patterns, "", "")
    return pages


# Pages under a case that write, and those that do not (reads, and the export, which the
# step-up walk refuses during an emergency access).
WRITE_PAGES = {
    "cases:entry_add": ["case_id"],
    "cases:goal_add": ["case_id"],
    "cases:related_person_add": ["case_id"],
    "cases:goal_status": ["case_id", "goal_id"],
    "cases:participant_add": ["case_id"],
    "cases:participant_scope": ["case_id", "participant_id"],
    "cases:participant_end": ["case_id", "participant_id"],
    "cases:participant_handover": ["case_id", "participant_id"],
    "cases:phase": ["case_id"],
    "cases:close": ["case_id"],
    "cases:conference_add": ["case_id"],
    "cases:conference_item_add": ["case_id", "conference_id"],
    "sharing:event_record": ["case_id"],
    "sharing:consent_add": ["case_id"],
    "sharing:consent_withdraw": ["case_id", "consent_id"],
    "sharing:obligation_cancel": ["case_id", "obligation_id"],
    "sharing:disclose": ["case_id"],
    "cases:warning_add": ["case_id"],
    "cases:warning_review": ["case_id", "warning_id"],
    "cases:warning_end": ["case_id", "warning_id"],
    "sharing:request_add": ["case_id"],
    "sharing:request_refuse": ["case_id", "request_id"],
    "sharing:request_withdraw": ["case_id", "request_id"],
    "cases:transfer_propose": ["case_id"],
    "cases:invitation_add": ["case_id"],
    "cases:invitation_end": ["case_id", "invitation_id"],
    "outcomes:assess": ["case_id", "category"],
    "outcomes:plan": ["case_id"],
    "outcomes:withdraw": ["case_id"],
    "outcomes:add": ["case_id"],
    "outcomes:result": ["case_id", "follow_up_id"],
    "federation:match": ["case_id"],
    "federation:propose": ["case_id"],
}
READ_PAGES = {
    "cases:case",
    "cases:export",
    "cases:participant_members",
    "sharing:simulate",
    "cases:access_history",
    "federation:case",
}


def test_every_page_of_a_case_is_a_known_read_or_write():
    assert set(case_pages()) == set(WRITE_PAGES) | READ_PAGES


@pytest.mark.parametrize("name", sorted(WRITE_PAGES))
def test_every_write_page_refuses_an_emergency_access(personas, world, emergency, name):
    client = personas.client(personas.coordinator)
    before, actions = case_records(), written_by(personas.coordinator)
    url = reverse(name, args=[emergency[key] for key in WRITE_PAGES[name]])
    assert_refused(client.post(url, {"reason": "x", "title": "x"}), json_body=False)
    assert case_records() == before
    assert written_by(personas.coordinator) == actions


# --- the page and the audit trail ---------------------------------------------------------


class Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.posts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and attributes.get("method", "get").lower() == "post":
            self.posts.append(attributes.get("action", ""))
        if tag == "a":
            self.links.append(attributes.get("href", ""))


def test_the_case_page_offers_no_write_control_during_an_emergency_access(
    personas, world, emergency
):
    page = whole_case_page(personas.client(personas.coordinator), world.case.pk)
    forms = Forms()
    forms.feed(page)
    end = reverse("sharing:emergency_end", args=[emergency["access"].pk])
    # only "End emergency access now" (and the header's language switch and sign-out)
    assert set(forms.posts) - {reverse("set_language"), reverse("accounts:logout")} == {end}
    assert reverse("sharing:disclose", args=[world.case.pk]) not in forms.links
    assert reverse("cases:export", args=[world.case.pk]) not in forms.links
    assert "Vertrauliche Beratung" in page  # it still reads


def test_the_lead_still_sees_the_write_controls(personas, world):
    forms = Forms()
    forms.feed(whole_case_page(personas.client(personas.partner), world.case.pk))
    for name in ("cases:goal_add", "cases:conference_add", "sharing:event_record"):
        assert reverse(name, args=[world.case.pk]) in forms.posts


@pytest.mark.parametrize("door", ["session", "token"])
def test_every_event_written_during_the_access_carries_its_purpose(
    personas, world, emergency, door
):
    """Reads of every kind, a search, the export and the refused writes: all marked."""
    document = entry(
        personas.partner,
        world.case,
        "case_coordination",
        "Plan",
        "",
        kind="document",
        document=SimpleUploadedFile("plan.txt", b"Plan"),
    )
    since = AuditEvent.objects.latest("id").pk
    if door == "session":
        client = personas.client(personas.coordinator)
        whole_case_page(client, world.case.pk)
        client.get(reverse("cases:list"))
        client.get(reverse("cases:document", args=[document.pk]))
        client.get(reverse("cases:export", args=[world.case.pk]))
        client.get(reverse("sharing:simulate", args=[world.case.pk]))
    else:
        secret = api_token_create(actor=personas.coordinator, name="script")[1]
        since = AuditEvent.objects.latest("id").pk
        client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    from casebridge.api import api

    for path, item in api.get_openapi_schema()["paths"].items():
        if "get" in item and path.startswith(
            ("/api/v1/cases/{case_id}", "/api/v1/sop/cases/{case_id}")
        ):
            client.get(re.sub(r"\{case_id\}", str(world.case.pk), path))
    client.get(f"/api/v1/cases/entries/{world.counselling.pk}")
    client.get(f"/api/v1/cases/entries/{document.pk}/document")
    client.get("/api/v1/cases")
    api_post(client, "/api/v1/cases/search", {"q": "Beratung"})
    api_post(client, f"/api/v1/cases/{world.case.pk}/goals", {"horizon": "interim", "title": "x"})

    events = AuditEvent.objects.filter(pk__gt=since, actor=personas.coordinator)
    actions = set(events.values_list("action", flat=True))
    for expected in (
        "cases.case.view",
        "cases.identity.view",
        "cases.entry.list",
        "cases.entry.view",
        "cases.entry.search",
        "cases.case.list",
        "cases.case.export",  # refused, and marked
        "cases.case.write",  # refused, and marked
    ):
        assert expected in actions
    unmarked = events.exclude(purpose=PURPOSE).values_list("action", "outcome")
    assert list(unmarked) == []


def test_the_refusal_speaks_the_users_language(personas, world, emergency):
    personas.coordinator.language = "de"
    personas.coordinator.save(update_fields=["language"])
    client = personas.client(personas.coordinator)
    page = client.post(
        reverse("cases:conference_add", args=[world.case.pk]),
        {"title": "Konferenz", "held_on": "2026-12-01"},
    )
    assert page.status_code == 403
    assert "Sie lesen diesen Fall über einen Notfallzugriff" in page.content.decode()
    assert reverse("cases:case", args=[world.case.pk]) in page.content.decode()  # way back
    api = api_post(
        client,
        f"/api/v1/cases/{world.case.pk}/conferences",
        {"held_on": "2026-12-01", "title": "K"},
    )
    assert api.status_code == 403
    assert api.json()["detail"].startswith("Sie lesen diesen Fall über einen Notfallzugriff")
