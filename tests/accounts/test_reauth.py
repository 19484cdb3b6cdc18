"""Confirm it is you: exports, disclosures and new API tokens need a re-authentication
within REAUTH_MINUTES; a stale form post saves nothing and leads back to the form."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from casebridge.accounts.models import ApiToken
from casebridge.accounts.services import api_token_create
from casebridge.audit.models import AuditEvent
from casebridge.sharing import services as sharing_services
from casebridge.sharing.models import Disclosure
from tests.builders import PASSWORD, make_user, org
from tests.totp import code_for

pytestmark = pytest.mark.django_db

REAUTH = reverse("accounts:reauth")


def stale(personas, user) -> Client:
    return personas.client(user, reauthenticated=False)


def confirm(client: Client, user, next_url: str, *, steps_ahead: int = 0):
    data = {"password": PASSWORD, "next": next_url}
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        data["code"] = code_for(device.bin_key, steps_ahead=steps_ahead)
    return client.post(REAUTH, data)


def disclosure_data(world) -> dict:
    return {
        "to_participant": world.police.pk,
        "excerpt": "A. hat einen Termin beim Jobcenter.",
        "excerpt_category": "case_coordination",
        "purpose": "Fallkonferenz vorbereiten",
        "legal_basis": "duty_to_report",
        "justification": "Abstimmung nach SOP.",
    }


def test_case_export_needs_a_fresh_confirmation(personas, world):
    client = stale(personas, personas.partner)
    url = reverse("cases:export", args=[world.case.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{REAUTH}?next={quote(url, safe='')}"
    response = confirm(client, personas.partner, url)
    assert response.status_code == 302 and response["Location"] == url
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def test_audit_export_needs_a_confirmation_with_password_and_code(personas, clock):
    client = stale(personas, personas.dpo)
    log = reverse("audit:log")
    assert client.post(log, {"action": "accounts."}).status_code == 200  # filtering is free
    response = client.post(log, {"export": "csv"})
    assert response["Location"] == f"{REAUTH}?next={quote(log, safe='')}"
    page = client.get(response["Location"])
    assert "code" in page.context["form"].fields
    # The password alone is not enough for a user with two-factor authentication.
    response = client.post(REAUTH, {"password": PASSWORD, "next": log})
    assert response.status_code == 422
    assert response.context["form"].errors["code"]
    clock.advance(seconds=2)
    assert confirm(client, personas.dpo, log, steps_ahead=1)["Location"] == log
    response = client.post(log, {"export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert b"accounts.reauth" in b"".join(response.streaming_content)


def test_a_stale_disclosure_saves_nothing_and_leads_back_to_the_form(personas, world):
    client = stale(personas, personas.partner)
    form_url = reverse("sharing:disclose", args=[world.case.pk])
    assert client.get(form_url)["Location"].startswith(REAUTH)
    response = client.post(
        form_url, disclosure_data(world), HTTP_REFERER=f"http://testserver{form_url}"
    )
    assert response.status_code == 302
    assert response["Location"].startswith(REAUTH)
    assert not Disclosure.objects.exists()
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert "Nothing was saved yet" in page.content.decode()
    response = confirm(client, personas.partner, f"http://testserver{form_url}")
    assert response["Location"] == f"http://testserver{form_url}"
    assert client.get(form_url).status_code == 200
    response = client.post(form_url, disclosure_data(world))
    assert response.status_code == 302, response.context["form"].errors
    assert Disclosure.objects.count() == 1


def test_a_stale_disclosure_decision_decides_nothing(personas, world):
    from casebridge.cooperation_models.models import Term

    disclosure = sharing_services.disclosure_request(
        actor=personas.partner,
        case=world.case,
        to_participant=world.police,
        entries=[world.risk],
        excerpt="",
        excerpt_category=None,
        purpose="Gefahrenabwehr",
        legal_basis=Term.objects.get(kind="legal_basis", code="duty_to_report"),
        justification="§ 138 StGB",
    )
    assert disclosure.status == Disclosure.Status.PENDING
    colleague = make_user("colleague", org(personas.partner), "partner_counsellor")
    world.lead.members.add(colleague)
    client = stale(personas, colleague)
    url = reverse("sharing:disclosure_decide", args=[disclosure.pk])
    tasks = f"http://testserver{reverse('sharing:tasks')}"
    response = client.post(url, {"decision": "approve"}, HTTP_REFERER=tasks)
    assert response["Location"] == f"{REAUTH}?next={quote(tasks, safe='')}"
    disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.PENDING
    confirm(client, colleague, tasks)
    assert client.post(url, {"decision": "approve", "next": "tasks"}).status_code == 302
    disclosure.refresh_from_db()
    assert disclosure.status == Disclosure.Status.APPROVED


def test_a_token_is_created_only_after_a_confirmation(personas):
    client = stale(personas, personas.police)
    profile = reverse("accounts:profile")
    response = client.post(profile, {"form": "token", "name": "laptop"})
    assert response["Location"].startswith(REAUTH)
    assert not ApiToken.objects.exists()
    # Preferences on the same page need no confirmation.
    response = client.post(
        profile, {"form": "preferences", "language": "en", "time_zone": "Europe/Berlin"}
    )
    assert response["Location"] == profile

    api = client.post("/api/v1/tokens", {"name": "script"}, content_type="application/json")
    assert api.status_code == 403
    assert "Confirm that it is you" in api.json()["detail"]
    assert not ApiToken.objects.exists()

    confirm(client, personas.police, profile)
    response = client.post(profile, {"form": "token", "name": "laptop"})
    assert response.context["new_secret"].startswith("cb_")
    api = client.post("/api/v1/tokens", {"name": "script"}, content_type="application/json")
    assert api.status_code == 201


def test_a_bearer_token_cannot_create_tokens(personas):
    """A token cannot confirm it is the user, so it cannot mint tokens (issue 14, point 2;
    tests/accounts/test_tokens.py reproduces the attack)."""
    _token, secret = api_token_create(actor=personas.partner, name="ci")
    response = Client().post(
        "/api/v1/tokens",
        {"name": "second"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 403
    assert "An API token cannot confirm" in response.json()["detail"]
    assert ApiToken.objects.count() == 1


def test_the_confirmation_holds_five_minutes(personas, world, clock):
    client = stale(personas, personas.partner)
    url = reverse("cases:export", args=[world.case.pk])
    confirm(client, personas.partner, url)
    clock.advance(minutes=4, seconds=50)
    assert client.get(url).status_code == 200
    clock.advance(seconds=20)
    assert client.get(url)["Location"].startswith(REAUTH)


def test_a_wrong_password_is_refused_audited_and_counted(personas):
    client = stale(personas, personas.partner)
    response = client.post(REAUTH, {"password": "not-my-password", "next": "/"})
    assert response.status_code == 422
    assert response.context["form"].errors["password"] == ["The password is not correct."]
    event = AuditEvent.objects.get(action="accounts.login.fail")
    assert event.object_id == str(personas.partner.pk)
    assert event.details == {"reason": "reauth"}
    assert confirm(client, personas.partner, "/").status_code == 302
    assert AuditEvent.objects.filter(action="accounts.reauth").count() == 1


def test_guessing_the_password_at_the_confirmation_locks_and_signs_out(personas):
    client = stale(personas, personas.partner)
    for _attempt in range(5):
        response = client.post(REAUTH, {"password": "guess", "next": "/"})
    assert response["Location"] == reverse("accounts:login")
    assert client.get(reverse("home"))["Location"].startswith(reverse("accounts:login"))


def test_next_must_stay_on_this_site(personas):
    client = stale(personas, personas.partner)
    response = confirm(client, personas.partner, "https://evil.example/")
    assert response["Location"] == reverse("home")
