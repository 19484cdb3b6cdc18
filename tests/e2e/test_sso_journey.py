"""Single sign-on in a real browser (issue 21): a police liaison signs in with the
police's own identity provider (a test provider in its own process), is not asked for
casebridge's code because the provider checked a second factor, confirms it is them
through the provider to create an API token, and signs out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from casebridge.accounts import sso
from tests.accounts import oidc_provider
from tests.builders import organisation_of_type
from tests.e2e.steps import axe_violations

CLIENT_ID = "casebridge-browser"
CLIENT_SECRET = "browser-test-secret-0123456789"


@pytest.fixture
def police_provider(network, settings, tmp_path, monkeypatch):
    police = organisation_of_type("police_liaison_unit", "DE-HH")
    with oidc_provider.running(CLIENT_ID, CLIENT_SECRET) as provider:
        path = tmp_path / "sso.toml"
        path.write_text(
            oidc_provider.providers_file(provider.url, [police.code], client_id=CLIENT_ID),
            encoding="utf-8",
        )
        monkeypatch.setenv("CB_TEST_SSO_SECRET", CLIENT_SECRET)
        settings.SSO_FILE = str(path)
        sso.forget_configuration()
        yield provider, police
        sso.forget_configuration()


def test_sign_in_with_the_organisations_provider_and_confirm_there(
    browser, live_server, police_provider
):
    provider, police = police_provider
    provider.scenario(
        acr="urn:test:mfa",
        claims={
            "groups": ["liaison"],
            "preferred_username": "kim",
            "given_name": "Kim",
            "family_name": "Berger",
            "locale": "en",
        },
    )
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto("/accounts/login/")
    assert axe_violations(page) == []
    page.get_by_role("link", name=f"Sign in with {police.name}").click()
    # to the provider and back: signed in, no code of casebridge's asked
    expect(page).not_to_have_url(re.compile(r"/accounts/(login|two-factor|sso)/"))
    expect(page.get_by_text("Kim Berger").first).to_be_visible()

    # a new API token needs "Confirm it is you": through the provider
    page.goto("/accounts/profile/")
    page.get_by_label("Name").fill("script")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    assert axe_violations(page) == []
    page.get_by_role("link", name=re.compile(r"^Confirm with ")).click()
    expect(page).to_have_url(re.compile(r"/accounts/profile/"))
    page.get_by_label("Name").fill("script")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("body")).to_contain_text("cb_")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    # a refusal is a page in the user's language that says what happened
    provider.scenario(acr="urn:test:mfa", exp_offset=-3600)
    page.get_by_role("link", name=f"Sign in with {police.name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in refused")
    expect(page.get_by_role("alert")).to_contain_text("could not be verified")
    assert axe_violations(page) == []
    context.close()
