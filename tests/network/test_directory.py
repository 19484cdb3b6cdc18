"""Browsing, searching and managing the network directory, in pages and through the API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casebridge.audit.models import AuditEvent
from casebridge.network.models import ContactPoint, Organisation, OrganisationType

pytestmark = pytest.mark.django_db


def test_directory_lists_the_network(personas):
    response = personas.client(personas.police).get(reverse("network:organisations"))
    assert response.status_code == 200
    names = [o.name for o in response.context["page"]]
    assert Organisation.objects.get(is_hotline=True).name in names


def test_directory_filters_by_state_and_service(personas):
    client = personas.client(personas.hotline)
    response = client.get(
        reverse("network:organisations"), {"region": "DE-HH", "service": "family_counselling"}
    )
    organisations = list(response.context["page"])
    assert organisations
    for organisation in organisations:
        covered = {c.region.code for c in organisation.coverages.all()}
        assert organisation.region.code == "DE-HH" or "DE-HH" in covered
        assert organisation.coverages.filter(services__code="family_counselling").exists()


def test_directory_htmx_request_gets_only_the_rows(personas):
    response = personas.client(personas.hotline).get(
        reverse("network:organisations"), {"q": "Hamburg"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<table>" in body
    assert "<html" not in body


def test_directory_pages_take_a_constant_number_of_queries(personas):
    client = personas.client(personas.hotline)
    client.get(reverse("network:organisations"))  # warm the session
    with CaptureQueriesContext(connection) as all_rows:
        client.get(reverse("network:organisations"))
    with CaptureQueriesContext(connection) as few_rows:
        client.get(reverse("network:organisations"), {"type": "prison"})
    assert len(all_rows) == len(few_rows)


def test_organisation_detail_is_constant_in_queries(personas):
    organisation = Organisation.objects.get(is_hotline=True)
    client = personas.client(personas.hotline)
    client.get(reverse("network:organisation", args=[organisation.pk]))
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("network:organisation", args=[organisation.pk]))
    for number in range(5):
        ContactPoint.objects.create(organisation=organisation, function=f"f{number}", name="N")
    with CaptureQueriesContext(connection) as after:
        client.get(reverse("network:organisation", args=[organisation.pk]))
    assert len(before) == len(after)


def test_page_in_english_and_german(personas):
    client = personas.client(personas.hotline)
    client.post(reverse("set_language"), {"language": "en", "next": "/network/organisations/"})
    assert "Network directory" in client.get(reverse("network:organisations")).content.decode()
    client.post(reverse("set_language"), {"language": "de", "next": "/"})
    assert "Netzwerkverzeichnis" in client.get(reverse("network:organisations")).content.decode()
    personas.hotline.refresh_from_db()
    assert personas.hotline.language == "de"


def test_language_switch_refuses_foreign_redirects(personas):
    response = personas.client(personas.hotline).post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_pages_with_personal_data_are_not_cached(personas):
    response = personas.client(personas.hotline).get(reverse("network:organisations"))
    assert response["Cache-Control"] == "no-store"


def test_contact_points_search_and_vacancies(personas):
    police_station = Organisation.objects.filter(type__code="police_station").first()
    ContactPoint.objects.create(
        organisation=police_station, function="P/CVE", person=personas.police
    )
    personas.police.is_active = False
    personas.police.save()
    client = personas.client(personas.coordinator)
    response = client.get(reverse("network:contact_points"), {"vacant": "on"})
    vacant = list(response.context["page"])
    assert any(point.person_id == personas.police.pk for point in vacant)
    assert all(point.is_vacant for point in vacant)


def test_member_names_contact_point_for_own_organisation(personas):
    organisation = personas.partner.memberships.get().organisation
    client = personas.client(personas.partner)
    response = client.post(
        reverse("network:contact_point_create", args=[organisation.pk]),
        {"function": "Fallannahme", "person": personas.partner.pk},
    )
    assert response.status_code == 302
    point = ContactPoint.objects.get(organisation=organisation, function="Fallannahme")
    assert AuditEvent.objects.filter(
        action="network.contact_point.create", object_id=str(point.pk)
    ).exists()


def test_contact_point_needs_a_person_or_a_name(personas):
    organisation = personas.partner.memberships.get().organisation
    response = personas.client(personas.partner).post(
        reverse("network:contact_point_create", args=[organisation.pk]),
        {"function": "Fallannahme"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert response.context["form"].errors["person"] == ["Choose a person or enter a name."]
    assert not ContactPoint.objects.filter(function="Fallannahme").exists()


def test_outsider_cannot_name_contact_points_of_another_organisation(personas):
    other = personas.partner_other.memberships.get().organisation
    response = personas.client(personas.partner).post(
        reverse("network:contact_point_create", args=[other.pk]), {"function": "x", "name": "y"}
    )
    assert response.status_code == 403
    api = personas.client(personas.partner).post(
        f"/api/v1/organisations/{other.pk}/contact-points",
        {"function": "x", "name": "y"},
        content_type="application/json",
    )
    assert api.status_code == 403
    assert not ContactPoint.objects.filter(function="x").exists()


def test_administrator_adds_an_organisation_in_pages(personas):
    school = OrganisationType.objects.get(code="school")
    response = personas.client(personas.admin).post(
        reverse("network:admin_organisation_new"),
        {
            "name": "Gesamtschule Altona",
            "type": school.pk,
            "governance": "state",
            "postcode": "22765",
            "city": "Hamburg",
            "active": "on",
        },
    )
    assert response.status_code == 302
    organisation = Organisation.objects.get(name="Gesamtschule Altona")
    assert organisation.region.code == "DE-HH"
    assert organisation.latitude is not None


def test_unknown_postcode_is_refused_on_the_field(personas):
    school = OrganisationType.objects.get(code="school")
    response = personas.client(personas.admin).post(
        reverse("network:admin_organisation_new"),
        {
            "name": "Nowhere School",
            "type": school.pk,
            "governance": "state",
            "postcode": "00000",
            "city": "X",
            "active": "on",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Unknown postcode" in response.context["form"].errors["postcode"][0]
    assert not Organisation.objects.filter(name="Nowhere School").exists()


def test_non_administrators_cannot_manage_organisations(personas):
    for persona in (personas.hotline, personas.police, personas.coordinator, personas.dpo):
        client = personas.client(persona)
        assert client.get(reverse("network:admin_organisations")).status_code == 403
        assert client.get(reverse("network:admin_organisation_new")).status_code == 403


# --- API -----------------------------------------------------------------------------


def test_api_lists_and_filters_organisations(personas):
    client = personas.client(personas.hotline)
    body = client.get("/api/v1/organisations", {"region": "DE-BY", "limit": 100}).json()
    assert body["count"] >= 1
    assert all(item["active"] for item in body["items"])


def test_api_unknown_region_filter_names_the_field(personas):
    response = personas.client(personas.hotline).get("/api/v1/organisations", {"region": "DE-XX"})
    assert response.status_code == 422
    assert "region" in response.json()["fields"]


def test_api_organisation_detail_and_404(personas):
    client = personas.client(personas.police)
    organisation = Organisation.objects.get(is_hotline=True)
    body = client.get(f"/api/v1/organisations/{organisation.pk}").json()
    assert body["is_hotline"] is True
    assert client.get("/api/v1/organisations/999999").status_code == 404


def test_api_resolves_postcodes(personas):
    client = personas.client(personas.hotline)
    body = client.get("/api/v1/regions/resolve", {"postcode": "20095"}).json()
    assert body["state"]["code"] == "DE-HH"
    response = client.get("/api/v1/regions/resolve", {"postcode": "2009x"})
    assert response.status_code == 422
    assert "postcode" in response.json()["fields"]


def test_api_vocabularies_come_from_the_model(personas):
    client = personas.client(personas.hotline)
    callers = client.get("/api/v1/vocabularies/caller_category").json()
    assert callers[0]["code"] == "parents_relatives"
    assert len(callers) == 7
    legal = {c["code"]: c for c in client.get("/api/v1/vocabularies/legal_basis").json()}
    assert legal["duty_to_report"]["attributes"]["citation"].startswith("§")
    assert client.get("/api/v1/vocabularies/unknown").status_code == 422


def test_api_administrator_creates_and_updates_an_organisation(personas):
    client = personas.client(personas.admin)
    response = client.post(
        "/api/v1/organisations",
        {
            "name": "Jugendamt Musterkreis",
            "type": "youth_welfare_office",
            "governance": "state",
            "postcode": "80331",
            "city": "München",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["region"] == "DE-BY"
    patched = client.patch(
        f"/api/v1/organisations/{created['id']}",
        {"postcode": "20095"},
        content_type="application/json",
    ).json()
    assert patched["region"] == "DE-HH"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "no_such_type"}, "type"),
        ({"postcode": "99999"}, "postcode"),
        ({"governance": "private"}, "governance"),
        ({"name": ""}, "name"),
    ],
)
def test_api_bad_organisation_input_names_the_field_and_saves_nothing(personas, payload, field):
    body = {
        "name": "Bad Org",
        "type": "school",
        "governance": "state",
        "postcode": "20095",
        "city": "Hamburg",
        **payload,
    }
    before = Organisation.objects.count()
    response = personas.client(personas.admin).post(
        "/api/v1/organisations", body, content_type="application/json"
    )
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert Organisation.objects.count() == before


def test_api_non_administrator_cannot_create_organisations(personas):
    response = personas.client(personas.coordinator).post(
        "/api/v1/organisations",
        {"name": "X", "type": "school", "governance": "state", "postcode": "20095", "city": "H"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not Organisation.objects.filter(name="X").exists()


def test_openapi_document_and_docs_are_served(personas):
    client = personas.client(personas.hotline)
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/organisations" in spec["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_session_api_writes_need_csrf(personas):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.partner)
    response = client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    assert response.status_code in (401, 403)
