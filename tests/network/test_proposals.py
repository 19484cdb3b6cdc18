"""Organisations missing from the directory (issue 17, flow 4): a case worker proposes one
(an outside professional's practice); it stays out of the directory and nobody can be
invited from it until a coordinator confirms it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from casebridge.audit.models import AuditEvent
from casebridge.cases import services as case_services
from casebridge.network.models import Organisation
from tests.builders import role

pytestmark = pytest.mark.django_db

PRACTICE = {
    "name": "Praxis für Psychotherapie Dr. Weser",
    "type": "psychiatry_psychotherapy",
    "governance": "ngo",
    "street": "Am Deich 3",
    "postcode": "28195",
    "city": "Bremen",
    "reason": "Die Person im Fall HB-2026-0003 ist dort in Behandlung.",
}


def propose(client):
    return client.post("/api/v1/organisations/proposals", PRACTICE, content_type="application/json")


def test_propose_then_confirm_then_invite(personas, world):
    response = propose(personas.client(personas.partner))
    assert response.status_code == 201, response.content[:300]
    proposed = Organisation.objects.get(name=PRACTICE["name"])
    assert not proposed.active and proposed.proposed_by == personas.partner
    assert proposed.region.code == "DE-HB"
    # not in the directory, and nobody can be invited from it yet
    listed = personas.client(personas.partner).get("/api/v1/organisations?q=Praxis+Weser").json()
    assert listed["items"] == []
    with pytest.raises(case_services.ValidationError) as error:
        case_services.invitation_create(
            actor=personas.partner,
            case=world.case,
            organisation=proposed,
            role=role("health_care"),
            name="Dr. Weser",
            email="weser@example.org",
            until=timezone.localdate() + timedelta(days=30),
            link="https://x/",
        )
    assert "organisation" in error.value.message_dict
    # the coordinator sees it on the page and in the API, and confirms it
    coordinator = personas.client(personas.coordinator)
    page = coordinator.get(reverse("network:organisation_proposals")).content.decode()
    assert PRACTICE["name"] in page and PRACTICE["reason"] in page
    waiting = coordinator.get("/api/v1/organisations/proposals").json()
    assert [row["id"] for row in waiting] == [proposed.pk]
    response = coordinator.post(
        reverse("network:organisation_proposal_decide", args=[proposed.pk]),
        {"decision": "confirm"},
    )
    assert response.status_code == 302
    proposed.refresh_from_db()
    assert proposed.active and proposed.reviewed_by == personas.coordinator
    invitation = case_services.invitation_create(
        actor=personas.partner,
        case=world.case,
        organisation=proposed,
        role=role("health_care"),
        name="Dr. Weser",
        email="weser@example.org",
        until=timezone.localdate() + timedelta(days=30),
        link="https://x/",
    )
    assert invitation.status == "sent"
    # decided once
    again = coordinator.post(
        f"/api/v1/organisations/proposals/{proposed.pk}/decide",
        {"confirm": False},
        content_type="application/json",
    )
    assert again.status_code == 404
    for action in ("network.organisation.propose", "network.organisation.confirm"):
        event = AuditEvent.objects.get(action=action)
        assert "Behandlung" not in json.dumps(event.details)


def test_refused_stays_out(personas):
    propose(personas.client(personas.partner))
    proposed = Organisation.objects.get(name=PRACTICE["name"])
    response = personas.client(personas.coordinator).post(
        f"/api/v1/organisations/proposals/{proposed.pk}/decide",
        {"confirm": False},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["active"] is False
    proposed.refresh_from_db()
    assert not proposed.active and proposed.reviewed_at is not None
    assert personas.client(personas.coordinator).get("/api/v1/organisations/proposals").json() == []


def test_who_may_propose_and_decide(personas):
    for user in (personas.hotline, personas.dpo, personas.admin, personas.outsider):
        assert propose(personas.client(user)).status_code == 403, user.username
    assert not Organisation.objects.filter(name=PRACTICE["name"]).exists()
    assert propose(personas.client(personas.police)).status_code == 201
    proposed = Organisation.objects.get(name=PRACTICE["name"])
    for user in (personas.partner, personas.police, personas.dpo, personas.outsider):
        client = personas.client(user)
        assert client.get("/api/v1/organisations/proposals").status_code == 403
        decided = client.post(
            f"/api/v1/organisations/proposals/{proposed.pk}/decide",
            {"confirm": True},
            content_type="application/json",
        )
        assert decided.status_code == 403
        assert client.get(reverse("network:organisation_proposals")).status_code == 403
    proposed.refresh_from_db()
    assert not proposed.active


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": " "}, "reason"),
        ({"postcode": "1234"}, "postcode"),
        ({"type": "astrologer"}, "type"),
        ({"reason": "x" * 301}, "reason"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(personas, changes, field):
    body = {**PRACTICE, **changes}
    response = personas.client(personas.partner).post(
        "/api/v1/organisations/proposals", body, content_type="application/json"
    )
    assert response.status_code == 422
    assert field in response.content.decode()
    assert not Organisation.objects.filter(name=PRACTICE["name"]).exists()


def test_the_page_in_both_languages(personas):
    client = personas.client(personas.partner)
    assert (
        "Propose an organisation" in client.get(reverse("network:organisations")).content.decode()
    )
    data = {k: v for k, v in PRACTICE.items()}
    from casebridge.network.models import OrganisationType

    data["type"] = OrganisationType.objects.get(code="psychiatry_psychotherapy").pk
    data["reason"] = ""
    response = client.post(reverse("network:organisation_propose"), data)
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    personas.partner.language = "de"
    personas.partner.save()
    german = personas.client(personas.partner).post(reverse("network:organisation_propose"), data)
    assert german.status_code == 422 and "Organisation vorschlagen" in german.content.decode()
    data["reason"] = PRACTICE["reason"]
    assert client.post(reverse("network:organisation_propose"), data).status_code == 302
