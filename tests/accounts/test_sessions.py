"""Server-side session limits: inactivity and absolute length, for pages, htmx and the API."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_defaults():
    assert django_settings.SESSION_IDLE_MINUTES == 30
    assert django_settings.SESSION_MAX_HOURS == 10
    assert django_settings.REAUTH_MINUTES == 5


def test_an_idle_session_ends_and_the_login_page_says_why(personas, clock):
    client = personas.client(personas.partner)
    clock.advance(minutes=29)
    assert client.get(reverse("home")).status_code == 200
    clock.advance(minutes=29)  # the request above counted as activity
    assert client.get(reverse("home")).status_code == 200
    clock.advance(minutes=31)
    response = client.get(reverse("cases:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?reason=idle")
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert "because you were inactive" in page.content.decode()
    # Signed out for good: the next request is anonymous.
    assert client.get(reverse("home"))["Location"].startswith(reverse("accounts:login"))


def test_a_session_ends_after_its_maximum_length_however_active(personas, clock, settings):
    settings.SESSION_MAX_HOURS = 2
    client = personas.client(personas.hotline)
    for _step in range(4):
        clock.advance(minutes=25)
        assert client.get(reverse("home")).status_code == 200
    clock.advance(minutes=25)  # 125 minutes since sign-in
    response = client.get(reverse("home"))
    assert response["Location"].startswith(reverse("accounts:login") + "?reason=expired")
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert "reached its maximum length" in page.content.decode()


def test_htmx_requests_get_a_whole_page_redirect(personas, clock):
    client = personas.client(personas.hotline)
    clock.advance(minutes=31)
    response = client.get(reverse("network:organisations"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("accounts:login") + "?reason=idle")


def test_the_session_api_answers_401_after_inactivity(personas, clock):
    client = personas.client(personas.police)
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/api/v1/me").status_code == 401


def test_sign_in_starts_the_clocks_again(personas, clock):
    from tests.builders import PASSWORD

    client = personas.client(personas.partner)
    clock.advance(minutes=31)
    client.get(reverse("home"))
    response = client.post(reverse("accounts:login"), {"username": "partner", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
