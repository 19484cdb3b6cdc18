"""Login, tokens (shown once, stored hashed, revocable), and user management by administrators."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from casebridge.accounts.models import ApiToken, Membership, Role, User
from casebridge.audit.models import AuditEvent
from casebridge.network.models import Organisation
from tests.builders import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_and_logout(personas):
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": "hotline", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.context["user"] == personas.hotline
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_is_refused_with_a_message(personas):
    response = Client().post(
        reverse("accounts:login"),
        {"username": "hotline", "password": "wrong"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_pages_need_login():
    response = Client().get(reverse("network:organisations"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_token_is_shown_once_and_stored_hashed(personas):
    client = personas.client(personas.partner)
    response = client.post(reverse("accounts:profile"), {"form": "token", "name": "laptop"})
    secret = response.context["new_secret"]
    assert secret.startswith("cb_")
    token = ApiToken.objects.get(user=personas.partner)
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().first())
    again = client.get(reverse("accounts:profile"))
    assert secret not in again.content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/me").json()["username"] == "partner"


def test_revoked_token_stops_working(personas):
    client = personas.client(personas.partner)
    created = client.post(
        "/api/v1/tokens", {"name": "script"}, content_type="application/json"
    ).json()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {created['secret']}")
    assert api.get("/api/v1/me").status_code == 200
    client.post(reverse("accounts:token_revoke", args=[created["id"]]))
    assert api.get("/api/v1/me").status_code == 401


def test_cannot_revoke_someone_elses_token(personas):
    created = (
        personas.client(personas.partner)
        .post("/api/v1/tokens", {"name": "mine"}, content_type="application/json")
        .json()
    )
    response = personas.client(personas.police).post(f"/api/v1/tokens/{created['id']}/revoke")
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=created["id"]).revoked_at is None


def test_token_without_a_name_is_refused_naming_the_field(personas):
    client = personas.client(personas.partner)
    response = client.post(
        "/api/v1/tokens", {"name": ""}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 422
    assert "name" in response.json()["fields"]
    assert not ApiToken.objects.exists()


def test_garbage_bearer_token_is_unauthenticated():
    assert Client(HTTP_AUTHORIZATION="Bearer cb_nope").get("/api/v1/me").status_code == 401
    assert Client().get("/api/v1/me").status_code == 401


def test_disabling_a_user_ends_sessions_and_revokes_tokens(personas):
    victim = personas.partner
    victim_client = personas.client(victim)
    secret = victim_client.post(
        "/api/v1/tokens", {"name": "t"}, content_type="application/json"
    ).json()["secret"]
    admin = personas.client(personas.admin)
    response = admin.post(
        reverse("accounts:admin_user_set_active", args=[victim.pk]), {"active": "0"}
    )
    assert response.status_code == 302
    victim.refresh_from_db()
    assert not victim.is_active
    assert victim_client.get(reverse("home")).status_code == 302
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me").status_code == 401
    assert not any(
        s.get_decoded().get("_auth_user_id") == str(victim.pk) for s in Session.objects.all()
    )
    event = AuditEvent.objects.filter(action="accounts.user.disable").latest("id")
    assert event.details == {"tokens_revoked": 1, "sessions_ended": 1}


def test_administrator_creates_a_user_with_a_role_in_pages(personas):
    organisation = Organisation.objects.get(is_hotline=True)
    response = personas.client(personas.admin).post(
        reverse("accounts:admin_user_new"),
        {
            "username": "newcomer",
            "first_name": "Nina",
            "last_name": "Neu",
            "email": "nina@example.org",
            "language": "en",
            "password": "a-long-enough-passphrase",
            "organisation": organisation.pk,
            "role": Role.HOTLINE_COUNSELLOR,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newcomer")
    assert user.memberships.get().role == Role.HOTLINE_COUNSELLOR
    assert AuditEvent.objects.filter(action="accounts.user.create", object_id=str(user.pk)).exists()


def test_weak_password_is_refused_on_the_field_and_nothing_is_saved(personas):
    organisation = Organisation.objects.get(is_hotline=True)
    response = personas.client(personas.admin).post(
        reverse("accounts:admin_user_new"),
        {
            "username": "weak",
            "first_name": "W",
            "last_name": "K",
            "email": "w@example.org",
            "language": "de",
            "password": "12345678",
            "organisation": organisation.pk,
            "role": Role.HOTLINE_COUNSELLOR,
        },
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert not User.objects.filter(username="weak").exists()


@pytest.mark.parametrize(
    "persona", ["hotline", "partner", "police", "coordinator", "dpo", "outsider", "prison_expired"]
)
def test_only_administrators_manage_users(personas, persona):
    client = personas.client(getattr(personas, persona))
    assert client.get(reverse("accounts:admin_users")).status_code == 403
    assert client.get("/api/v1/users").status_code == 403
    response = client.post(
        "/api/v1/users",
        {
            "username": "x",
            "first_name": "x",
            "last_name": "x",
            "email": "x@example.org",
            "password": "a-long-enough-passphrase",
        },
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="x").exists()


def test_expired_membership_gives_no_role(personas):
    membership = Membership.objects.get(user=personas.prison_expired)
    assert not membership.is_active
    body = personas.client(personas.prison_expired).get("/api/v1/me").json()
    assert [m["is_active"] for m in body["memberships"]] == [False]


def test_membership_api_names_the_unknown_organisation(personas):
    response = personas.client(personas.admin).post(
        f"/api/v1/users/{personas.outsider.pk}/memberships",
        {"organisation_id": 999999, "role": "coordinator"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "organisation_id" in response.json()["fields"]
    assert not personas.outsider.memberships.exists()


def test_administrator_cannot_disable_themselves(personas):
    response = personas.client(personas.admin).post(f"/api/v1/users/{personas.admin.pk}/disable")
    assert response.status_code == 422
    personas.admin.refresh_from_db()
    assert personas.admin.is_active


def test_user_search_keeps_names_out_of_the_url(personas):
    client = personas.client(personas.admin)
    response = client.post(reverse("accounts:admin_users"), {"q": "Coordinator"})
    assert [u.username for u in response.context["page"]] == ["coordinator"]
    assert "Coordinator" not in response.request["PATH_INFO"]
    assert "QUERY_STRING" not in response.request or not response.request["QUERY_STRING"]


def test_unknown_time_zone_is_refused_on_the_field(personas):
    response = personas.client(personas.admin).patch(
        f"/api/v1/users/{personas.hotline.pk}",
        {"time_zone": "Mars/Olympus"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["fields"]["time_zone"] == ["Unknown time zone."]
    personas.hotline.refresh_from_db()
    assert personas.hotline.time_zone == "Europe/Berlin"
