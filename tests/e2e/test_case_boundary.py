"""A police liaison opens a case in a real browser and finds the counselling notes nowhere:
not on the page, not in search, not in the API, not in the export."""

from __future__ import annotations

from playwright.sync_api import expect

from casebridge.cases import services
from casebridge.cooperation_models.models import Term
from tests.e2e.steps import case_with_police, confirm_it_is_you, sign_in

SECRET = "Vertrauliche Beratung über Zweifel an der Gruppe"


def _category(code):
    return Term.objects.get(kind="information_category", code=code)


def test_police_finds_counselling_notes_nowhere(browser, live_server, e2e_personas):
    partner, police = e2e_personas.partner, e2e_personas.police
    case = case_with_police(partner, police)
    services.entry_create(
        actor=partner,
        case=case,
        data=services.EntryData(
            kind="session", category=_category("counselling"), title="Sitzung 3", text=SECRET
        ),
    )
    services.entry_create(
        actor=partner,
        case=case,
        data=services.EntryData(
            kind="note",
            category=_category("case_coordination"),
            title="Konferenz am Montag",
            text="Ort: LKA",
        ),
    )

    context = browser.new_context(locale="en-GB", base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, "police")  # sets up the authenticator: the police need a second factor
    page.get_by_role("link", name="Cases").click()
    page.get_by_role("link", name=case.number).click()

    expect(page.get_by_text("Konferenz am Montag")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(SECRET)
    expect(page.locator("body")).not_to_contain_text("Sitzung 3")

    page.get_by_role("link", name="Cases").click()
    page.get_by_label("Words in entries you may read").fill("Zweifel")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-results")).to_contain_text("Nothing found.")

    api = page.request.get(f"/api/v1/cases/{case.pk}/entries")
    assert api.ok
    assert SECRET not in api.text()
    assert "Konferenz am Montag" in api.text()

    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name="Export what you may read (CSV)").click()
    with page.expect_download() as download:
        confirm_it_is_you(page, "police")
    exported = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    assert "Konferenz am Montag" in exported
    assert SECRET not in exported and "Sitzung 3" not in exported
    context.close()
