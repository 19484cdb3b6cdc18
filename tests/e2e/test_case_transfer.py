"""A case moves to another organisation in a real browser (issue 17, flow 3): the lead
proposes the transfer under "Phase and closing", the receiving partner finds it under
Tasks, sees no content before it accepts and the whole case after; the sender reads on
during the handover period, and its access ends with it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from casebridge.cases import services
from casebridge.cases.models import Participant, Transfer
from casebridge.cooperation_models.models import Term
from tests.builders import org
from tests.e2e.steps import axe_violations as _violations
from tests.e2e.steps import case_with_police, sign_in

SECRET = "Vertrauliche Beratung über den Umzug der Familie"
REASON = "Die Familie ist nach Berlin gezogen."


def _login(browser, live_server, username):
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, username)
    return context, page


def test_a_case_moves_to_another_organisation(browser, live_server, e2e_personas):
    partner, police, other = e2e_personas.partner, e2e_personas.police, e2e_personas.partner_other
    case = case_with_police(partner, police, first_name="Ali", last_name="Beispiel")
    services.entry_create(
        actor=partner,
        case=case,
        data=services.EntryData(
            kind="session",
            category=Term.objects.get(kind="information_category", code="counselling"),
            title="Sitzung",
            text=SECRET,
        ),
    )
    receiving = org(other)

    # 1. The lead proposes the transfer, on the person's consent.
    context, page = _login(browser, live_server, "partner")
    page.goto(f"/cases/{case.pk}/?section=closing")
    page.get_by_text("Propose a transfer").click()
    form = page.locator("form[action$='/transfer/']")
    form.get_by_label("Receiving organisation").select_option(str(receiving.pk))
    form.get_by_label("Where the person now lives").select_option("DE-BE")
    form.get_by_label("Reason for the transfer").fill(REASON)
    form.get_by_label("How the person consented").fill("Schriftlich am 3. Mai.")
    expect(form.get_by_label("Handover period (days)")).to_have_value("14")
    form.get_by_role("button", name="Propose the transfer").click()
    expect(page.locator("#open-transfer")).to_contain_text(receiving.name)
    context.close()

    # 2. The receiving partner finds it under Tasks and decides on what it needs to know.
    context, page = _login(browser, live_server, "partner_other")
    page.get_by_role("link", name="Tasks").click()
    page.get_by_role(
        "link", name="1 case offered to your organisation waits for its decision"
    ).click()
    found = _violations(page)  # the list, then the decision page: accessible too
    row = page.locator("#incoming-transfers tbody tr", has_text=case.number)
    expect(row).to_contain_text(REASON)
    expect(row).to_contain_text("Berlin")
    row.get_by_role("link", name=case.number).click()
    found += _violations(page)
    assert not found, "\n".join(found)
    expect(page.locator("body")).not_to_contain_text(SECRET)
    expect(page.locator("body")).not_to_contain_text("Beispiel")
    assert page.goto(f"/cases/{case.pk}/").status == 404  # no seat before the decision
    page.go_back()
    expect(page.get_by_label("New lead worker")).to_have_value(str(other.pk))
    page.get_by_role("button", name="Accept the case").click()
    expect(page.locator(".messages")).to_contain_text(f"now leads case {case.number}")
    expect(page.locator("body")).to_contain_text(SECRET)  # the timeline, now its own to read
    expect(page.locator(".case-header")).to_contain_text(f"led by {receiving.name}")
    context.close()

    # 3. The sender reads on during the handover, no longer as the lead.
    context, page = _login(browser, live_server, "partner")
    page.goto(f"/cases/{case.pk}/")
    expect(page.locator(".case-header")).to_contain_text(f"led by {receiving.name}")
    expect(page.locator("nav.case-sections")).not_to_contain_text("Phase and closing")
    # 4. The handover period has passed: the sender's seat has ended by itself.
    transfer = Transfer.objects.get(case=case)
    seat = Participant.objects.get(pk=transfer.from_participant_id)
    assert seat.valid_until - timezone.now() > timedelta(days=13)
    seat.valid_until = timezone.now() - timedelta(seconds=1)
    seat.save(update_fields=["valid_until"])
    assert page.goto(f"/cases/{case.pk}/").status == 404
    page.goto("/cases/")
    expect(page.locator("main")).not_to_contain_text(case.number)
    context.close()
