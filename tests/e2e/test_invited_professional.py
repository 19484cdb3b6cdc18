"""An outside professional in a real browser (issue 17, flow 4): the lead invites a
psychotherapist to the case → the link from the mail leads to a password → the first
sign-in sets up the second factor → the case is there, and in it no counselling content;
the link does not work a second time."""

from __future__ import annotations

import re

from django.core import mail
from playwright.sync_api import expect

from tests.e2e.steps import case_with_police, sign_in

SECRET = "Vertrauliche Beratung über die Familie"
PASSWORD = "ein-langes-Passwort-2026"


def test_invite_accept_sign_in_and_see_one_case(browser, live_server, e2e_personas):
    from casebridge.cases import services
    from casebridge.cooperation_models.models import Term

    partner, police = e2e_personas.partner, e2e_personas.police
    case = case_with_police(partner, police)
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

    # 1. The lead invites on the case page.
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, "partner")
    page.goto(f"/cases/{case.pk}/?section=people")
    page.get_by_text("Invite an outside professional to this case").click()
    form = page.locator("form[action$='/invitations/']")
    form.get_by_label("Their organisation").select_option(
        label="Psychotherapeutische Ambulanz Lindenhof (fiktiv)"
    )
    form.get_by_label("Role in the case").select_option(label="Health care")
    form.get_by_label("Name").fill("Dr. Hanna Lindner")
    form.get_by_label("E-mail").fill("lindner@example.org")
    mail.outbox.clear()
    form.get_by_role("button", name="Send the invitation").click()
    expect(page.locator("#invitations")).to_contain_text("Dr. Hanna Lindner")
    context.close()
    link = re.search(r"https?://\S+/cases/invitation/\S+/", mail.outbox[-1].body).group(0)

    # 2. The professional follows the link, chooses a password, signs in with a new second
    # factor and finds the case.
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(link)
    page.get_by_label("Username").fill("lindner")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my access").click()
    expect(page.locator(".messages")).to_contain_text("Your account is ready")
    sign_in(page, "lindner", PASSWORD)  # sets up the authenticator on the way
    page.get_by_role("link", name="Cases").click()
    page.get_by_role("link", name=case.number).click()
    sections = page.locator("nav.case-sections a")
    for i in range(sections.count()):
        sections.nth(i).click()
        expect(page.locator("body")).not_to_contain_text(SECRET)
    # nothing of the network around the case
    nav = page.get_by_role("navigation", name="Main navigation").inner_text()
    for other in ("Meetings", "Lessons learned", "Statistics", "Referrals"):
        assert other not in nav
    context.close()

    # 3. The link works once.
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("used already")
    context.close()
