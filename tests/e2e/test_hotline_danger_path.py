"""The hotline's danger path of issue 17 in a real browser: a mother calls, the first
analysis finds a danger to others → the hotline's procedure asks to inform the Hamburg
police liaison unit → a counsellor prepares the disclosure, a coordinator of the hotline
sends it as the second person → the police liaison reads exactly what was passed on (not
the hotline's notes) and confirms receipt; the hotline sees the receipt."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.steps import confirm_it_is_you, sign_in

SUMMARY = "Mutter berichtet: Sohn hat Waffen gekauft und spricht von einem Anschlag."
EXCERPT = "Der Sohn (19) kündigt einen Anschlag auf die Moschee am Freitag an."


def _login(browser, live_server, username):
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, username)
    return context, page


def test_hotline_danger_path(browser, live_server, e2e_personas):
    # 1. The call: the first analysis finds a danger to others.
    context, page = _login(browser, live_server, "hotline")
    page.get_by_role("link", name="Intake").click()
    page.get_by_label("Caller category").select_option("parents_relatives")
    page.get_by_label("Caller's postcode").fill("20095")
    page.get_by_label("Age band").select_option("18_21")
    analysis = page.locator("#first-analysis")
    analysis.get_by_role("group", name="A specific person is named").get_by_label(
        "yes", exact=True
    ).check()
    analysis.get_by_role("group", name="Danger to others").get_by_label("yes", exact=True).check()
    analysis.get_by_role("group", name="Danger to self").get_by_label("no", exact=True).check()
    page.get_by_label("Summary").fill(SUMMARY)
    page.get_by_label("Clarification needed").check()
    page.get_by_role("button", name="Save contact").click()

    # 2. The contact's page shows what the procedure asks for, addressed by region.
    contact_page = page.url.split("#")[0]
    procedure = page.locator("#protocol")
    expect(procedure).to_contain_text("inform the police liaison unit")
    expect(procedure).to_contain_text("Landeskriminalamt Hamburg")
    procedure.get_by_role("link", name="Danger to others").click()
    confirm_it_is_you(page, "hotline")

    # 3. Prepare: without a second person nothing is saved; then with the coordinator.
    expect(page.get_by_text("Responsible for the person's region")).to_be_visible()
    page.get_by_label("What is passed on").fill(EXCERPT)
    page.get_by_label("Identifying details of the person of concern").fill("Max B., Elbstraße 5")
    page.get_by_label("Purpose").fill("Abwehr einer Gefahr für Leib und Leben")
    expect(page.get_by_label("Legal basis")).to_have_value("justifying_emergency")
    page.get_by_label("Written weighing").fill("Konkrete Ankündigung, Waffen vorhanden.")
    page.get_by_role("button", name="Ask the second person to approve").click()
    expect(page.locator(".errorlist")).to_contain_text("Name the second person of the hotline")
    page.get_by_label("Second person").select_option(
        label="Coordinator Persona · coordinator@example.org"
    )
    page.get_by_role("button", name="Ask the second person to approve").click()
    expect(page.locator(".messages")).to_contain_text("waits for the second person")
    context.close()

    # 4. The coordinator of the hotline sends it.
    context, page = _login(browser, live_server, "coordinator")
    page.get_by_role("link", name="Tasks").click()
    page.locator("#hotline-to-do a").first.click()
    expect(page.locator(".excerpt")).to_have_text(EXCERPT)
    page.get_by_role("button", name="Approve and send").click()
    confirm_it_is_you(page, "coordinator")
    page.get_by_role("button", name="Approve and send").click()
    expect(page.locator(".messages")).to_contain_text("Sent.")
    context.close()

    # 5. The police liaison of Hamburg reads exactly that, and confirms.
    context, page = _login(browser, live_server, "police")
    page.get_by_role("link", name="Tasks").click()
    page.locator("#hotline-received a").first.click()
    expect(page.locator(".excerpt")).to_have_text(EXCERPT)
    expect(page.locator("body")).not_to_contain_text(SUMMARY)
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.locator(".messages")).to_contain_text("Receipt confirmed.")
    context.close()

    # 6. The hotline sees the receipt on the contact's page.
    context, page = _login(browser, live_server, "hotline")
    page.goto(contact_page)
    expect(page.locator("#protocol")).to_contain_text("receipt confirmed")
    context.close()
