"""Case pages through HTTP: constant queries, field errors, documents, exports."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from casebridge.cases.models import Case, Entry
from tests.builders import category, org

pytestmark = pytest.mark.django_db


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_case_page_queries_do_not_grow_with_entries(personas, world):
    client = personas.client(personas.partner)
    url = reverse("cases:case", args=[world.case.pk])
    Entry.objects.bulk_create(
        Entry(
            case=world.case,
            kind="note",
            category=category("case_coordination"),
            author=personas.partner,
            author_organisation=world.lead.organisation,
            title=f"Notiz {n}",
            text="…",
        )
        for n in range(6)
    )
    client.get(url)
    ten = _queries(client, url)
    Entry.objects.bulk_create(
        Entry(
            case=world.case,
            kind="note",
            category=category("counselling"),
            author=personas.partner,
            author_organisation=world.lead.organisation,
            title=f"Sitzung {n}",
            text="…",
        )
        for n in range(1990)
    )
    assert Entry.objects.filter(case=world.case).count() == 2000
    two_thousand = _queries(client, url)
    assert ten == two_thousand


def test_case_page_queries_do_not_grow_with_the_network(personas, world):
    """The lead's page offers every active organisation to join, each labelled with its
    type: one query for all of them, not one per organisation."""
    from casebridge.network.models import Organisation

    client = personas.client(personas.partner)
    url = reverse("cases:case", args=[world.case.pk])
    client.get(url)
    before = _queries(client, url)
    template = Organisation.objects.filter(active=True).first()
    for n in range(15):
        Organisation.objects.create(
            code=f"extra-{n}", name=f"Extra {n}", type=template.type, region=template.region
        )
    assert _queries(client, url) == before


def test_police_page_has_no_counselling_anywhere(personas, world):
    client = personas.client(personas.police)
    body = client.get(reverse("cases:case", args=[world.case.pk])).content.decode()
    assert "Lagebild" in body
    for secret in (
        "Vertrauliche Beratung",
        "Gespräch mit A.",
        "Beratungsinhalt im Protokoll",
        "Beispiel",
    ):
        assert secret not in body
    export = client.get(reverse("cases:export", args=[world.case.pk])).content.decode()
    assert "Lagebild" in export and "Vertrauliche" not in export
    api = client.get(f"/api/v1/cases/{world.case.pk}/entries").json()
    assert {e["title"] for e in api} == {"Lagebild", "Fallkonferenz geplant"}
    search = client.post(reverse("cases:list"), {"q": "Vertrauliche"})
    assert list(search.context["results"]) == []
    assert client.get(f"/api/v1/cases/entries/{world.counselling.pk}").status_code == 404


def test_open_a_case_from_an_accepted_referral(personas):
    from casebridge.hotline import services as hotline_services
    from tests.builders import term

    contact = hotline_services.contact_create(
        actor=personas.hotline,
        organisation=personas.hotline.memberships.get().organisation,
        values={
            "channel": "phone",
            "started_at": timezone.now(),
            "language": term("language", "de"),
            "caller_category": term("caller_category", "parents_relatives"),
            "contact_category": term("contact_category", "case"),
            "caller_postcode": "20095",
        },
        referral=hotline_services.ReferralRequest(
            partner=personas.partner.memberships.get().organisation, mode="anonymous"
        ),
    )
    referral = contact.referrals.get()
    hotline_services.referral_accept(actor=personas.partner, referral=referral)
    client = personas.client(personas.partner)
    page = client.get(reverse("cases:open") + f"?referral={referral.pk}")
    assert page.status_code == 200
    response = client.post(reverse("cases:open"), {"pseudonym": "B.", "referral": referral.pk})
    assert response.status_code == 302
    case = Case.objects.get(referral=referral)
    assert case.number.startswith(f"HH-{timezone.now().year}-")
    again = client.post(reverse("cases:open"), {"pseudonym": "B2", "referral": referral.pk})
    assert "already opened a case" in again.content.decode()


def test_entry_without_category_is_refused_on_the_field(personas, world):
    client = personas.client(personas.partner)
    before = Entry.objects.count()
    response = client.post(
        reverse("cases:entry_add", args=[world.case.pk]),
        {"kind": "note", "title": "ohne Kategorie"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 422
    assert "This field is required." in response.context["entry_form"].errors["category"]
    assert Entry.objects.count() == before


def test_unknown_scope_category_is_refused(personas, world):
    response = personas.client(personas.partner).post(
        f"/api/v1/cases/{world.case.pk}/participants/{world.police.pk}/scope",
        {"read": ["case_coordination", "horoscope"], "write": [], "reason": "x"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "read" in response.json()["fields"]


def test_participation_end_before_start_is_refused(personas, world):
    response = personas.client(personas.partner).post(
        f"/api/v1/cases/{world.case.pk}/participants",
        {
            "organisation_id": personas.partner_other.memberships.get().organisation_id,
            "role": "co_counselling",
            "members": [personas.partner_other.pk],
            "valid_until": "2001-01-01T00:00:00Z",
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "valid_until" in response.json()["fields"]


def test_documents_are_served_only_to_readers(personas, world):
    client = personas.client(personas.partner)
    upload = SimpleUploadedFile(
        "bericht.pdf", b"%PDF-1.4 vertraulich", content_type="application/pdf"
    )
    response = client.post(
        f"/api/v1/cases/{world.case.pk}/documents",
        {"category": "counselling", "title": "Bericht", "file": upload},
    )
    assert response.status_code == 201, response.content
    entry_id = response.json()["id"]
    download = client.get(reverse("cases:document", args=[entry_id]))
    assert b"".join(download.streaming_content) == b"%PDF-1.4 vertraulich"
    assert (
        personas.client(personas.police).get(reverse("cases:document", args=[entry_id])).status_code
        == 404
    )


def test_add_participant_in_pages_is_fast(personas, world):
    other = personas.partner_other.memberships.get().organisation
    response = personas.client(personas.partner).post(
        reverse("cases:participant_add", args=[world.case.pk]),
        {
            "organisation": other.pk,
            "role": "co_counselling",
            "members": [personas.partner_other.pk],
            "reason": "Zuzug nach Berlin",
        },
    )
    assert response.status_code == 302
    page = personas.client(personas.partner_other).get(reverse("cases:case", args=[world.case.pk]))
    assert page.status_code == 200
    assert "Gespräch mit A." in page.content.decode()  # co-counselling reads counselling


def test_duplicate_person_is_found_through_the_blind_index(personas, world):
    client = personas.client(personas.partner)
    data = {
        "pseudonym": "Zweitfall",
        "first_name": "ali",
        "last_name": "BEISPIEL",
        "date_of_birth": "2008-03-01",
    }
    response = client.post(reverse("cases:open"), data)
    assert response.status_code == 200
    assert response.context["duplicates"] == 1
    assert Case.objects.count() == 1
    confirmed = client.post(reverse("cases:open"), {**data, "confirm": "1"})
    assert confirmed.status_code == 302
    assert Case.objects.count() == 2
    other = personas.client(personas.partner_other).post(reverse("cases:open"), data)
    assert other.status_code == 302  # another organisation learns nothing about this person


def test_case_detail_api_records_no_identity_read_it_did_not_make(personas, world):
    from casebridge.audit.models import AuditEvent

    before = AuditEvent.objects.filter(action="cases.identity.view").count()
    assert (
        personas.client(personas.partner).get(f"/api/v1/cases/{world.case.pk}").status_code == 200
    )
    assert AuditEvent.objects.filter(action="cases.identity.view").count() == before
    personas.client(personas.partner).get(f"/api/v1/cases/{world.case.pk}/identity")
    assert AuditEvent.objects.filter(action="cases.identity.view").count() == before + 1


def test_recording_an_entry_accesses_the_case_once(personas, world):
    from casebridge.audit.models import AuditEvent

    before = AuditEvent.objects.filter(action="cases.case.view").count()
    personas.client(personas.partner).post(
        reverse("cases:entry_add", args=[world.case.pk]),
        {"entry-kind": "note", "entry-category": "case_coordination", "entry-title": "Kurz"},
    )
    assert AuditEvent.objects.filter(action="cases.case.view").count() == before + 1
    assert Entry.objects.filter(case=world.case, title="Kurz").exists()


def test_the_case_list_pages_by_fifty_and_leaves_identity_unread(personas, world):
    from casebridge.cases import services
    from casebridge.cases.models import Case
    from casebridge.cases.selectors import my_cases_page
    from tests.builders import org

    for n in range(2):
        services.case_open(actor=personas.partner, owner=org(personas.partner), pseudonym=f"B{n}")
    newest_first = list(
        Case.objects.filter(participants__members=personas.partner)
        .order_by("-opened_at", "-pk")
        .values_list("pk", flat=True)
    )
    first = my_cases_page(personas.partner, per_page=2)
    second = my_cases_page(personas.partner, page=2, per_page=2)
    assert [c.pk for c in first.object_list] + [c.pk for c in second.object_list] == newest_first
    response = personas.client(personas.partner).get(reverse("cases:list"))
    page = response.context["page"]
    assert page.paginator.per_page == 50
    assert set(Case.IDENTITY_FIELDS) <= page.object_list[0].get_deferred_fields()
    assert "Beispiel" not in response.content.decode()  # the world's surname


def test_people_of_the_same_name_can_be_told_apart_in_the_pickers(personas, world):
    """Issue 18: the named-people pickers showed display names only."""
    from tests.builders import make_user

    twin = make_user("twin", org(personas.partner), "partner_counsellor")
    twin.first_name, twin.last_name = personas.partner.first_name, personas.partner.last_name
    twin.save()
    page = personas.client(personas.partner).get(
        reverse("cases:participant_members", args=[world.case.pk]),
        {"organisation": org(personas.partner).pk},
    )
    text = page.content.decode()
    assert "Partner Persona · partner@example.org" in text
    assert "Partner Persona · twin@example.org" in text


def test_new_since_your_last_visit(personas, world):
    """Issue 18: entries others recorded since the reader last opened the case are marked;
    a section swapped in keeps the marks of its visit; one's own entries are not new."""
    from datetime import timedelta

    from casebridge.cases.models import CaseVisit
    from tests.builders import entry

    police = personas.client(personas.police)
    url = reverse("cases:case", args=[world.case.pk])
    Entry.objects.update(created_at=timezone.now() - timedelta(hours=3))  # the case's past
    first = police.get(url).content.decode()
    assert 'id="new-since"' not in first and 'class="badge new"' not in first
    # time passes; the lead records a coordination note, the police one of their own
    CaseVisit.objects.filter(user=personas.police).update(
        seen_at=timezone.now() - timedelta(hours=2)
    )
    entry(personas.partner, world.case, "case_coordination", "Neuer Termin", "Dienstag 10 Uhr")
    entry(personas.police, world.case, "security", "Eigene Notiz", "Keine Änderung")
    page = police.get(url).content.decode()
    assert "1 new entry by others since your last visit" in page
    new_part = page.split('class="badge new"')
    assert len(new_part) == 2 and "Neuer Termin" in new_part[1].split("</li>")[0]
    # a section swapped in by htmx keeps the marks of this visit
    swapped = police.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="case-body").content.decode()
    assert "1 new entry by others since your last visit" in swapped
    # the next visit has seen it
    again = police.get(url).content.decode()
    assert "0 new entries by others since your last visit" in again
    assert 'class="badge new"' not in again
    # an entry the reader may not read is never counted
    Entry.objects.update(created_at=timezone.now() - timedelta(hours=3))
    entry(personas.partner, world.case, "counselling", "Beratung", "Vertraulich")
    CaseVisit.objects.filter(user=personas.police).update(
        seen_at=timezone.now() - timedelta(hours=1)
    )
    assert "0 new entries by others" in police.get(url).content.decode()


def test_the_documents_section_lists_only_what_the_reader_may_read(personas, world):
    """Issue 18: the case's documents in a section of their own, as the scope allows."""
    from django.core.files.uploadedfile import SimpleUploadedFile as Upload

    from casebridge.cases import services

    for code, title in (("counselling", "Beratungsbericht"), ("case_coordination", "Hilfeplan")):
        services.entry_create(
            actor=personas.partner,
            case=world.case,
            data=services.EntryData(
                kind="document",
                category=category(code),
                title=title,
                document=Upload(f"{code}.txt", b"inhalt"),
            ),
        )
    url = reverse("cases:case", args=[world.case.pk]) + "?section=documents"
    lead = personas.client(personas.partner).get(url).content.decode()
    assert "Beratungsbericht" in lead and "Hilfeplan" in lead
    police = personas.client(personas.police).get(url).content.decode()
    assert "Hilfeplan" in police and "Beratungsbericht" not in police


def test_the_overview_shows_the_case_at_a_glance_within_the_scope(personas, world):
    """Issue 18: an overview section — participants, what is new, goals, conferences,
    documents and the latest entries — with only what the reader's scope allows."""
    url = reverse("cases:case", args=[world.case.pk]) + "?section=overview"
    lead = personas.client(personas.partner).get(url).content.decode()
    assert 'id="case-overview"' in lead
    assert "Gespräch mit A." in lead and "Fallkonferenz" in lead
    police = personas.client(personas.police).get(url).content.decode()
    assert "Fallkonferenz geplant" in police and "Gespräch mit A." not in police
    assert "Einschätzung" not in police
