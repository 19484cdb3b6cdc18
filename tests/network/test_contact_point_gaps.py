"""Continuity of staff: contact points whose person has left are flagged, and coordinators
see the organisations that name nobody."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from casebridge.network.models import ContactPoint, Organisation

pytestmark = pytest.mark.django_db


def _police_point(personas):
    organisation = personas.police.memberships.get().organisation
    return ContactPoint.objects.create(
        organisation=organisation, function="P/CVE contact", person=personas.police
    )


def test_a_point_whose_person_left_is_flagged_and_listed_as_a_gap(personas):
    point = _police_point(personas)
    coordinator = personas.client(personas.coordinator)
    gaps = coordinator.get(reverse("network:contact_point_gaps")).context["gaps"]
    assert point not in gaps.departed
    assert point.organisation not in gaps.organisations_without

    membership = personas.police.memberships.get()
    membership.valid_from = timezone.now() - timedelta(days=30)
    membership.valid_until = timezone.now() - timedelta(days=1)
    membership.save(update_fields=["valid_from", "valid_until"])

    gaps = coordinator.get(reverse("network:contact_point_gaps")).context["gaps"]
    assert [p.pk for p in gaps.departed] == [point.pk]
    assert point.organisation in gaps.organisations_without
    listing = coordinator.get(reverse("network:contact_points"), {"vacant": "on"})
    assert "person has left" in listing.content.decode()
    assert point in list(listing.context["page"])


def test_organisations_without_a_point_by_type(personas):
    coordinator = personas.client(personas.coordinator)
    response = coordinator.get(reverse("network:contact_point_gaps"), {"type": "prison"})
    without = response.context["gaps"].organisations_without
    prisons = set(Organisation.objects.filter(active=True, type__code="prison"))
    assert set(without) == prisons
    prison = next(iter(prisons))
    ContactPoint.objects.create(
        organisation=prison, function="Prevention officer", name="Duty desk"
    )
    response = coordinator.get(reverse("network:contact_point_gaps"), {"type": "prison"})
    assert prison not in response.context["gaps"].organisations_without


def test_only_coordinators_and_administrators_see_the_gaps(personas):
    for user, status in [
        (personas.partner, 403),
        (personas.police, 403),
        (personas.admin, 200),
        (personas.coordinator, 200),
    ]:
        assert (
            personas.client(user).get(reverse("network:contact_point_gaps")).status_code == status
        )
    assert personas.client(personas.partner).get("/api/v1/contact-points/gaps").status_code == 403


def test_gaps_through_the_api(personas):
    point = _police_point(personas)
    personas.police.is_active = False
    personas.police.save(update_fields=["is_active"])
    body = personas.client(personas.coordinator).get("/api/v1/contact-points/gaps").json()
    assert [p["id"] for p in body["departed"]] == [point.pk]
    assert point.organisation_id in {o["id"] for o in body["organisations_without"]}


def test_search_by_place_and_type(personas):
    _police_point(personas)
    client = personas.client(personas.hotline)
    found = client.get(
        reverse("network:contact_points"), {"q": "Hamburg", "type": "police_liaison_unit"}
    )
    assert [p.function for p in found.context["page"]] == ["P/CVE contact"]
    assert not list(
        client.get(reverse("network:contact_points"), {"type": "school"}).context["page"]
    )
