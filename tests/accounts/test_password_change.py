"""Issue 18: an account an administrator created chooses its own password at the first
sign-in before anything else opens; everyone can change their password."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.accounts import services
from casebridge.accounts.models import Membership, User
from casebridge.audit.models import AuditEvent
from tests.builders import PASSWORD, org

pytestmark = pytest.mark.django_db

GIVEN = "vom-Admin-vergeben-2026"
OWN = "mein-eigenes-Passwort-2026"


def created_by_admin(personas) -> User:
    response = personas.client(personas.admin).post(
        "/api/v1/users",
        {
            "username": "neu",
            "first_name": "Nora",
            "last_name": "Neu",
            "email": "neu@example.org",
            "password": GIVEN,
            "language": "en",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content[:300]
    user = User.objects.get(username="neu")
    Membership.objects.create(
        user=user, organisation=org(personas.partner), role="partner_counsellor"
    )
    return user


def test_an_admin_created_account_changes_its_password_first(personas):
    user = created_by_admin(personas)
    assert user.must_change_password
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": "neu", "password": GIVEN})
    assert response.status_code == 302
    for url in (reverse("home"), reverse("cases:list"), reverse("accounts:profile")):
        page = client.get(url)
        assert page.status_code == 302 and page["Location"] == reverse(
            "accounts:password_change"
        ), url
    assert client.get("/api/v1/cases").status_code == 403
    page = client.get(reverse("accounts:password_change"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Choose your own now" in page.content.decode()
    wrong = client.post(
        reverse("accounts:password_change"),
        {"old_password": "falsch", "new_password": OWN, "new_password_again": OWN},
    )
    assert wrong.status_code == 422 and "not your current password" in wrong.content.decode()
    same = client.post(
        reverse("accounts:password_change"),
        {"old_password": GIVEN, "new_password": GIVEN, "new_password_again": GIVEN},
    )
    assert same.status_code == 422
    short = client.post(
        reverse("accounts:password_change"),
        {"old_password": GIVEN, "new_password": "kurz", "new_password_again": "kurz"},
    )
    assert short.status_code == 422 and "too short" in short.content.decode()
    user.refresh_from_db()
    assert user.must_change_password and user.check_password(GIVEN)
    done = client.post(
        reverse("accounts:password_change"),
        {"old_password": GIVEN, "new_password": OWN, "new_password_again": OWN},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password and user.check_password(OWN)
    assert client.get(reverse("home")).status_code == 200  # the session stays
    assert client.get("/api/v1/cases").status_code == 200
    assert AuditEvent.objects.filter(action="accounts.password.change", actor=user).exists()


def test_in_german(personas):
    created_by_admin(personas)
    User.objects.filter(username="neu").update(language="de")
    client = Client()
    client.post(reverse("accounts:login"), {"username": "neu", "password": GIVEN})
    wrong = client.post(
        reverse("accounts:password_change"),
        {"old_password": "falsch", "new_password": OWN, "new_password_again": OWN},
    )
    assert "nicht Ihr aktuelles Passwort" in wrong.content.decode()


def test_others_keep_their_password_and_may_change_it(personas):
    assert not personas.partner.must_change_password
    client = personas.client(personas.partner)
    assert client.get(reverse("home")).status_code == 200
    assert "Change your password" in client.get(reverse("accounts:profile")).content.decode()
    services.password_change(user=personas.partner, old_password=PASSWORD, new_password=OWN)
    personas.partner.refresh_from_db()
    assert personas.partner.check_password(OWN)
    # the old sessions end with the password (bound to its hash)
    assert client.get(reverse("home")).status_code == 302


def test_demo_accounts_keep_their_published_password(db):
    from casebridge.ops.demo import demo_prepare

    for _spec, _organisation in demo_prepare():
        pass
    assert not User.objects.filter(must_change_password=True).exists()
