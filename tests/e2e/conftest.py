"""Browser tests: Playwright drives Debian's Chromium against a live server.

Without /usr/bin/chromium the tests are skipped, except where CASEBRIDGE_REQUIRE_BROWSER
is set (as .ci/run does): then a missing browser fails the run.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from casebridge.cases import services as case_services
from casebridge.cooperation_models.models import Term
from casebridge.ops.model_load import model_load
from tests.conftest import PASSWORD, Personas, build_personas
from tests.totp import code_for, key_of

CHROMIUM = os.environ.get("CASEBRIDGE_CHROMIUM", "/usr/bin/chromium")
# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the
# tests themselves are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CASEBRIDGE_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="de-DE", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def network(transactional_db, germany_spec):
    """The German model in a database the live server shares.

    Transactional tests empty the tables afterwards; that is why tests/conftest.py runs
    the browser tests last, and why each of them loads the model again here.
    """
    model_load(spec=germany_spec)


@pytest.fixture
def e2e_personas(network) -> Personas:
    return build_personas()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the English pages; give the second factor where the account needs
    one (set up an authenticator on first sign-in, else enter its current code)."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    if "/accounts/two-factor/verify/" in page.url:
        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        page.get_by_label("Code from your authenticator app, or a backup code").fill(
            code_for(device.bin_key)
        )
        page.get_by_role("button", name="Verify").click()
    elif "/accounts/two-factor/" in page.url:
        secret = page.locator("#totp-secret").inner_text()
        page.get_by_label("Code").fill(code_for(key_of(secret)))
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your backup codes")
        page.get_by_role("link", name="Continue").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/(login|two-factor)/"))


def confirm_it_is_you(page, username: str, password: str = PASSWORD) -> None:
    """Fill the "Confirm it is you" page (a code a step ahead: the sign-in used this one)."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    page.get_by_label("Password").fill(password)
    device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
    if device is not None:
        page.get_by_label("Code from your authenticator app, or a backup code").fill(
            code_for(device.bin_key, steps_ahead=1)
        )
    page.get_by_role("button", name="Confirm").click()


def case_with_police(partner, police, **identity):
    """A case owned by the partner's organisation (pseudonym "A.", optional identity) with
    the police liaison seated by the service, as the browser tests start from."""
    case = case_services.case_open(
        actor=partner,
        owner=partner.memberships.get().organisation,
        pseudonym="A.",
        **({"identity": identity} if identity else {}),
    )
    case_services.participant_add(
        actor=partner,
        case=case,
        organisation=police.memberships.get().organisation,
        role=Term.objects.get(kind="case_role", code="police_liaison"),
        members=[police],
    )
    return case
