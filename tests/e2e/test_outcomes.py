"""Issue 20 in a real browser: the lead judges the case at intake and at closure, asks
about follow-up at closure; the police liaison in the same case sees none of it."""

from __future__ import annotations

from playwright.sync_api import expect

from casebridge.cases import services as case_services
from casebridge.outcomes.models import Assessment
from tests.builders import term
from tests.e2e.steps import case_with_police, sign_in

RATIONALE = "Spricht offen über Zweifel an der Gruppe; Kontakt zur Szene seltener."


def _judge(page, occasion: str, levels: dict[str, str]) -> None:
    page.get_by_text("Record an assessment").click()
    page.get_by_label("Occasion").select_option(label=occasion)
    for dimension, level in levels.items():
        page.get_by_label(dimension).select_option(label=level)
    page.get_by_label("Rationale").fill(RATIONALE)
    page.get_by_role("button", name="Record the assessment").click()
    expect(page.locator(".messages")).to_contain_text("Saved.")


def test_the_lead_follows_the_course_and_asks_about_follow_up(browser, live_server, e2e_personas):
    partner, police = e2e_personas.partner, e2e_personas.police
    case = case_with_police(partner, police)
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, partner.username)
    page.goto(f"/cases/{case.pk}/?section=outcomes")
    expect(page.get_by_text("No outcome assessment yet.")).to_be_visible()
    _judge(page, "intake", {"Disengagement from violence": "Ambivalent about violence"})
    table = page.locator("section[aria-labelledby=outcomes-heading] table").first
    expect(table).to_contain_text("Ambivalent about violence")

    # without a rationale: refused, the field named, nothing saved
    page.get_by_text("Record an assessment").click()
    page.get_by_label("Rationale").fill("")
    page.get_by_role("button", name="Record the assessment").click()
    expect(page.locator(".has-error").get_by_label("Rationale")).to_be_visible()
    assert Assessment.objects.count() == 1

    case_services.case_close(
        actor=partner, case=case, closing_reason=term("case_closing_reason", "goals_reached")
    )
    page.goto(f"/cases/{case.pk}/?section=outcomes")
    _judge(page, "closure", {"Disengagement from violence": "Mostly rejects violence"})
    expect(page.locator("section[aria-labelledby=outcomes-heading] table").first).to_contain_text(
        "Mostly rejects violence"
    )
    page.get_by_label("Yes: schedule the follow-ups").check()
    page.get_by_label("How the person was asked and answered").fill("Im Abschlussgespräch: ja.")
    page.get_by_role("button", name="Record the answer").click()
    expect(page.get_by_text("The person agreed to be contacted after the closure.")).to_be_visible()
    expect(page.get_by_role("cell", name="planned")).to_have_count(2)
    context.close()

    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, police.username)
    page.goto(f"/cases/{case.pk}/?section=outcomes")
    expect(page.get_by_text("No outcome assessment yet.")).to_be_visible()
    expect(page.get_by_text(RATIONALE)).to_have_count(0)
    expect(page.get_by_text("Record an assessment")).to_have_count(0)  # no counselling scope
    context.close()
