"""The hotline journey in a real browser: intake → suggestion → referral → partner accepts."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.builders import PASSWORD


def login(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def test_intake_suggestion_referral_and_acceptance(browser, live_server, e2e_personas):
    hotline = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = hotline.new_page()
    page.set_default_timeout(10_000)
    login(page, "hotline")
    page.get_by_role("link", name="Intake").click()
    expect(page.locator("#call-timer")).to_have_text(re.compile(r"^\d+:\d\d$"))

    # Keyboard first: the channel has focus; the rest is filled as a counsellor would type.
    page.get_by_label("Caller category").select_option("parents_relatives")
    page.get_by_label("Relation to the person").select_option("mother")
    page.get_by_label("Caller's postcode").fill("20095")
    suggestion = page.locator("#suggestions li").first
    expect(suggestion).to_contain_text("covers Hamburg")
    page.get_by_label("Age band").select_option("14_17")
    page.get_by_label("Summary").fill("Mother worried about her son's withdrawal.")
    page.get_by_label("Clarification needed").check()
    suggestion.get_by_role("radio").check()
    page.get_by_label("anonymous: the caller contacts the partner").check()
    page.get_by_label("Message to the partner").fill("The mother will call you this week.")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator(".messages")).to_contain_text("Contact saved: HL-")
    reference = page.locator(".messages a").inner_text()
    hotline.close()

    partner = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = partner.new_page()
    page.set_default_timeout(10_000)
    login(page, "partner")
    page.get_by_role("link", name="Referrals").click()
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_text("The mother will call you this week.")).to_be_visible()
    expect(page.get_by_text("Mother worried")).to_have_count(
        0
    )  # the hotline's own notes stay there
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("p strong")).to_have_text("accepted")
    expect(page.locator("ol.history")).to_contain_text("accepted")
    partner.close()
