"""The path of issue 5 in a real browser: an NGO counsellor records a risk judgement 'very
likely, imminent' → an obligation to inform the police liaison appears → a disclosure citing
§ 138 StGB is approved by a second person → the police liaison sees exactly that excerpt and
nothing else of the case's counselling notes."""

from __future__ import annotations

from playwright.sync_api import expect

from casebridge.cases import services
from casebridge.cooperation_models.models import Term
from tests.builders import make_user
from tests.e2e.steps import case_with_police, confirm_it_is_you, sign_in

SECRET = "Vertrauliche Beratung über die Familie"
EXCERPT = "A. kündigte an, am Samstag vor der Synagoge zuzuschlagen."


def _login(browser, live_server, username):
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, username)
    return context, page


def test_duty_to_report_path(browser, live_server, e2e_personas):
    partner, police = e2e_personas.partner, e2e_personas.police
    organisation = partner.memberships.get().organisation
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
    colleague = make_user("colleague", organisation, "partner_counsellor")
    case.participants.get(organisation=organisation).members.add(colleague)

    # 1. The counsellor records the judgement in the page.
    context, page = _login(browser, live_server, "partner")
    page.goto(f"/cases/{case.pk}/")
    page.get_by_text("Record an entry").click()
    form = page.locator("form[action$='/entries/']")
    form.get_by_label("Kind").select_option("risk")
    form.get_by_label("Information category").select_option("risk_assessment")
    form.get_by_label("Title").fill("Einschätzung nach Gespräch 4")
    form.get_by_label("Text (for a risk judgement: the rationale)").fill("Konkrete Tatankündigung.")
    form.get_by_label("Likelihood").select_option("very_likely")
    form.get_by_label("Imminence").select_option("imminent")
    form.get_by_role("button", name="Save entry").click()

    # 2. The obligation appears, addressed to the police liaison; the case's header says
    # there is one open and leads to the section with the procedure.
    expect(page.locator("#open-obligations")).to_contain_text("open obligation")
    page.locator("#open-obligations a").click()
    obligation = page.locator("tr.obligation", has_text="§ 138")
    expect(obligation).to_contain_text("Landeskriminalamt")
    obligation.get_by_role("link", name="Meet it by a disclosure").click()
    confirm_it_is_you(page, "partner")

    # 3. The disclosure cites § 138 StGB and carries only an excerpt.
    page.get_by_label("Or an excerpt (only what the recipient needs)").fill(EXCERPT)
    page.get_by_label("Category of the excerpt").select_option("risk_assessment")
    page.get_by_label("Purpose").fill("Abwendung einer geplanten Tat")
    expect(page.get_by_label("Legal basis")).to_have_value("duty_to_report")
    page.get_by_label("Written justification (without consent)").fill(
        "§ 138 StGB: geplante schwere Tat."
    )
    page.get_by_role("button", name="Disclose").click()
    expect(page.locator(".messages")).to_contain_text("waits for a second person's approval")
    context.close()

    # 4. A second person approves.
    context, page = _login(browser, live_server, "colleague")
    page.get_by_role("link", name="Tasks").click()
    page.get_by_role("button", name="Approve").click()
    # Deciding on a disclosure needs a fresh confirmation; then the decision is made again.
    expect(page.locator(".messages")).to_contain_text("submit the form again")
    confirm_it_is_you(page, "colleague")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".messages")).to_contain_text("Approved.")
    context.close()

    # 5. The police liaison sees exactly the excerpt and nothing else of the counselling.
    context, page = _login(browser, live_server, "police")
    page.goto(f"/cases/{case.pk}/")
    expect(page.locator(".disclosed .excerpt")).to_have_text(EXCERPT)
    sections = page.locator("nav.case-sections a")
    names = [sections.nth(i).inner_text().strip() for i in range(sections.count())]
    assert len(names) >= 5, names
    for name in names:  # every section, switched in place by htmx
        expect(page.locator("body")).not_to_contain_text(SECRET)
        if name == names[0]:
            continue  # shown already
        page.locator("nav.case-sections").get_by_role("link", name=name).click()
        expect(page.locator("nav.case-sections a[aria-current=page]")).to_have_text(name)
        expect(page.locator("body")).not_to_contain_text(SECRET)
        expect(page.locator("body")).not_to_contain_text("Konkrete Tatankündigung")
    assert "section=" in page.url  # the address follows the section (bookmark, back)
    context.close()
