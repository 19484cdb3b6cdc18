"""Two-factor authentication: who must give it, enrolment, backup codes, reset, audit."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from casebridge.accounts.models import Membership, Role
from casebridge.audit.models import AuditEvent
from casebridge.network.models import Organisation
from tests.builders import PASSWORD, make_user
from tests.totp import code_for, key_of

pytestmark = pytest.mark.django_db

# persona -> whether a second factor is required (role, or the sector of the organisation)
REQUIRED = {
    "hotline": False,
    "partner": False,
    "partner_other": False,
    "police": True,  # security sector
    "prison_expired": False,  # justice sector, but the membership has ended
    "coordinator": True,
    "dpo": True,
    "admin": True,
    "outsider": False,
}


@pytest.mark.parametrize(("persona", "required"), REQUIRED.items())
def test_pages_wait_for_the_second_factor_where_it_is_required(personas, persona, required):
    client = personas.unverified_client(getattr(personas, persona))
    for url in (reverse("home"), reverse("accounts:profile"), reverse("network:organisations")):
        response = client.get(url)
        if required:
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("accounts:two_factor_enrol"))
        else:
            assert response.status_code == 200, url


@pytest.mark.parametrize(("persona", "required"), REQUIRED.items())
def test_session_api_answers_403_until_the_second_factor(personas, persona, required):
    response = personas.unverified_client(getattr(personas, persona)).get("/api/v1/me")
    if required:
        assert response.status_code == 403
        assert "Two-factor authentication required" in response.json()["detail"]
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("persona", REQUIRED)
def test_a_verified_session_opens_every_page(personas, persona):
    client = personas.client(getattr(personas, persona))
    assert client.get(reverse("home")).status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_a_justice_sector_member_needs_the_second_factor(personas):
    prison = Organisation.objects.filter(type__sector__code="justice", active=True).first()
    officer = make_user("officer", prison, Role.SECURITY_LIAISON)
    response = personas.unverified_client(officer).get(reverse("home"))
    assert response["Location"].startswith(reverse("accounts:two_factor_enrol"))


def test_htmx_requests_are_sent_to_the_second_factor_as_a_whole_page(personas):
    response = personas.unverified_client(personas.police).get(
        reverse("network:organisations"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("accounts:two_factor_enrol"))


def test_logout_language_and_enrolment_stay_open_while_pending(personas):
    client = personas.unverified_client(personas.coordinator)
    assert client.get(reverse("accounts:two_factor_enrol")).status_code == 200
    response = client.post(reverse("set_language"), {"language": "de", "next": "/"})
    assert response.status_code == 302
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_bearer_tokens_are_not_held_up_by_a_pending_session(personas):
    from casebridge.accounts.services import api_token_create

    _token, secret = api_token_create(actor=personas.police, name="script")
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200


def _sign_in(username: str, next_url: str = "") -> tuple[Client, object]:
    client = Client()
    response = client.post(
        reverse("accounts:login") + (f"?next={next_url}" if next_url else ""),
        {"username": username, "password": PASSWORD, "next": next_url},
    )
    assert response.status_code == 302
    return client, response


def test_enrolment_end_to_end_with_a_wrong_code_first(personas):
    client, response = _sign_in("police", "/cases/")
    response = client.get(response["Location"], follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:two_factor_enrol"))
    page = response.content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    secret = response.context["secret"]
    assert secret.replace(" ", "") in page.replace(" ", "")
    key = key_of(secret)

    url = response.redirect_chain[-1][0]
    wrong = f"{(int(code_for(key)) + 1) % 1_000_000:06d}"
    response = client.post(url, {"code": wrong, "next": "/cases/"})
    assert response.status_code == 422
    assert response.context["form"].errors["code"] == [
        "This code does not match. Enter the current code."
    ]
    assert not TOTPDevice.objects.filter(user=personas.police).exists()
    assert not StaticDevice.objects.filter(user=personas.police).exists()
    assert client.get(reverse("home")).status_code == 302  # still not through

    response = client.post(url, {"code": code_for(key), "next": "/cases/"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor_backup_codes"))
    device = TOTPDevice.objects.get(user=personas.police)
    assert device.confirmed and device.bin_key == key
    response = client.get(response["Location"])
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(code in response.content.decode() for code in codes)
    assert set(
        StaticToken.objects.filter(device__user=personas.police).values_list("token", flat=True)
    ) == set(codes)
    assert response.context["next"] == "/cases/"
    # Shown once: reloading the page does not show them again.
    assert client.get(reverse("accounts:two_factor_backup_codes")).status_code == 302
    assert client.get("/cases/").status_code == 200

    actions = list(
        AuditEvent.objects.filter(object_id=str(personas.police.pk), action__startswith="accounts.")
        .order_by("id")
        .values_list("action", "details")
    )
    assert [a for a, _d in actions] == [
        "accounts.login",
        "accounts.2fa.fail",
        "accounts.2fa.enrol",
    ]
    assert actions[1][1] == {"stage": "enrol"}
    assert wrong not in json.dumps(actions)
    assert key.hex() not in json.dumps(actions)


def _enrol(user) -> tuple[bytes, list[str]]:
    from casebridge.accounts.services import two_factor_enrol

    key_hex = TOTPDevice(user=user).key
    codes = two_factor_enrol(actor=user, key_hex=key_hex, code=code_for(bytes.fromhex(key_hex)))
    return bytes.fromhex(key_hex), codes


def test_an_enrolled_user_is_asked_for_a_code_and_gets_to_the_page_asked_for(personas, clock):
    key, _codes = _enrol(personas.dpo)
    client, response = _sign_in("dpo", "/audit/")
    response = client.get(response["Location"])
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))
    verify = response["Location"]
    response = client.post(verify, {"code": "000000", "next": "/audit/"})
    assert response.status_code == 422
    assert response.context["form"].errors["code"] == ["This code is not valid."]
    # django-otp slows down guessing: right after a wrong code even the right one waits.
    response = client.post(verify, {"code": code_for(key, steps_ahead=1), "next": "/audit/"})
    assert response.context["form"].errors["code"] == [
        "Too many wrong codes. Wait a moment, then try again."
    ]
    clock.advance(seconds=2)
    response = client.post(verify, {"code": code_for(key, steps_ahead=1), "next": "/audit/"})
    assert response.status_code == 302 and response["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200
    event = AuditEvent.objects.filter(action="accounts.2fa.verify").get()
    assert event.details == {"stage": "sign_in", "method": "totp"}


def test_a_backup_code_works_once(personas, clock):
    _key, codes = _enrol(personas.admin)
    first = personas.unverified_client(personas.admin)
    verify = reverse("accounts:two_factor_verify")
    assert first.post(verify, {"code": codes[0].upper()})["Location"] == reverse("home")
    assert first.get(reverse("accounts:admin_users")).status_code == 200

    second = personas.unverified_client(personas.admin)
    response = second.post(verify, {"code": codes[0]})
    assert response.status_code == 422
    assert second.get(reverse("home")).status_code == 302
    clock.advance(seconds=2)  # past django-otp's delay after a wrong code
    assert second.post(verify, {"code": codes[1]}).status_code == 302
    assert StaticToken.objects.filter(device__user=personas.admin).count() == 8


def test_a_voluntary_enrolment_is_asked_for_too(personas):
    client = personas.client(personas.partner)
    profile = client.get(reverse("accounts:profile")).content.decode()
    assert reverse("accounts:two_factor_enrol") in profile
    response = client.get(reverse("accounts:two_factor_enrol"))
    key = key_of(response.context["secret"])
    assert (
        client.post(reverse("accounts:two_factor_enrol"), {"code": code_for(key)}).status_code
        == 302
    )

    later = personas.unverified_client(personas.partner)
    response = later.get(reverse("home"))
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))
    assert later.get("/api/v1/me").status_code == 403


def test_administrator_resets_two_factor_and_the_user_enrols_again(personas):
    _enrol(personas.police)
    admin = personas.client(personas.admin)
    page = admin.get(reverse("accounts:admin_user", args=[personas.police.pk]))
    assert "Reset two-factor authentication" in page.content.decode()
    response = admin.post(reverse("accounts:admin_two_factor_reset", args=[personas.police.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=personas.police).exists()
    assert not StaticDevice.objects.filter(user=personas.police).exists()
    event = AuditEvent.objects.get(action="accounts.2fa.reset")
    assert event.actor_id == personas.admin.pk and event.object_id == str(personas.police.pk)
    assert event.details == {"removed": 2}
    response = personas.unverified_client(personas.police).get(reverse("home"))
    assert response["Location"].startswith(reverse("accounts:two_factor_enrol"))


def test_only_administrators_reset_two_factor(personas):
    _enrol(personas.police)
    url = reverse("accounts:admin_two_factor_reset", args=[personas.police.pk])
    assert personas.client(personas.coordinator).post(url).status_code == 403
    api = f"/api/v1/users/{personas.police.pk}/two-factor/reset"
    assert personas.client(personas.dpo).post(api).status_code == 403
    assert TOTPDevice.objects.filter(user=personas.police).exists()
    response = personas.client(personas.admin).post(api)
    assert response.status_code == 200 and response.json() == {"removed": 2}
    assert not TOTPDevice.objects.filter(user=personas.police).exists()


def test_a_new_role_that_needs_two_factor_takes_effect_at_once(personas):
    client = personas.client(personas.hotline)
    assert client.get(reverse("home")).status_code == 200
    Membership.objects.create(
        user=personas.hotline,
        organisation=personas.hotline.memberships.get().organisation,
        role=Role.COORDINATOR,
    )
    assert client.get(reverse("home"))["Location"].startswith(reverse("accounts:two_factor_enrol"))


def test_verify_page_speaks_german(personas):
    personas.police.language = "de"
    personas.police.save(update_fields=["language"])
    _enrol(personas.police)
    client = personas.unverified_client(personas.police)
    with translation.override("de"):
        response = client.post(reverse("accounts:two_factor_verify"), {"code": ""})
    assert response.status_code == 422
    page = response.content.decode()
    assert '<html lang="de">' in page
    assert "Dieses Feld ist zwingend erforderlich." in page
    assert "Abmelden" in page


def test_demo_users_who_need_two_factor_get_a_known_secret(personas):
    from casebridge.ops.demo import demo_two_factor

    assert demo_two_factor(personas.partner) is None
    secret = demo_two_factor(personas.police)
    assert secret == demo_two_factor(personas.police)  # idempotent, stable across runs
    key = key_of(secret)
    client = personas.unverified_client(personas.police)
    response = client.post(reverse("accounts:two_factor_verify"), {"code": code_for(key)})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
