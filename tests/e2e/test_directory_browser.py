"""A real browser: log in, switch the language, browse and search the directory."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.builders import PASSWORD


def test_login_switch_language_and_browse_the_directory(page, e2e_personas):
    e2e_personas.hotline.language = "de"
    e2e_personas.hotline.save(update_fields=["language"])
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    # Keyboard only: type, tab, type, enter.
    page.get_by_label("Benutzername").fill("hotline")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Willkommen")

    page.get_by_label("Sprache").select_option("en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_role("link", name="Directory").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Network directory")
    page.get_by_label("Federal state").select_option("DE-HH")
    rows = page.locator("#results tbody tr")
    expect(rows.first).to_contain_text("Hamburg")
    page.get_by_label("Search").fill("Hafenlicht")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Coverage")).to_be_visible()
    expect(page.get_by_role("heading", name="Contact points")).to_be_visible()

    page.get_by_label("Language").select_option("de")
    expect(page.get_by_role("heading", name="Zuständigkeitsgebiet")).to_be_visible()


def test_wrong_password_shows_a_message(page, e2e_personas):
    page.goto("/accounts/login/")
    page.get_by_label("Benutzername").fill("hotline")
    page.get_by_label("Passwort").fill("wrong")
    page.get_by_role("button", name="Anmelden").click()
    expect(page.locator("form.login-form")).to_contain_text("Benutzername")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
