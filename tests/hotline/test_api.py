"""The hotline API: what the pages do, with field-level errors that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casebridge.hotline.models import Contact, Referral
from tests.builders import org
from tests.hotline.bodies import contact_body, post

pytestmark = pytest.mark.django_db


def test_create_contact_with_referral(personas):
    partner = org(personas.partner)
    response = post(
        personas.client(personas.hotline),
        "/api/v1/hotline/contacts",
        contact_body(
            referral={
                "partner_id": partner.pk,
                "mode": "anonymous",
                "services": ["family_counselling"],
            }
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"].startswith("HL-")
    assert body["caller_region"] == "DE-HH"
    assert body["referrals"][0]["services"] == ["family_counselling"]
    assert "caller_name" not in body  # identity has its own, audited endpoint


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"follow_up_on": "2020-01-01"}, "follow_up_on"),
        ({"caller_postcode": "00000"}, "caller_postcode"),
        ({"caller_category": "aliens"}, "caller_category"),
        ({"concern_topics": ["danger"]}, "concern_topics"),
        ({"referral": {"partner_id": "PARTNER"}}, "mode"),
        ({"referral": {"partner_id": 999999, "mode": "anonymous"}}, "referral.partner_id"),
        ({"earlier_contact_id": 999999}, "earlier_contact_id"),
        ({"ended_at": "2000-01-01T00:00:00Z"}, "ended_at"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_bad_contact_input_names_the_field_and_saves_nothing(personas, overrides, field):
    partner = org(personas.partner)
    if overrides.get("referral", {}).get("partner_id") == "PARTNER":
        overrides["referral"]["partner_id"] = partner.pk
    response = post(
        personas.client(personas.hotline), "/api/v1/hotline/contacts", contact_body(**overrides)
    )
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"], response.json()
    assert not Contact.objects.exists()
    assert not Referral.objects.exists()


def test_route_endpoint_names_bad_fields(personas):
    client = personas.client(personas.hotline)
    ok = post(client, "/api/v1/hotline/route", {"postcode": "80331", "services": ["exit_work"]})
    assert ok.status_code == 200
    body = ok.json()
    assert body["state"] == "DE-BY"
    assert body["suggestions"][0]["reasons"]
    for payload, field in [
        ({"postcode": "8033"}, "postcode"),
        ({"postcode": "80331", "services": ["astrology"]}, "services"),
        ({"postcode": "80331", "language": "xx"}, "language"),
    ]:
        response = post(client, "/api/v1/hotline/route", payload)
        assert response.status_code == 422
        assert field in response.json()["fields"]


def test_search_and_follow_ups(personas, make_contact):
    contact = make_contact(follow_up_on=timezone.localdate() + timedelta(days=2))
    client = personas.client(personas.hotline)
    found = post(client, "/api/v1/hotline/contacts/search", {"q": contact.reference}).json()
    assert [c["id"] for c in found] == [contact.pk]
    due = client.get("/api/v1/hotline/follow-ups").json()
    assert [c["id"] for c in due] == [contact.pk]
    done = client.post(f"/api/v1/hotline/contacts/{contact.pk}/follow-up-done")
    assert done.json()["follow_up_done_at"] is not None
    again = client.post(f"/api/v1/hotline/contacts/{contact.pk}/follow-up-done")
    assert again.status_code == 422


def test_patch_contact_changes_only_what_is_sent(personas, make_contact):
    contact = make_contact()
    client = personas.client(personas.hotline)
    response = client.patch(
        f"/api/v1/hotline/contacts/{contact.pk}",
        {"next_steps": "Rückruf Freitag", "concern_topics": ["violence_or_threats"]},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["next_steps"] == "Rückruf Freitag"
    assert body["concern_topics"] == ["violence_or_threats"]
    assert body["summary"] == contact.summary


def test_contact_with_a_region_instead_of_a_postcode(personas):
    client = personas.client(personas.hotline)
    response = post(
        client, "/api/v1/hotline/contacts", contact_body(caller_postcode="", caller_region="DE-BY")
    )
    assert response.status_code == 201
    assert response.json()["person_region"] == "DE-BY"
    bad = post(
        client, "/api/v1/hotline/contacts", contact_body(caller_postcode="", caller_region="DE-XX")
    )
    assert bad.status_code == 422
    assert "caller_region" in bad.json()["fields"]
