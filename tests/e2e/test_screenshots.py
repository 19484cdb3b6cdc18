"""Screenshots of the main screens for the user guide (issue 18), in German and English,
taken by the browser: the intake during a call, the case page as the NGO lead and as the
police liaison, the statistics overview and an error page. They are written to
docs/screens/ (or $CASEBRIDGE_SCREENSHOTS), which docs/user-guide.md links to."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect

from casebridge.accounts.models import User
from casebridge.cases import services
from casebridge.cooperation_models.models import Term
from casebridge.ops.volume import build
from tests.e2e.steps import case_with_police, sign_in

SCREENS = Path(
    os.environ.get(
        "CASEBRIDGE_SCREENSHOTS", Path(__file__).resolve().parents[2] / "docs" / "screens"
    )
)


def _shoot_as(browser, live_server, username: str, shots) -> None:
    """Sign in once (a second-factor code works once) and take ``shots`` — (language,
    address, file name, ready) — in the user's language of each."""
    context = browser.new_context(
        locale="en-GB", base_url=live_server.url, viewport={"width": 1440, "height": 960}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    User.objects.filter(username=username).update(language="en")  # the steps read English
    sign_in(page, username)
    SCREENS.mkdir(parents=True, exist_ok=True)
    for language, url, name, ready in shots:
        User.objects.filter(username=username).update(language=language)
        page.goto(url)
        ready(page)
        assert page.locator("html").get_attribute("lang") == language
        path = SCREENS / f"{name}-{language}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000, path
    context.close()


def test_the_main_screens_in_both_languages(browser, live_server, e2e_personas):
    partner, police = e2e_personas.partner, e2e_personas.police
    case = case_with_police(partner, police, first_name="Ali", last_name="Beispiel")
    for kind, category, title, text in (
        (
            "session",
            "counselling",
            "Gespräch mit A.",
            "Vertrauliche Beratung: Zweifel an der Gruppe.",
        ),
        (
            "note",
            "case_coordination",
            "Fallkonferenz geplant",
            "Termin im Mai mit Schule und Polizei.",
        ),
    ):
        services.entry_create(
            actor=partner,
            case=case,
            data=services.EntryData(
                kind=kind,
                category=Term.objects.get(kind="information_category", code=category),
                title=title,
                text=text,
            ),
        )
    build(contacts=300, cases=40, days=300, seed=2026, exact_callers=True)
    screens = [
        (
            "hotline",
            "/hotline/",
            "intake",
            lambda page: expect(page.locator("#intake-form")).to_be_visible(),
        ),
        (
            "partner",
            f"/cases/{case.pk}/",
            "case-lead",
            lambda page: expect(page.locator("#case-body")).to_be_visible(),
        ),
        (
            "police",
            f"/cases/{case.pk}/",
            "case-police",
            lambda page: expect(page.locator("#case-body")).to_be_visible(),
        ),
        (
            "coordinator",
            "/stats/",
            "statistics",
            lambda page: expect(page.locator("#overview-heading")).to_be_visible(),
        ),
        (
            "partner",
            "/cases/999999/",
            "error-404",
            lambda page: expect(page.locator("h1")).to_be_visible(),
        ),
    ]
    for username in dict.fromkeys(screen[0] for screen in screens):
        _shoot_as(
            browser,
            live_server,
            username,
            [
                (language, url, name, ready)
                for user, url, name, ready in screens
                if user == username
                for language in ("de", "en")
            ],
        )
