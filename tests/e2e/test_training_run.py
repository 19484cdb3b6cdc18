"""One full role-play run in a real browser: start a scenario, take a role, answer both
events (one right, one wrong), read the explanation, finish and read the debrief."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.builders import PASSWORD


def test_a_full_role_play_run(browser, live_server, e2e_personas):
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("partner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Training").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Role-play training")
    page.get_by_role("button", name="Start a run of “The worried mother”").click()
    page.get_by_label("Your role").select_option("counsellor")
    page.get_by_role("button", name="Join").click()

    # Event 1: nobody is informed — right.
    expect(page.get_by_role("heading", name="Event 1: First analysis on the phone")).to_be_visible()
    page.get_by_label("Nobody needs to be informed at this event").check()
    page.get_by_role("button", name="Submit the answer").click()
    expect(page.locator("#event-1")).to_contain_text("Your answer matches the procedure.")

    # Event 2: telling the police about the conversion — wrong, and explained.
    flow = page.get_by_role("group", name="Flow 1")
    flow.get_by_label("Who is informed").select_option("role:police_liaison")
    flow.get_by_label("Obligation").select_option("must_inform")
    flow.get_by_label("Counselling content").check()
    flow.get_by_label("Legal basis").select_option("consent_gdpr")
    flow.get_by_label("By when").select_option("within_days:7")
    page.get_by_role("button", name="Submit the answer").click()
    event = page.locator("#event-2")
    expect(event).to_contain_text("1 difference")
    expect(event).to_contain_text("forbids sharing Counselling content with Police liaison")

    page.get_by_role("button", name="Finish the run and open the debrief").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Debrief: The worried mother")
    expect(page.locator("#debrief-1")).to_contain_text("Matches the procedure.")
    expect(page.locator("#debrief-2")).to_contain_text(
        "shared only with consent or on a legal basis"
    )
    context.close()
