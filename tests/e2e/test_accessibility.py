"""Accessibility: axe-core (bundled with axe-playwright-python, nothing downloaded) on every
page of each role's navigation, a case page and the sign-in page, in German and English —
no serious or critical violation."""

from __future__ import annotations

import pytest

from casebridge.accounts.models import User
from casebridge.cases import services
from casebridge.cooperation_models.models import Term
from tests.e2e.steps import axe_violations as _violations
from tests.e2e.steps import case_with_police, sign_in


def _case_for(personas):
    partner, police = personas.partner, personas.police
    case = case_with_police(partner, police, first_name="Ali", last_name="Beispiel")
    services.entry_create(
        actor=partner,
        case=case,
        data=services.EntryData(
            kind="note",
            category=Term.objects.get(kind="information_category", code="case_coordination"),
            title="Plan",
            text="Termine",
        ),
    )
    return case


def _hotline_disclosures(personas):
    """A danger still to prepare, and one sent to the Hamburg police liaison."""
    from casebridge.sharing import services as sharing_services
    from casebridge.sharing.models import ContactDisclosure
    from tests.builders import make_contact

    found = []
    for postcode in ("20095", "20097"):
        contact = make_contact(
            personas, caller_postcode=postcode, first_analysis={"danger_to_others": "yes"}
        )
        found.append(ContactDisclosure.objects.get(contact=contact))
    to_do, sent = found
    sharing_services.contact_disclosure_prepare(
        actor=personas.hotline,
        disclosure=sent,
        recipient=sent.recipient,
        excerpt="Ankündigung einer Tat.",
        purpose="Gefahrenabwehr",
        legal_basis=Term.objects.get(kind="legal_basis", code="justifying_emergency"),
        justification="Gegenwärtige Gefahr.",
        approver=personas.coordinator,
    )
    sharing_services.contact_disclosure_decide(
        actor=personas.coordinator, disclosure=sent, approve=True
    )
    return to_do, sent


def _procedure_pages(personas, persona):
    """A draft of the German procedure the partner is named to sign (issue 19): its page,
    and for the coordinator the forms that change it, the replay and the difference."""
    from django.utils import timezone

    from casebridge.sharing.models import Protocol
    from tests.procedures.drafts import draft_with_signatories

    active = Protocol.objects.get(code="de-default", status="active")
    draft = draft_with_signatories(personas)
    base = f"/sop/protocols/{draft.pk}/"
    if persona == "partner":
        return [base]
    today = timezone.localdate().isoformat()
    return [
        base,
        f"{base}edit/",
        f"{base}rules/new/",
        f"{base}rules/child-welfare/",
        f"{base}signatories/",
        f"{base}replay/?start={today}&end={today}",
        f"/sop/protocols/compare/?old={active.pk}&new={draft.pk}",
        "/sop/protocols/new/",
        "/sop/protocols/import/",
    ]


def test_sign_in_page_in_both_languages(browser, live_server):
    found = []
    for locale in ("de-DE", "en-GB"):
        context = browser.new_context(locale=locale, base_url=live_server.url)
        page = context.new_page()
        page.goto("/accounts/login/")
        assert page.locator("html").get_attribute("lang") == locale[:2]
        found += _violations(page)
        context.close()
    assert not found, "\n".join(found)


@pytest.mark.parametrize("persona", ["hotline", "partner", "police", "coordinator", "dpo", "admin"])
def test_every_page_of_the_role_in_both_languages(browser, live_server, e2e_personas, persona):
    case = _case_for(e2e_personas)
    user = getattr(e2e_personas, persona)
    context = browser.new_context(locale="en-GB", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, user.username)
    links = page.locator("nav[aria-label] a")
    urls = sorted({links.nth(i).get_attribute("href") for i in range(links.count())})
    if persona in ("hotline", "police"):
        to_do, sent = _hotline_disclosures(e2e_personas)
        urls += [f"/sop/hotline-disclosures/{sent.pk}/", "/sop/from-the-hotline/"]
        if persona == "hotline":
            urls += [
                f"/hotline/contacts/{to_do.contact_id}/",
                f"/sop/hotline-disclosures/{to_do.pk}/",
            ]
    if persona == "partner":
        urls.append("/network/organisations/propose/")
    if persona == "coordinator":
        urls.append("/network/meetings/new/")  # the invitees' list (issue 18: no name)
        urls.append("/training/scenarios/prison-release/review/")  # reviews a scenario
        urls.append("/stats/partnership/")  # partnership health, linked from the statistics
    if persona in ("coordinator", "partner"):
        urls += _procedure_pages(e2e_personas, persona)
    if persona in ("partner", "police"):
        urls.append(f"/cases/{case.pk}/")
        urls += [
            f"/cases/{case.pk}/?section={section}"
            for section in (
                "overview",
                "people",
                "documents",
                "procedure",
                "goals",
                "outcomes",
                "conferences",
                "closing",
            )
        ]
    assert len(urls) >= 4, urls
    found = []
    for language in ("en", "de"):
        User.objects.filter(pk=user.pk).update(language=language)
        for url in urls:
            response = page.goto(url)
            assert response.status == 200, (url, response.status)
            assert page.locator("html").get_attribute("lang") == language
            found += _violations(page)
    context.close()
    assert not found, "\n".join(found)


def test_the_invitation_page_in_both_languages(browser, live_server, e2e_personas):
    """The one page besides the sign-in that opens without an account."""
    import re
    from datetime import timedelta

    from django.core import mail
    from django.utils import timezone

    from casebridge.cases.services import invitation_create
    from casebridge.network.models import Organisation

    case = _case_for(e2e_personas)
    mail.outbox.clear()
    invitation_create(
        actor=e2e_personas.partner,
        case=case,
        organisation=Organisation.objects.get(code="psychotherapie-lindenhof-bremen"),
        role=Term.objects.get(kind="case_role", code="health_care"),
        name="Dr. Hanna Lindner",
        email="lindner@example.org",
        until=timezone.localdate() + timedelta(days=30),
        link=f"{live_server.url}/cases/invitation/",
    )
    found = []
    for locale in ("de-DE", "en-GB"):
        context = browser.new_context(locale=locale, base_url=live_server.url)
        page = context.new_page()
        body = mail.outbox[-1].body if mail.outbox else ""
        token = re.search(r"/cases/invitation/([A-Za-z0-9_-]+)/", body)
        # the mail is sent on commit; the live server's transaction has committed it
        assert token, body
        page.goto(f"/cases/invitation/{token.group(1)}/")
        assert page.locator("html").get_attribute("lang") == locale[:2]
        found += _violations(page)
        context.close()
    assert not found, "\n".join(found)


def test_the_check_finds_a_violation(browser):
    """The checker itself: an image without alternative text and an unlabelled field."""
    page = browser.new_page()
    page.set_content('<html lang="en"><body><main><img src="x.png"><input></main></body></html>')
    found = _violations(page)
    page.close()
    assert any("image-alt" in line for line in found)
    assert any("label" in line for line in found)
