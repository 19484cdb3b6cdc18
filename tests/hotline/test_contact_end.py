"""A contact saved without its end ends now only if the call could still be running; one that
started long ago is refused with a message on the end field — page and API alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from casebridge.hotline.models import Contact
from casebridge.hotline.services import OPEN_CALL_HOURS
from tests.hotline.bodies import contact_body, intake_data, post

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(days=15, hours=13)  # the 22,390-minute call of the report
MESSAGE = f"The contact started more than {OPEN_CALL_HOURS} hours ago: enter when it ended."


def test_the_api_refuses_a_past_contact_without_its_end(personas):
    client = personas.client(personas.hotline)
    started = timezone.now() - LONG_AGO
    response = post(
        client, "/api/v1/hotline/contacts", contact_body(started_at=started.isoformat())
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"ended_at": [MESSAGE]}
    assert not Contact.objects.exists()
    ended = started + timedelta(minutes=25)
    response = post(
        client,
        "/api/v1/hotline/contacts",
        contact_body(started_at=started.isoformat(), ended_at=ended.isoformat()),
    )
    assert response.status_code == 201
    assert response.json()["duration_minutes"] == 25


def test_the_api_ends_a_call_that_just_ended_now(personas):
    response = post(personas.client(personas.hotline), "/api/v1/hotline/contacts", contact_body())
    assert response.status_code == 201
    assert response.json()["duration_minutes"] == 10


def test_the_intake_refuses_a_past_contact_without_its_end(personas):
    client = personas.client(personas.hotline)
    started = timezone.localtime() - LONG_AGO
    data = intake_data(started_at=started.strftime("%Y-%m-%dT%H:%M"))
    response = client.post(reverse("hotline:intake"), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"ended_at": [MESSAGE]}
    assert not Contact.objects.exists()
    data["ended_at"] = (started + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(reverse("hotline:intake"), data).status_code == 302
    assert Contact.objects.get().duration_minutes == 40


def test_the_intake_message_is_german_for_german_users(personas):
    personas.hotline.language = "de"
    personas.hotline.save(update_fields=["language"])
    client = personas.client(personas.hotline)
    started = timezone.localtime() - LONG_AGO
    response = client.post(
        reverse("hotline:intake"), intake_data(started_at=started.strftime("%Y-%m-%dT%H:%M"))
    )
    assert "Stunden" in response.context["form"].errors["ended_at"][0]
