"""Sign-in throttling: 5 failures lock a username for 15 minutes, 30 lock a client address."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.accounts.models import LoginFailure, LoginLockout
from casebridge.audit.models import AuditEvent
from tests.builders import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed attempts. Sign-in is blocked for 15 minutes"
ADDRESS = "203.0.113.7"


def attempt(username: str, password: str, address: str = ADDRESS):
    client = Client()
    response = client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    return client, response


def signed_in(response) -> bool:
    return response.status_code == 302


def errors(response) -> str:
    return " ".join(response.context["form"].non_field_errors())


def test_four_failures_do_not_lock(personas):
    for _attempt in range(4):
        _client, response = attempt("partner", "wrong-password")
        assert response.status_code == 200
        assert LOCKED not in errors(response)
    _client, response = attempt("partner", PASSWORD)
    assert signed_in(response)


def test_the_fifth_failure_locks_the_username_for_fifteen_minutes(personas, clock):
    for _attempt in range(4):
        attempt("partner", "wrong-password")
    _client, response = attempt("partner", "wrong-password")
    assert LOCKED in errors(response)
    # Even the right password is refused now, from any address.
    _client, response = attempt("partner", PASSWORD, address="198.51.100.1")
    assert not signed_in(response)
    assert LOCKED in errors(response)
    clock.advance(minutes=14, seconds=50)
    assert not signed_in(attempt("partner", PASSWORD)[1])
    clock.advance(seconds=20)
    client, response = attempt("partner", PASSWORD)
    assert signed_in(response)
    assert client.get(reverse("home")).status_code == 200


def test_failures_outside_the_window_do_not_count(personas, clock):
    for _attempt in range(4):
        attempt("partner", "wrong-password")
    clock.advance(minutes=16)
    for _attempt in range(4):
        attempt("partner", "wrong-password")
    assert signed_in(attempt("partner", PASSWORD)[1])


def test_the_message_does_not_reveal_whether_the_username_exists(personas):
    for username in ("partner", "nobody-here"):
        first = errors(attempt(username, "wrong-password")[1])
        for _attempt in range(4):
            locked = errors(attempt(username, "wrong-password")[1])
        assert first.startswith("Please enter a correct username and password.")
        assert LOCKED in locked
    assert errors(attempt("partner", "x")[1]) == errors(attempt("nobody-here", "x")[1])


def test_one_address_is_locked_after_thirty_failures(personas, settings):
    for number in range(30):
        attempt(f"guess-{number}", "wrong-password")
    assert not signed_in(attempt("hotline", PASSWORD)[1])
    assert signed_in(attempt("hotline", PASSWORD, address="198.51.100.1")[1])


def test_limits_come_from_the_settings(personas, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_LOCKOUT_MINUTES = 5
    assert "blocked" not in errors(attempt("partner", "wrong-password")[1])
    assert "blocked for 5 minutes" in errors(attempt("partner", "wrong-password")[1])
    assert not signed_in(attempt("partner", PASSWORD)[1])


def test_administrator_unlocks_and_it_is_audited(personas):
    for _attempt in range(5):
        attempt("police", "wrong-password")
    page = personas.client(personas.admin).get(
        reverse("accounts:admin_user", args=[personas.police.pk])
    )
    assert "Unlock sign-in" in page.content.decode()
    url = reverse("accounts:admin_user_unlock", args=[personas.police.pk])
    assert personas.client(personas.coordinator).post(url).status_code == 403
    assert not signed_in(attempt("police", PASSWORD)[1])
    assert personas.client(personas.admin).post(url).status_code == 302
    assert signed_in(attempt("police", PASSWORD)[1])
    event = AuditEvent.objects.get(action="accounts.login.unlock")
    assert event.actor_id == personas.admin.pk
    assert event.object_id == str(personas.police.pk)
    assert event.details == {"locks": 1}


def test_unlock_through_the_api(personas):
    for _attempt in range(5):
        attempt("police", "wrong-password")
    url = f"/api/v1/users/{personas.police.pk}/unlock"
    assert personas.client(personas.partner).post(url).status_code == 403
    response = personas.client(personas.admin).post(url)
    assert response.status_code == 200 and response.json() == {"lifted": 1}
    assert signed_in(attempt("police", PASSWORD)[1])


def test_failures_and_locks_are_audited_without_unknown_usernames(personas):
    for _attempt in range(5):
        attempt("partner", "wrong-password")
    for _attempt in range(5):
        attempt("Mustermann-typed-by-mistake", "wrong-password")
    failed = AuditEvent.objects.filter(action="accounts.login.fail")
    assert failed.filter(object_id=str(personas.partner.pk)).count() == 5
    assert failed.filter(object_id="").count() == 5
    assert {tuple(e.details.items()) for e in failed} == {(("reason", "credentials"),)}
    locks = AuditEvent.objects.filter(action="accounts.login.lock")
    assert sorted(e.object_id for e in locks) == ["", str(personas.partner.pk)]
    assert all(e.remote_addr == ADDRESS for e in failed)
    stored = json.dumps(
        [list(AuditEvent.objects.values()), list(LoginFailure.objects.values())],
        default=str,
    )
    assert "mustermann" not in stored.lower()
    assert LoginLockout.objects.count() == 2


def test_a_successful_sign_in_clears_earlier_failures(personas):
    for _attempt in range(4):
        attempt("partner", "wrong-password")
    assert signed_in(attempt("partner", PASSWORD)[1])
    for _attempt in range(4):
        attempt("partner", "wrong-password")
    assert signed_in(attempt("partner", PASSWORD)[1])
    assert AuditEvent.objects.filter(action="accounts.login").count() == 2
