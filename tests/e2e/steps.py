"""What a browser test does as a user: sign in, confirm it is them, and the case it starts from."""

from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from casebridge.cases import services as case_services
from tests.builders import PASSWORD, org, role
from tests.totp import code_for, key_of


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
        owner=org(partner),
        pseudonym="A.",
        **({"identity": identity} if identity else {}),
    )
    case_services.participant_add(
        actor=partner,
        case=case,
        organisation=org(police),
        role=role("police_liaison"),
        members=[police],
    )
    return case


# --- accessibility: axe-core, bundled with axe-playwright-python (nothing downloaded) ---------

SEVERE = {"serious", "critical"}
_axe = Axe()


def axe_violations(page) -> list[str]:
    """The serious and critical violations axe finds on the page, one line each."""
    results = _axe.run(page)
    return [
        f"{page.url} [{v['impact']}] {v['id']}: "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in SEVERE
    ]
