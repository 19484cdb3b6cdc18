"""A case moves from Hamburg to Rotterdam through the pages (issue 22), in a real browser.

Two installations as tests/robustness/federation.py builds them, each with its own
gunicorn, database and keys: the Hamburg counsellor proposes the handover on the case's
federation page, the Rotterdam counsellor finds the request on /federation/ and accepts
it, the Hamburg counsellor sends the case's information, and the Rotterdam counsellor
opens the new case with the person's identity and only the named categories. Every page
of the journey passes axe.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import axe_violations
from tests.robustness.federation import PASSWORD, federated_pair
from tests.totp import code_for, key_of

pytestmark = pytest.mark.slow

CASE = """
from datetime import date
from casebridge.cases import services as case_services
from casebridge.cooperation_models.models import Term
case = case_services.case_open(
    actor=me, owner=Organisation.objects.get(code="hafenlicht-hamburg"), pseudonym="M.",
    identity={"first_name": "Mara", "last_name": "Beispiel", "date_of_birth": "2005-07-09"},
)
for category, title, text in [
    ("case_coordination", "Plan", "Weekly talks with the family."),
    ("counselling", "Talk", "Counselling content that stays in Hamburg."),
]:
    case_services.entry_create(actor=me, case=case, data=case_services.EntryData(
        kind="note", category=Term.objects.of("information_category").get(code=category),
        title=title, text=text, occurred_on=date(2026, 11, 2)))
result = case.pk
"""


@pytest.fixture
def pair(browser, tmp_path):
    with federated_pair(tmp_path) as found:
        yield found


class User:
    """A counsellor in one installation's browser context; the authenticator secret of
    their first sign-in answers "Confirm it is you" later."""

    def __init__(self, browser, side):
        self.username = side.spec.counsellor
        self.context = browser.new_context(locale="en-GB", base_url=side.url)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.secret = None

    def sign_in(self) -> None:
        page = self.page
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(self.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        if "/accounts/two-factor/" in page.url:
            self.secret = page.locator("#totp-secret").inner_text()
            page.get_by_label("Code").fill(code_for(key_of(self.secret)))
            page.get_by_role("button", name="Confirm").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Your backup codes")
            page.get_by_role("link", name="Continue").click()
        expect(page).not_to_have_url(re.compile(r"/accounts/(login|two-factor)/"))

    def submit(self, fill_and_click) -> None:
        """Fill and submit a form guarded by "Confirm it is you": confirm when asked (a
        code a step ahead: the sign-in used this one) and submit again."""
        fill_and_click()
        heading = self.page.get_by_role("heading", level=1)
        if heading.inner_text() == "Confirm it is you":
            assert axe_violations(self.page) == []
            self.page.get_by_label("Password").fill(PASSWORD)
            if self.secret:
                self.page.get_by_label("Code from your authenticator app, or a backup code").fill(
                    code_for(key_of(self.secret), steps_ahead=1)
                )
            self.page.get_by_role("button", name="Confirm").click()
            expect(heading).not_to_have_text("Confirm it is you")
            fill_and_click()


def test_a_case_moves_from_hamburg_to_rotterdam_through_the_pages(browser, pair):
    case = pair.a.act(CASE)
    hamburg, rotterdam = User(browser, pair.a), User(browser, pair.b)

    # Hamburg proposes the handover on the case's federation page
    hamburg.sign_in()
    page = hamburg.page
    page.goto(f"/federation/cases/{case}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("partner installations")
    assert axe_violations(page) == []
    section = page.locator("section", has=page.get_by_role("heading", name=re.compile("Hand the")))

    def propose():
        agreement = section.get_by_label("Agreement")
        if agreement.evaluate("e => e.tagName") == "SELECT":
            agreement.select_option(index=agreement.locator("option").count() - 1)
        section.get_by_label("Postcode where the person now lives").fill("3011 AB")
        section.get_by_label("Language of counselling").fill("nl")
        section.get_by_label("Reason for the handover").fill("The family moved to Rotterdam.")
        section.get_by_role("checkbox", name="Identity data").check()
        section.get_by_role("checkbox", name="Case coordination").check()
        section.get_by_label("How the person consented").fill("Agreed on 3 December.")
        section.get_by_role("button", name="Propose the handover").click()

    hamburg.submit(propose)
    expect(page.locator("#handover-status")).to_contain_text("requested")
    handover_a = page.url
    assert axe_violations(page) == []

    # Rotterdam finds the request on /federation/ and accepts it at its NGO
    rotterdam.sign_in()
    other = rotterdam.page
    other.goto("/federation/")
    waiting = other.locator(
        "section", has=other.get_by_role("heading", name="Handovers waiting for your answer")
    )
    expect(waiting).to_contain_text("M.")
    assert axe_violations(other) == []
    waiting.get_by_role("link").first.click()
    expect(other.locator("#handover-status")).to_contain_text("requested")
    assert axe_violations(other) == []
    expect(other.get_by_label("Your organisation that takes the case over")).to_contain_text(
        "Stichting Perspectief Rotterdam"
    )
    rotterdam.submit(lambda: other.get_by_role("button", name="Accept the case").click())
    expect(other.locator("#handover-status")).to_contain_text("ccepted")

    # Hamburg sees the acceptance and sends what was named; the case closes there
    page.goto(handover_a)
    expect(page.locator("#handover-status")).to_contain_text("ccepted")
    hamburg.submit(lambda: page.locator("#disclose-handover").click())
    page.goto(handover_a)
    expect(page.locator("#handover-status")).to_contain_text("ompleted")
    assert axe_violations(page) == []

    # Rotterdam opens the new case: the identity and the coordination entry, nothing else
    other.reload()
    expect(other.locator("#handover-status")).to_contain_text("ompleted")
    other.locator("dt:text-is('Case here') + dd a").click()
    expect(other.locator("body")).to_contain_text("Weekly talks with the family.")
    expect(other.locator("body")).not_to_contain_text("stays in Hamburg")
    assert axe_violations(other) == []
    other.get_by_role("link", name="People and participants").click()
    expect(other.locator("main")).to_contain_text("Beispiel")
    expect(other.locator("main")).to_contain_text("Mara")
    assert axe_violations(other) == []

    for user in (hamburg, rotterdam):
        user.context.close()
