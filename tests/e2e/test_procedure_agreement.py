"""A procedure changes by agreement in a real browser (issue 19): the coordinator drafts a
new rule, replays the past year through it and sees what would have been different, names
who signs; the NGO partner, the police liaison and the legal reviewer sign the exact text;
the coordinator puts it into force today; and the new obligation appears in a live case."""

from __future__ import annotations

from playwright.sync_api import expect

from casebridge.sharing import services as sharing_services
from tests.builders import org
from tests.e2e.steps import axe_violations, case_with_police, confirm_it_is_you, sign_in

PARTIES = ("ngo_counselling_partner", "police_liaison_unit")
RULE_LABEL = "Travel: inform the police within 24 hours"


def _login(browser, live_server, username):
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, username)
    return context, page


def _press(page, username: str, button: str) -> None:
    """Press a button of an action that needs "Confirm it is you", confirming if asked."""
    page.get_by_role("button", name=button).click()
    if "/accounts/confirm/" in page.url:
        confirm_it_is_you(page, username)
        page.get_by_role("button", name=button).click()


def test_a_procedure_is_drafted_replayed_signed_and_put_into_force(
    browser, live_server, e2e_personas
):
    partner, police, dpo = e2e_personas.partner, e2e_personas.police, e2e_personas.dpo
    case = case_with_police(partner, police)
    # last month: travel plans were recorded; the procedure in force only allows informing
    sharing_services.event_record(actor=partner, case=case, code="travel_to_conflict_zone")

    # 1. The coordinator starts a draft from the version in force and names the parties.
    context, page = _login(browser, live_server, "coordinator")
    page.get_by_role("link", name="Procedures").click()
    page.get_by_label("New version").fill("2027.1")
    page.get_by_role("button", name="Start the draft").click()
    expect(page.locator(".messages")).to_contain_text("Draft started")
    detail = page.url
    page.get_by_role("link", name="Edit name, version, date and parties").click()
    for box in page.locator("input[name=parties]").all():
        if box.get_attribute("value") in PARTIES:
            box.check()
        else:
            box.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("The draft was saved.")

    # 2. A new rule in the model's words; a contradiction is refused at the rule first.
    page.get_by_role("link", name="Add a rule").click()
    found = axe_violations(page)
    page.get_by_label("Code").fill("travel-police-24h")
    page.get_by_label("When (event)").select_option("travel_to_conflict_zone")
    page.get_by_label("Obligation").select_option("must_inform")
    page.get_by_label("Recipient").select_option("role:police_liaison")
    page.locator("input[name=categories][value=counselling]").check()
    page.locator("select[name=deadline_kind]").select_option("within_hours")
    page.get_by_label("Number of hours or days").fill("24")
    page.get_by_label("Legal basis").select_option("justifying_emergency")
    page.get_by_label("Name (en)").fill(RULE_LABEL)
    page.get_by_label("Name (de)").fill("Ausreise: Polizei binnen 24 Stunden informieren")
    expect(page.locator("#live-check")).to_contain_text("forbids sharing")  # before saving
    page.get_by_role("button", name="Save the rule").click()
    expect(page.locator(".errorlist, .message.error").first).to_contain_text("forbids sharing")
    page.locator("input[name=categories][value=counselling]").uncheck()
    page.locator("input[name=categories][value=case_coordination]").check()
    page.get_by_role("button", name="Save the rule").click()
    expect(page.locator(".messages")).to_contain_text("Rule travel-police-24h saved.")
    expect(page.locator("#rule-travel-police-24h")).to_contain_text("within 24 hours")

    # 3. The replay: last year's travel plans would have created an obligation.
    page.get_by_role("link", name="Replay past events").click()
    page.get_by_role("button", name="Replay").click()
    row = page.locator("#replay tr", has_text="travel-police-24h")
    expect(row).to_contain_text("new in the draft")
    expect(row).to_contain_text("obligations that would have appeared")
    found += axe_violations(page)

    # 4. Who signs: the NGO partner, the police liaison, the DPO as legal reviewer.
    page.goto(detail)
    page.get_by_role("link", name="Name who signs").click()
    page.locator("select[name=party_ngo_counselling_partner]").select_option(
        f"{org(partner).pk}:{partner.pk}"
    )
    page.locator("select[name=party_police_liaison_unit]").select_option(
        f"{org(police).pk}:{police.pk}"
    )
    page.get_by_label("Legal reviewer").select_option(str(dpo.pk))
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("The signatories were named.")
    found += axe_violations(page)
    # the coordinator's session stays open: a second sign-in within the same 30 seconds
    # would offer the authenticator's code already used (and refused as a replay)
    coordinator_context, coordinator = context, page

    # 5. Each signs the text they read.
    for username in ("partner", "police", "dpo"):
        context, page = _login(browser, live_server, username)
        page.get_by_role("link", name="Procedures").click()
        expect(page.locator("table tr", has_text="2027.1")).to_contain_text("draft")
        page.goto(detail)
        expect(page.locator("#rule-travel-police-24h")).to_contain_text(RULE_LABEL)
        _press(page, username, "Sign this version")
        expect(page.locator(".messages")).to_contain_text("You signed this version.")
        context.close()

    # 6. The coordinator puts it into force today.
    coordinator.goto(detail)
    _press(coordinator, "coordinator", "Put into force")
    expect(coordinator.locator(".messages")).to_contain_text("The version is put into force.")
    expect(coordinator.locator("h1")).to_contain_text("in force")
    coordinator_context.close()

    # 7. In the live case, travel plans now create the obligation to inform the police.
    context, page = _login(browser, live_server, "partner")
    page.goto(f"/cases/{case.pk}/?section=procedure")
    page.get_by_text("Record an event").click()
    page.get_by_label("Event").select_option("travel_to_conflict_zone")
    page.get_by_role("button", name="Record event").click()
    expect(page.locator("tr.obligation", has_text=RULE_LABEL)).to_be_visible()
    context.close()
    assert not found, "\n".join(found)
