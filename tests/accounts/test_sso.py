"""Single sign-on with OpenID Connect, against a real provider in its own process
(tests/accounts/oidc_provider.py): casebridge's server-to-server calls (discovery, token,
JWKS) go to that process over loopback HTTP; the browser's two hops (to the provider's
authorization endpoint and back to the callback) are made by the test.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client as DjangoClient
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from casebridge.accounts import sso
from casebridge.accounts.models import ExternalIdentity, Membership, Role, User
from casebridge.audit.models import AuditEvent
from tests.accounts import oidc_provider
from tests.builders import PASSWORD, make_user, organisation_of_type
from tests.robustness.server import free_port
from tests.totp import code_for

pytestmark = pytest.mark.django_db

CLIENT_ID = "casebridge-test"
CLIENT_SECRET = "provider-test-secret-0123456789"


def Client(**defaults):
    """A browser that asks for English pages: the texts below are the English ones (the
    installation's default language is German, and so is an account made at sign-in)."""
    return DjangoClient(HTTP_ACCEPT_LANGUAGE="en", **defaults)


@pytest.fixture(scope="module")
def provider():
    with oidc_provider.running(CLIENT_ID, CLIENT_SECRET) as control:
        yield control


def providers_file(url: str, organisations: list[str]) -> str:
    return oidc_provider.providers_file(url, organisations, client_id=CLIENT_ID)


@pytest.fixture
def orgs(db):
    return (
        organisation_of_type("police_liaison_unit", "DE-HH"),
        organisation_of_type("police_liaison_unit", "DE-BE"),
    )


@pytest.fixture
def configured(provider, orgs, settings, tmp_path, monkeypatch):
    path = tmp_path / "sso.toml"
    path.write_text(providers_file(provider.url, [o.code for o in orgs]), encoding="utf-8")
    monkeypatch.setenv("CB_TEST_SSO_SECRET", CLIENT_SECRET)
    settings.SSO_FILE = str(path)
    sso.forget_configuration()
    provider.scenario()
    yield provider
    sso.forget_configuration()


def start(client: Client, organisation, next_url: str = "") -> str:
    """Click "Sign in with …": return the provider's authorization URL."""
    url = reverse("accounts:sso_start", args=[organisation.code])
    response = client.get(url + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302, response.content
    return response["Location"]


def at_provider(authorize_url: str) -> str:
    """The browser at the provider: it approves at once and sends the browser back."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    return response.headers["Location"]


def back(client: Client, callback_url: str):
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: Client, organisation, next_url: str = ""):
    return back(client, at_provider(start(client, organisation, next_url)))


def refusals(reason: str) -> int:
    events = AuditEvent.objects.filter(action="accounts.sso.refuse", outcome="denied")
    return sum(event.details.get("reason") == reason for event in events)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- the flow ----------------------------------------------------------------------------


def test_the_sign_in_page_offers_the_organisations_providers(configured, orgs):
    response = Client().get(reverse("accounts:login"))
    assert response.status_code == 200
    for organisation in orgs:
        assert f"Sign in with {organisation.name}" in response.content.decode()
        assert reverse("accounts:sso_start", args=[organisation.code]) in response.content.decode()


def test_the_authorization_request_uses_pkce_state_and_nonce(configured, orgs):
    client = Client()
    query = parse_qs(urlsplit(start(client, orgs[0])).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0]
    assert query["scope"] == ["openid profile email"]
    assert query["redirect_uri"] == [
        "http://testserver" + reverse("accounts:sso_callback", args=[orgs[0].code])
    ]


def test_a_second_factor_asserted_by_acr_signs_in_without_totp(configured, orgs):
    configured.scenario(
        acr="urn:test:mfa",
        claims={
            "groups": ["liaison"],
            "preferred_username": "kim",
            "given_name": "Kim",
            "family_name": "Berger",
            "email": "kim@police.example",
        },
    )
    client = Client()
    response = sign_in(client, orgs[0], next_url="/cases/")
    assert response.status_code == 302 and response["Location"] == "/cases/"
    user = User.objects.get(username=f"kim@{orgs[0].code}")
    assert (user.first_name, user.last_name, user.email) == ("Kim", "Berger", "kim@police.example")
    assert not user.has_usable_password()
    assert ExternalIdentity.objects.get(user=user).organisation == orgs[0]
    assert list(
        Membership.objects.active().filter(user=user).values_list("organisation", "role")
    ) == [(orgs[0].pk, Role.SECURITY_LIAISON)]
    # the security sector needs a second factor: the provider's counts, no TOTP asked
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=user).exists()
    event = AuditEvent.objects.filter(action="accounts.login", actor=user).get()
    assert event.details == {"sso": True, "organisation": orgs[0].pk, "second_factor": True}


def test_nothing_personal_is_logged(configured, orgs, caplog):
    caplog.set_level(logging.DEBUG)
    configured.scenario(
        acr="urn:test:mfa",
        sub="subject-7f3a",
        claims={"groups": ["liaison"], "family_name": "Quandt", "email": "q@police.example"},
    )
    sign_in(Client(), orgs[0])
    configured.scenario(acr="urn:test:mfa", aud="other", sub="subject-7f3a")
    sign_in(Client(), orgs[0])  # refused: logged as "Forbidden: <path>" only
    for secret in ("subject-7f3a", "Quandt", "q@police.example", CLIENT_SECRET):
        assert secret not in caplog.text


def test_a_second_factor_asserted_by_amr_counts_too(configured, orgs):
    configured.scenario(amr=["pwd", "hwk"])
    client = Client()
    sign_in(client, orgs[0])
    assert client.get(reverse("home")).status_code == 200


def test_without_a_second_factor_from_the_provider_casebridge_asks_for_its_own(configured, orgs):
    configured.scenario(acr="urn:test:password-only", amr=["pwd"])
    client = Client()
    response = sign_in(client, orgs[0])
    assert response.status_code == 302
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor_enrol"))
    # at the next sign-in, the code of the authenticator set up the first time
    user = User.objects.get(username=f"kim@{orgs[0].code}")
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    client = Client()
    sign_in(client, orgs[0])
    response = client.get(reverse("home"))
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))
    response = client.post(
        reverse("accounts:two_factor_verify"), {"code": code_for(device.bin_key), "next": "/"}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_roles_follow_the_claim_at_every_sign_in(configured, orgs):
    configured.scenario(acr="urn:test:mfa", claims={"groups": ["liaison", "unknown"]})
    sign_in(Client(), orgs[0])
    user = ExternalIdentity.objects.get(subject="person-1").user
    configured.scenario(acr="urn:test:mfa", claims={"groups": ["coordinator"]})
    sign_in(Client(), orgs[0])
    assert set(Membership.objects.active().filter(user=user).values_list("role", flat=True)) == {
        Role.COORDINATOR
    }


# --- refusals: nothing signed in, a clear page, an audit event ----------------------------


def assert_refused(response, client: Client, reason: str, text: str) -> None:
    assert response.status_code in (403, 404)
    assert text in response.content.decode()
    assert not signed_in(client)
    assert refusals(reason) == 1


def test_a_token_for_another_audience_is_refused(configured, orgs):
    configured.scenario(acr="urn:test:mfa", aud="another-client")
    client = Client()
    response = sign_in(client, orgs[0])
    assert_refused(response, client, sso.Reason.INVALID_TOKEN, "could not be verified")
    assert not User.objects.filter(username__endswith=orgs[0].code).exists()


def test_a_refusal_is_explained_in_german_and_an_account_is_made_in_the_providers_language(
    configured, orgs
):
    configured.scenario(acr="urn:test:mfa", aud="another-client")
    client = DjangoClient(HTTP_ACCEPT_LANGUAGE="de")
    response = sign_in(client, orgs[0])
    page = response.content.decode()
    assert "Anmeldung abgelehnt" in page and "konnte nicht geprüft werden" in page
    configured.scenario(
        acr="urn:test:mfa",
        claims={"groups": ["liaison"], "preferred_username": "lena", "locale": "de-DE"},
    )
    sign_in(DjangoClient(), orgs[0])
    assert User.objects.get(username=f"lena@{orgs[0].code}").language == "de"


def test_an_expired_token_is_refused(configured, orgs):
    configured.scenario(acr="urn:test:mfa", exp_offset=-3600)
    client = Client()
    assert_refused(sign_in(client, orgs[0]), client, sso.Reason.INVALID_TOKEN, "verified")


def test_a_token_with_a_bad_signature_is_refused(configured, orgs):
    configured.scenario(acr="urn:test:mfa", bad_signature=True)
    client = Client()
    assert_refused(sign_in(client, orgs[0]), client, sso.Reason.INVALID_TOKEN, "verified")


def test_a_token_with_another_nonce_is_refused(configured, orgs):
    configured.scenario(acr="urn:test:mfa", nonce="a-nonce-of-another-request")
    client = Client()
    assert_refused(sign_in(client, orgs[0]), client, sso.Reason.INVALID_TOKEN, "verified")


def test_a_token_of_another_issuer_is_refused(configured, orgs):
    configured.scenario(acr="urn:test:mfa", iss="https://idp.elsewhere.example")
    client = Client()
    assert_refused(sign_in(client, orgs[0]), client, sso.Reason.INVALID_TOKEN, "verified")


def test_a_replayed_state_is_refused(configured, orgs):
    configured.scenario(acr="urn:test:mfa")
    client = Client()
    callback = at_provider(start(client, orgs[0]))
    assert back(client, callback).status_code == 302
    client.logout()
    client = Client()
    response = back(client, callback)
    assert_refused(response, client, sso.Reason.UNKNOWN_STATE, "already used")


def test_a_state_replayed_in_the_same_session_is_refused(configured, orgs):
    configured.scenario(acr="urn:test:mfa")
    client = Client()
    callback = at_provider(start(client, orgs[0]))
    assert back(client, callback).status_code == 302
    response = back(client, callback)
    assert response.status_code == 403
    assert refusals(sso.Reason.UNKNOWN_STATE) == 1


def test_a_state_of_another_organisations_flow_is_refused(configured, orgs):
    configured.scenario(acr="urn:test:mfa")
    client = Client()
    callback = at_provider(start(client, orgs[0]))
    response = back(client, callback.replace(f"/sso/{orgs[0].code}/", f"/sso/{orgs[1].code}/"))
    assert_refused(response, client, sso.Reason.UNKNOWN_STATE, "Start again")


def test_an_organisation_without_a_provider_is_refused(configured):
    client = Client()
    response = client.get(reverse("accounts:sso_start", args=["no-such-organisation"]))
    assert_refused(response, client, sso.Reason.UNKNOWN_ORGANISATION, "does not sign in")


def test_no_role_in_the_claim_is_refused_and_creates_no_account(configured, orgs):
    configured.scenario(acr="urn:test:mfa", claims={"groups": ["canteen"]})
    client = Client()
    assert_refused(sign_in(client, orgs[0]), client, sso.Reason.NO_ROLE, "no role")
    assert not ExternalIdentity.objects.exists()


def test_an_error_of_the_provider_is_refused(configured, orgs):
    configured.scenario(error="access_denied")
    client = Client()
    assert_refused(sign_in(client, orgs[0]), client, sso.Reason.PROVIDER_ERROR, "did not sign")


def test_an_unreachable_provider_is_refused(orgs, settings, tmp_path, monkeypatch):
    path = tmp_path / "sso.toml"
    path.write_text(providers_file(f"http://127.0.0.1:{free_port()}", [orgs[0].code]))
    monkeypatch.setenv("CB_TEST_SSO_SECRET", CLIENT_SECRET)
    settings.SSO_FILE = str(path)
    sso.forget_configuration()
    client = Client()
    response = client.get(reverse("accounts:sso_start", args=[orgs[0].code]))
    sso.forget_configuration()
    assert_refused(response, client, sso.Reason.UNREACHABLE, "cannot be reached")


def test_the_provider_of_one_organisation_cannot_sign_in_a_member_of_another(configured, orgs):
    configured.scenario(acr="urn:test:mfa", sub="person-b")
    sign_in(Client(), orgs[1])  # the person's own organisation: created there
    client = Client()
    response = sign_in(client, orgs[0])
    assert_refused(response, client, sso.Reason.OTHER_ORGANISATION, "its own organisation")
    user = ExternalIdentity.objects.get(subject="person-b").user
    assert not Membership.objects.filter(user=user, organisation=orgs[0]).exists()


def test_an_account_with_a_role_elsewhere_is_not_signed_in_by_the_provider(configured, orgs):
    configured.scenario(acr="urn:test:mfa")
    sign_in(Client(), orgs[0])
    user = ExternalIdentity.objects.get(subject="person-1").user
    Membership.objects.create(user=user, organisation=orgs[1], role=Role.SECURITY_LIAISON)
    client = Client()
    assert_refused(
        sign_in(client, orgs[0]), client, sso.Reason.OTHER_ORGANISATION, "its own organisation"
    )


def test_a_local_name_is_never_taken_over(configured, orgs):
    make_user(f"kim@{orgs[0].code}", orgs[0], Role.SECURITY_LIAISON)
    configured.scenario(acr="urn:test:mfa")
    client = Client()
    assert_refused(sign_in(client, orgs[0]), client, sso.Reason.USERNAME_TAKEN, "already exists")


def test_local_accounts_still_sign_in_with_a_password(configured, personas):
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": "partner", "password": PASSWORD})
    assert response.status_code == 302 and signed_in(client)


def test_an_sso_account_cannot_sign_in_with_a_password(configured, orgs):
    configured.scenario(acr="urn:test:mfa")
    sign_in(Client(), orgs[0])
    client = Client()
    client.post(reverse("accounts:login"), {"username": f"kim@{orgs[0].code}", "password": ""})
    assert not signed_in(client)


# --- confirm it is you -------------------------------------------------------------------


def reauth_through_provider(client: Client, next_url: str):
    response = client.get(f"{reverse('accounts:reauth')}?next={next_url}")
    assert response.status_code == 200
    assert "Confirm with" in response.content.decode()
    response = client.get(f"{reverse('accounts:sso_reauth')}?next={next_url}")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    return back(client, at_provider(response["Location"]))


def test_confirm_it_is_you_through_the_provider(configured, orgs):
    configured.scenario(acr="urn:test:mfa")
    client = Client()
    sign_in(client, orgs[0])
    profile = reverse("accounts:profile")
    response = client.post(profile, {"form": "token", "name": "script"})
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:reauth")
    )
    response = reauth_through_provider(client, profile)
    assert response.status_code == 302 and response["Location"] == profile
    response = client.post(profile, {"form": "token", "name": "script"})
    assert response.status_code == 200 and "cb_" in response.content.decode()


def test_confirm_it_is_you_needs_a_fresh_authentication_at_the_provider(configured, orgs):
    configured.scenario(acr="urn:test:mfa")
    client = Client()
    sign_in(client, orgs[0])
    configured.scenario(acr="urn:test:mfa", auth_age=3600)  # the provider did not ask again
    response = reauth_through_provider(client, "/")
    assert response.status_code == 403 and refusals(sso.Reason.NOT_FRESH) == 1
    assert signed_in(client)  # still signed in, only not confirmed
    response = client.post(reverse("accounts:profile"), {"form": "token", "name": "script"})
    assert response["Location"].startswith(reverse("accounts:reauth"))


def test_confirm_it_is_you_by_another_person_is_refused(configured, orgs):
    configured.scenario(acr="urn:test:mfa")
    client = Client()
    sign_in(client, orgs[0])
    configured.scenario(acr="urn:test:mfa", sub="person-2")
    response = reauth_through_provider(client, "/")
    assert response.status_code == 403 and refusals(sso.Reason.OTHER_PERSON) == 1


def test_confirm_it_is_you_without_provider_mfa_asks_for_the_code(configured, orgs):
    configured.scenario(amr=["pwd"])
    client = Client()
    sign_in(client, orgs[0])
    user = User.objects.get(username=f"kim@{orgs[0].code}")
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    client.post(
        reverse("accounts:two_factor_verify"), {"code": code_for(device.bin_key), "next": "/"}
    )
    response = reauth_through_provider(client, "/")
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:reauth")
    )
    response = client.get(response["Location"])
    assert "Enter the code of your authenticator app" in response.content.decode()
    response = client.post(
        reverse("accounts:reauth"),
        {"code": code_for(device.bin_key, steps_ahead=1), "next": "/"},
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert (
        client.post(reverse("accounts:profile"), {"form": "token", "name": "script"}).status_code
        == 200
    )


def test_the_providers_file_is_checked_with_clear_errors(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("CB_TEST_SSO_SECRET", "x")
    text = providers_file("http://idp.example", ["org"])
    with pytest.raises(ImproperlyConfigured, match="issuer must be an https"):
        sso.parse_providers(text.replace("allow_http = true\n", ""))
    with pytest.raises(ImproperlyConfigured, match="not one of"):
        sso.parse_providers(text.replace('"coordinator"', '"guest"'))
    monkeypatch.delenv("CB_TEST_SSO_SECRET")
    with pytest.raises(ImproperlyConfigured, match="CB_TEST_SSO_SECRET"):
        sso.parse_providers(text)


def test_refusals_are_audited_with_codes_only(configured, orgs):
    configured.scenario(acr="urn:test:mfa", aud="another-client", sub="secret-subject")
    sign_in(Client(), orgs[0])
    event = AuditEvent.objects.get(action="accounts.sso.refuse")
    assert event.details == {"organisation": orgs[0].pk, "reason": sso.Reason.INVALID_TOKEN}
    assert event.actor is None and "secret-subject" not in str(event.__dict__)


def test_signing_out_ends_the_session(configured, orgs):
    configured.scenario(acr="urn:test:mfa")
    client = Client()
    sign_in(client, orgs[0])
    assert signed_in(client)
    client.post(reverse("accounts:logout"))
    assert not signed_in(client)
    assert client.get(reverse("home")).status_code == 302


def test_profile_and_administrator_see_the_single_sign_on(configured, orgs, personas):
    configured.scenario(acr="urn:test:mfa")
    client = Client()
    sign_in(client, orgs[0])
    response = client.get(reverse("accounts:profile"))
    assert "casebridge keeps no password for you" in response.content.decode()
    assert client.get(reverse("accounts:password_change"))["Location"] == reverse(
        "accounts:profile"
    )
    user = User.objects.get(username=f"kim@{orgs[0].code}")
    response = personas.client(personas.admin).get(reverse("accounts:admin_user", args=[user.pk]))
    assert "Signs in with the identity provider of" in response.content.decode()


def test_a_broken_providers_file_fails_the_system_check(settings, tmp_path):
    path = tmp_path / "sso.toml"
    path.write_text('[[provider]]\norganisation = "x"\n', encoding="utf-8")
    settings.SSO_FILE = str(path)
    sso.forget_configuration()
    try:
        errors = sso.check_configuration()
    finally:
        sso.forget_configuration()
    assert [error.id for error in errors] == ["casebridge.sso.E001"]
    assert "issuer" in errors[0].msg
