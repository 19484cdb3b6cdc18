"""The API takes JSON types as they are and refuses the rest with a 422 that names the field:
no object built from a list, no number read as a date or a truth value, no float as an
integer — in bodies and in query strings (where an ISO date is still a date)."""

from __future__ import annotations

import json

import pytest

from casebridge.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NOT_OBJECTS = [[None, None], [], "x", 5, None, True]


def _events_after(last_id: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(id__gt=last_id).order_by("id").values_list("action", flat=True)
    )


def _last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def contact(make_contact):
    return make_contact()


@pytest.mark.parametrize("body", NOT_OBJECTS, ids=repr)
def test_a_patch_that_is_not_an_object_is_refused_and_writes_nothing(personas, contact, body):
    client = personas.client(personas.hotline)
    last = _last_id()
    response = client.patch(
        f"/api/v1/hotline/contacts/{contact.pk}", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 422, response.content
    assert response.json()["fields"] == {"body": ["Must be a JSON object."]}
    assert _events_after(last) == []


@pytest.mark.parametrize("body", NOT_OBJECTS, ids=repr)
def test_a_search_that_is_not_an_object_is_refused(personas, body):
    client = personas.client(personas.coordinator)
    response = client.post(
        "/api/v1/lessons/search", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"body": ["Must be a JSON object."]}


def test_a_nested_object_that_is_not_one_is_named(personas):
    response = personas.client(personas.hotline).post(
        "/api/v1/hotline/contacts",
        {
            "started_at": "2026-01-01T10:00:00Z",
            "caller_category": "parents_relatives",
            "contact_category": "clarification_needed",
            "referral": [1],
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["fields"]["referral"] == ["Must be a JSON object."]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/v1/hotline/contacts/search", {"follow_up_open": 0}, "follow_up_open"),
        ("post", "/api/v1/hotline/contacts/search", {"follow_up_open": "true"}, "follow_up_open"),
        ("post", "/api/v1/hotline/contacts/search", {"day_to": 0}, "day_to"),
        ("post", "/api/v1/hotline/contacts/search", {"day_to": "0"}, "day_to"),
        ("post", "/api/v1/hotline/contacts/search", {"day_to": "2026-01-01T00:00"}, "day_to"),
        ("post", "/api/v1/hotline/contacts/search", {"q": 5}, "q"),
        ("post", "/api/v1/hotline/route", {"postcode": "20095", "limit": 2.0}, "limit"),
        ("post", "/api/v1/hotline/route", {"postcode": "20095", "limit": "2"}, "limit"),
        ("post", "/api/v1/hotline/route", {"postcode": "20095", "limit": True}, "limit"),
        ("post", "/api/v1/tokens", {"name": "t", "expires_at": 0.5}, "expires_at"),
        ("post", "/api/v1/tokens", {"name": "t", "expires_at": "0.5"}, "expires_at"),
        ("post", "/api/v1/tokens", {"name": "t", "expires_at": "2030-01-01"}, "expires_at"),
        ("post", "/api/v1/lessons/search", {"q": ["x"]}, "q"),
        ("get", "/api/v1/hotline/contacts?day_to=0", None, "day_to"),
        ("get", "/api/v1/hotline/contacts?day_to=20260101", None, "day_to"),
        ("get", "/api/v1/hotline/contacts?follow_up_open=1", None, "follow_up_open"),
        ("get", "/api/v1/hotline/contacts?follow_up_open=yes", None, "follow_up_open"),
        ("get", "/api/v1/meetings?starts_before=0.5", None, "starts_before"),
        ("get", "/api/v1/meetings?starts_after=1700000000", None, "starts_after"),
        ("get", "/api/v1/hotline/follow-ups?within_days=7.0", None, "within_days"),
        ("get", "/api/v1/hotline/follow-ups?within_days=1_0", None, "within_days"),
        ("get", "/api/v1/organisations?limit=5.0", None, "limit"),
        ("get", "/api/v1/stats/indicators?from=0", None, "from"),
        ("get", "/api/v1/stats/partnership?year=2026.0", None, "year"),
        ("get", "/api/v1/stats/partnership?year=twenty", None, "year"),
    ],
)
def test_values_of_another_type_are_refused_naming_the_field(personas, method, path, body, field):
    persona = "coordinator" if "lessons" in path or "meetings" in path else "hotline"
    client = personas.client(getattr(personas, persona))
    if method == "get":
        response = client.get(path)
        field = f"query.{field}"
    else:
        response = client.post(path, body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert list(response.json()["fields"]) == [field]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "post",
            "/api/v1/hotline/contacts/search",
            {"day_to": "2026-01-01", "follow_up_open": True},
        ),
        ("post", "/api/v1/hotline/route", {"postcode": "20095", "limit": 2}),
        ("get", "/api/v1/hotline/contacts?day_from=2026-01-01&day_to=2026-01-31", None),
        ("get", "/api/v1/hotline/contacts?follow_up_open=true", None),
        ("get", "/api/v1/hotline/contacts?follow_up_open=false", None),
        ("get", "/api/v1/meetings?starts_after=2026-01-01T00:00:00%2B01:00", None),
        ("get", "/api/v1/meetings?starts_before=2026-01-01T10:00:00Z", None),
        ("get", "/api/v1/hotline/follow-ups?within_days=30", None),
        ("get", "/api/v1/organisations?limit=5&offset=0", None),
        ("get", "/api/v1/hotline/referrals?status=sent", None),
    ],
)
def test_values_of_the_right_type_are_taken(personas, method, path, body):
    persona = "coordinator" if "meetings" in path else "hotline"
    if "referrals" in path:
        persona = "partner"
    client = personas.client(getattr(personas, persona))
    if method == "get":
        response = client.get(path)
    else:
        response = client.post(path, body, content_type="application/json")
    assert response.status_code == 200, response.content


def test_a_contact_takes_its_choices_as_strings(personas):
    response = personas.client(personas.hotline).post(
        "/api/v1/hotline/contacts",
        {
            "channel": "chat",
            "started_at": "2026-01-01T10:00:00Z",
            "ended_at": "2026-01-01T11:20:00+01:00",
            "person_gender": "female",
            "interpreter_used": False,
            "caller_category": "parents_relatives",
            "contact_category": "clarification_needed",
            "follow_up_on": None,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["channel"] == "chat"
    response = personas.client(personas.hotline).post(
        "/api/v1/hotline/contacts",
        {
            "channel": "pigeon",
            "started_at": "2026-01-01T10:00:00Z",
            "caller_category": "parents_relatives",
            "contact_category": "clarification_needed",
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["channel"]
