"""Referrals: the partner sees only what is addressed to it, accepts or declines, and a
declined referral returns to the hotline for re-routing; identity only with consent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from casebridge.audit.models import AuditEvent
from casebridge.hotline.models import Referral
from tests.builders import org

pytestmark = pytest.mark.django_db


def test_partner_sees_only_referrals_addressed_to_it(personas, make_contact):
    mine = make_contact(referral_to=org(personas.partner))
    make_contact(referral_to=org(personas.partner_other))
    inbox = personas.client(personas.partner).get(reverse("hotline:inbox"))
    assert [r.contact_id for r, _overdue in inbox.context["rows"]] == [mine.pk]


def test_partner_cannot_open_another_partners_referral(personas, make_contact):
    other = make_contact(referral_to=org(personas.partner_other)).referrals.get()
    client = personas.client(personas.partner)
    assert client.get(reverse("hotline:referral", args=[other.pk])).status_code == 404
    assert client.post(reverse("hotline:referral_accept", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.status == "sent"
    denied = AuditEvent.objects.filter(outcome="denied", object_id=str(other.pk)).latest("id")
    assert denied.details["reason"].startswith("denied: referral of HL-")


def test_partner_cannot_read_the_hotlines_contact(personas, make_contact):
    contact = make_contact(referral_to=org(personas.partner))
    response = personas.client(personas.partner).get(reverse("hotline:contact", args=[contact.pk]))
    assert response.status_code == 404


def test_partner_never_sees_the_hotlines_own_notes(personas, make_contact):
    contact = make_contact(referral_to=org(personas.partner), advice="Interne Einschätzung XYZ")
    referral = contact.referrals.get()
    page = personas.client(personas.partner).get(reverse("hotline:referral", args=[referral.pk]))
    body = page.content.decode()
    assert "Interne Einschätzung XYZ" not in body
    assert contact.summary not in body
    api = personas.client(personas.partner).get(f"/api/v1/hotline/referrals/{referral.pk}").json()
    assert "advice" not in api and "summary" not in api


def test_accept_then_first_contact_then_appointment(personas, make_contact):
    referral = make_contact(referral_to=org(personas.partner)).referrals.get()
    client = personas.client(personas.partner)
    client.post(reverse("hotline:referral_accept", args=[referral.pk]))
    client.post(reverse("hotline:referral_first_contact", args=[referral.pk]))
    day = (timezone.localdate() + timedelta(days=3)).isoformat()
    client.post(reverse("hotline:referral_appointment", args=[referral.pk]), {"on": day})
    referral.refresh_from_db()
    assert referral.status == "accepted"
    assert referral.first_contact_at is not None
    assert referral.first_appointment_on.isoformat() == day
    assert [e.kind for e in referral.events.all()] == [
        "sent",
        "accepted",
        "first_contact",
        "appointment",
    ]


def test_declined_referral_returns_for_rerouting(personas, make_contact):
    contact = make_contact(referral_to=org(personas.partner))
    referral = contact.referrals.get()
    partner = personas.client(personas.partner)
    partner.post(
        reverse("hotline:referral_decline", args=[referral.pk]), {"reason": "Keine Kapazität"}
    )
    referral.refresh_from_db()
    assert referral.status == "declined"
    intake = personas.client(personas.hotline).get(reverse("hotline:intake"))
    assert referral in intake.context["to_reroute"].items
    response = personas.client(personas.hotline).post(
        reverse("hotline:contact_refer", args=[contact.pk]),
        {"referral-partner": org(personas.partner_other).pk, "referral-mode": "anonymous"},
    )
    assert response.status_code == 302
    intake = personas.client(personas.hotline).get(reverse("hotline:intake"))
    assert referral not in intake.context["to_reroute"].items


def test_decline_needs_a_reason(personas, make_contact):
    referral = make_contact(referral_to=org(personas.partner)).referrals.get()
    response = personas.client(personas.partner).post(
        f"/api/v1/hotline/referrals/{referral.pk}/decline",
        {"reason": ""},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "reason" in response.json()["fields"]
    referral.refresh_from_db()
    assert referral.status == "sent"


def test_identity_reaches_the_partner_only_with_consent(personas, make_contact):
    consented = make_contact(
        referral_to=org(personas.partner),
        mode="consent",
        anonymous=False,
        caller_name="Erika Muster",
        caller_phone="+49 40 000000",
    ).referrals.get()
    anonymous = make_contact(
        referral_to=org(personas.partner),
        anonymous=False,
        caller_name="Max Muster",
        caller_phone="+49 40 111111",
    ).referrals.get()
    client = personas.client(personas.partner)
    assert (
        "Erika Muster"
        in client.get(reverse("hotline:referral", args=[consented.pk])).content.decode()
    )
    assert (
        "Max Muster"
        not in client.get(reverse("hotline:referral", args=[anonymous.pk])).content.decode()
    )
    assert (
        client.get(f"/api/v1/hotline/referrals/{consented.pk}/identity").json()["name"]
        == "Erika Muster"
    )
    assert client.get(f"/api/v1/hotline/referrals/{anonymous.pk}/identity").status_code == 404
    reads = AuditEvent.objects.filter(action="hotline.identity.view")
    assert reads.exists()
    assert all("Muster" not in str(event.details) for event in AuditEvent.objects.all())


def test_identity_is_withheld_again_after_a_decline(personas, make_contact):
    referral = make_contact(
        referral_to=org(personas.partner),
        mode="consent",
        anonymous=False,
        caller_name="Erika Muster",
        caller_phone="+49 40 000000",
    ).referrals.get()
    client = personas.client(personas.partner)
    client.post(reverse("hotline:referral_decline", args=[referral.pk]), {"reason": "zu weit"})
    assert client.get(f"/api/v1/hotline/referrals/{referral.pk}/identity").status_code == 404


def test_first_contact_overdue_is_flagged(personas, make_contact):
    referral = make_contact(referral_to=org(personas.partner)).referrals.get()
    Referral.objects.filter(pk=referral.pk).update(sent_at=timezone.now() - timedelta(days=9))
    inbox = personas.client(personas.partner).get(reverse("hotline:inbox"))
    assert [overdue for _r, overdue in inbox.context["rows"]] == [True]


def test_hotline_cannot_accept_on_the_partners_behalf(personas, make_contact):
    referral = make_contact(referral_to=org(personas.partner)).referrals.get()
    response = personas.client(personas.hotline).post(
        f"/api/v1/hotline/referrals/{referral.pk}/accept"
    )
    assert response.status_code == 403
    referral.refresh_from_db()
    assert referral.status == "sent"


def test_hotline_withdraws_a_referral(personas, make_contact):
    referral = make_contact(referral_to=org(personas.partner)).referrals.get()
    personas.client(personas.hotline).post(reverse("hotline:referral_withdraw", args=[referral.pk]))
    referral.refresh_from_db()
    assert referral.status == "withdrawn"


def test_referral_to_a_non_counselling_organisation_is_refused(personas, make_contact):
    contact = make_contact()
    police = org(personas.police)
    response = personas.client(personas.hotline).post(
        f"/api/v1/hotline/contacts/{contact.pk}/referrals",
        {"partner_id": police.pk, "mode": "anonymous"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "partner" in response.json()["fields"]
    assert not Referral.objects.exists()


def test_the_inbox_shows_fifty_referrals_a_page_newest_first(personas, make_contact):
    from casebridge.hotline.selectors import referral_inbox_page

    partner = org(personas.partner)
    made = [make_contact(referral_to=partner).referrals.get() for _ in range(3)]
    first = referral_inbox_page(personas.partner, status="sent", per_page=2)
    second = referral_inbox_page(personas.partner, status="sent", page=2, per_page=2)
    assert [r.pk for r in first.object_list] + [r.pk for r in second.object_list] == [
        r.pk for r in reversed(made)
    ]
    page = personas.client(personas.partner).get(reverse("hotline:inbox"))
    assert page.context["page"].paginator.per_page == 50
    assert [row[0] for row in page.context["rows"]] == list(reversed(made))
    shown = AuditEvent.objects.filter(action="hotline.referral.list").latest("id")
    assert shown.details["count"] == 3
