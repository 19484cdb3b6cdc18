"""Issue 14, point 2: a token never outlives or outranks what created it (DESIGN invariant 12).

Tokens are made only in a browser session that confirmed it is the user; a token cannot
mint tokens. Each token records its origin and ends with every door that ends a session:
revocation, expiry, a disabled account, a password change; its rights are the user's of
the moment, and a token made without a second factor stops once the roles require one.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casebridge.accounts.models import ApiToken, Membership, Role
from casebridge.accounts.services import api_token_create, membership_end, user_set_active
from casebridge.audit.models import AuditEvent
from tests.builders import org

pytestmark = pytest.mark.django_db

NO_TOKEN = "An API token cannot confirm"


def bearer(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def created_in_the_session_api(client: Client, **fields) -> dict:
    response = client.post("/api/v1/tokens", fields, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_token_expiring_in_two_minutes_cannot_mint_a_permanent_child(personas):
    """The attack as reported: a short-lived token asked for a child without an expiry."""
    parent = created_in_the_session_api(
        personas.client(personas.partner),
        name="short",
        expires_at=(timezone.now() + timedelta(minutes=2)).isoformat(),
    )
    response = bearer(parent["secret"]).post(
        "/api/v1/tokens", {"name": "forever"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert NO_TOKEN in response.json()["detail"]
    assert "secret" not in response.json()
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["short"]
    refusal = AuditEvent.objects.filter(action="accounts.token.create").latest("id")
    assert refusal.outcome == "denied" and refusal.actor == personas.partner
    assert refusal.details == {"refused": "TokenRefused"}


def test_revoking_the_parent_leaves_no_token_working(personas, clock):
    client = personas.client(personas.partner)
    parent = created_in_the_session_api(
        client, name="short", expires_at=(timezone.now() + timedelta(minutes=2)).isoformat()
    )
    api = bearer(parent["secret"])
    api.post("/api/v1/tokens", {"name": "forever"}, content_type="application/json")
    assert api.post(f"/api/v1/tokens/{parent['id']}/revoke").status_code == 200
    assert api.get("/api/v1/me").status_code == 401
    assert not [token for token in ApiToken.objects.all() if token.is_usable]
    # and had it not been revoked, it would have ended two minutes later all the same
    other = created_in_the_session_api(
        client, name="short", expires_at=(timezone.now() + timedelta(minutes=2)).isoformat()
    )
    clock.advance(minutes=2, seconds=1)
    assert bearer(other["secret"]).get("/api/v1/me").status_code == 401


def test_each_token_shows_where_it_was_created_in_the_lists_and_the_audit_log(personas):
    police = personas.client(personas.police)  # signed in with the second factor
    police.post(reverse("accounts:profile"), {"form": "token", "name": "laptop"})
    created_in_the_session_api(police, name="script")
    api_token_create(actor=personas.police, name="operator")  # the command line: no request

    listed = {token["name"]: token for token in police.get("/api/v1/tokens").json()}
    assert {name: (t["origin"], t["second_factor"]) for name, t in listed.items()} == {
        "laptop": ("page", True),
        "script": ("session_api", True),
        "operator": ("command", True),
    }
    page = police.get(reverse("accounts:profile")).content.decode()
    for origin in ("profile page", "API in a browser session", "command line (operator)"):
        assert origin in page
    assert "with second factor" in page

    events = AuditEvent.objects.filter(action="accounts.token.create", outcome="ok").order_by("id")
    assert [(e.details["origin"], e.details["second_factor"]) for e in events] == [
        ("page", True),
        ("session_api", True),
        ("command", True),
    ]
    for event in events:  # ids and codes only: never the secret or its digest
        assert set(event.details) == {"origin", "second_factor", "expires_at"}


def test_a_session_without_a_second_factor_makes_tokens_marked_so(personas):
    client = personas.client(personas.partner)  # partner counsellors need no second factor
    created = created_in_the_session_api(client, name="script")
    assert created["origin"] == "session_api" and created["second_factor"] is False


def test_a_password_change_ends_the_tokens_made_before(personas):
    user = personas.partner
    _old, secret = api_token_create(actor=user, name="before")
    assert bearer(secret).get("/api/v1/me").status_code == 200
    user.set_password("a-new-and-long-passphrase")
    user.save()
    assert bearer(secret).get("/api/v1/me").status_code == 401
    _new, fresh = api_token_create(actor=user, name="after")
    assert bearer(fresh).get("/api/v1/me").status_code == 200


def test_disabling_the_account_ends_its_tokens(personas):
    _token, secret = api_token_create(actor=personas.partner, name="script")
    user_set_active(actor=personas.admin, user=personas.partner, active=False)
    assert bearer(secret).get("/api/v1/me").status_code == 401
    user_set_active(actor=personas.admin, user=personas.partner, active=True)
    assert bearer(secret).get("/api/v1/me").status_code == 401  # revoked, not paused


def test_a_token_has_the_rights_of_the_moment_not_of_its_creation(personas, world):
    _token, secret = api_token_create(actor=personas.police, name="script")
    api = bearer(secret)
    assert api.get(f"/api/v1/cases/{world.case.pk}").status_code == 200
    membership_end(actor=personas.admin, membership=personas.police.memberships.get())
    assert api.get(f"/api/v1/cases/{world.case.pk}").status_code == 404
    assert api.get("/api/v1/me").json()["memberships"][0]["is_active"] is False


def test_a_token_made_without_a_second_factor_stops_when_the_roles_require_one(personas):
    """Otherwise a partner's token would carry police rights no second factor ever vouched for."""
    created = created_in_the_session_api(personas.client(personas.partner), name="script")
    api = bearer(created["secret"])
    assert api.get("/api/v1/me").status_code == 200
    Membership.objects.create(
        user=personas.partner, organisation=org(personas.police), role=Role.SECURITY_LIAISON
    )
    response = api.get("/api/v1/me")
    assert response.status_code == 403
    assert "without a second factor" in response.json()["detail"]


def test_tokens_from_before_origins_were_kept_keep_working_until_the_password_changes(personas):
    """Migration 0005: older tokens get origin "unrecorded", the current password's hash,
    and a second factor where the user has an authenticator."""
    personas.client(personas.police)  # gives the police persona its authenticator
    rows = {}
    for user in (personas.police, personas.partner):
        _token, secret = api_token_create(actor=user, name="old")
        ApiToken.objects.filter(user=user).update(
            origin=ApiToken.Origin.UNRECORDED, auth_hash="", second_factor=False
        )
        rows[user.username] = secret
    migration = import_module("casebridge.accounts.migrations.0005_token_origin")
    migration.bind_existing_tokens(apps, None)

    assert dict(ApiToken.objects.values_list("user__username", "second_factor")) == {
        "police": True,
        "partner": False,
    }
    for secret in rows.values():
        assert bearer(secret).get("/api/v1/me").status_code == 200
    listed = bearer(rows["partner"]).get("/api/v1/tokens").json()
    assert listed[0]["origin"] == "unrecorded"
    personas.partner.set_password("a-new-and-long-passphrase")
    personas.partner.save()
    assert bearer(rows["partner"]).get("/api/v1/me").status_code == 401


def test_a_token_is_answered_in_its_users_language(personas):
    personas.partner.language = "de"
    personas.partner.save(update_fields=["language"])
    _token, secret = api_token_create(actor=personas.partner, name="script")
    response = bearer(secret).post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    assert response.json()["detail"].startswith("Ein API-Token kann Ihre Identität nicht")


def test_no_token_lives_longer_than_the_maximum(personas, clock, settings):
    """Without an expiry a token gets API_TOKEN_MAX_DAYS; longer is refused at the field;
    the day after the maximum it no longer works."""
    settings.API_TOKEN_MAX_DAYS = 30
    client = personas.client(personas.partner)
    made = created_in_the_session_api(client, name="no expiry given")
    token = ApiToken.objects.get(pk=made["id"])
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    too_long = (timezone.now() + timedelta(days=31)).isoformat()
    response = client.post(
        "/api/v1/tokens", {"name": "long", "expires_at": too_long}, content_type="application/json"
    )
    assert response.status_code == 422
    assert "30 days" in response.json()["fields"]["expires_at"][0]
    page = client.post(
        reverse("accounts:profile"),
        {"form": "token", "name": "long", "expires_at": too_long[:16]},
    )
    assert "30 days" in page.content.decode()
    assert ApiToken.objects.count() == 1
    assert bearer(made["secret"]).get("/api/v1/me").status_code == 200
    clock.advance(days=31)
    assert bearer(made["secret"]).get("/api/v1/me").status_code == 401


def test_tokens_without_an_expiry_get_the_maximum_on_upgrade(personas, settings):
    migration = import_module("casebridge.accounts.migrations.0006_token_lifetime")
    token, _secret = api_token_create(actor=personas.partner, name="old")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None)
    migration.cap(apps, None)
    token.refresh_from_db()
    assert token.expires_at - timezone.now() > timedelta(days=settings.API_TOKEN_MAX_DAYS - 1)
