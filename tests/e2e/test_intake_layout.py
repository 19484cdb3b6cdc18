"""The intake during a live call (issue 18), in a real browser: on a wide screen the local
partners and the first analysis stand beside the form and stay in view while the
counsellor types further down; the partner responsible for the region stands out, the
others are folded away; the keyboard reaches "Save contact" from the first field; on a
narrow screen everything stacks."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.steps import sign_in


def _intake(browser, live_server, width: int):
    context = browser.new_context(
        locale="en-GB", base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, "hotline")
    page.get_by_role("link", name="Intake").click()
    return context, page


def test_wide_screen_keeps_partners_and_first_analysis_in_view(browser, live_server, e2e_personas):
    context, page = _intake(browser, live_server, 1600)
    page.get_by_label("Caller's postcode").fill("20095")
    covers = page.locator("#suggestions li.covers").first
    expect(covers).to_contain_text("covers Hamburg")
    # the ones not responsible for Hamburg are folded away
    others = page.locator("#suggestions details.other-partners")
    if others.count():
        expect(others).not_to_have_attribute("open", "")
        expect(others.locator("li").first).to_be_hidden()
    form_box = page.locator("#id_summary").bounding_box()
    beside = page.locator(".intake-beside")
    beside_box = beside.bounding_box()
    assert beside_box["x"] > form_box["x"] + form_box["width"], (beside_box, form_box)
    # typing further down, the partners and the first analysis stay in view
    page.get_by_label("Next steps").scroll_into_view_if_needed()
    page.get_by_label("Next steps").fill("Rückruf am Freitag.")
    expect(page.locator("#suggestions-heading")).to_be_in_viewport()
    expect(page.locator("#first-analysis > legend")).to_be_in_viewport()
    # the keyboard goes from the first field to "Save contact"
    page.locator("#id_channel").focus()
    for _step in range(250):
        if page.evaluate("document.activeElement && document.activeElement.id") == "save-contact":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "save-contact"
    context.close()


def test_narrow_screen_stacks(browser, live_server, e2e_personas):
    context, page = _intake(browser, live_server, 600)
    form_box = page.locator("#id_summary").bounding_box()
    beside_box = page.locator(".intake-beside").bounding_box()
    assert beside_box["x"] < form_box["x"] + 50 and beside_box["y"] < form_box["y"]
    context.close()
