from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casebridge.cooperation_models.models import Term
from casebridge.hotline import services
from casebridge.network.models import Organisation


def term(kind: str, code: str) -> Term:
    return Term.objects.get(kind=kind, code=code)


def partner_of(user) -> Organisation:
    return user.memberships.get().organisation


@pytest.fixture
def hotline_org(personas) -> Organisation:
    return personas.hotline.memberships.get().organisation


@pytest.fixture
def make_contact(personas, hotline_org):
    """Record a contact through the service, as the hotline persona."""

    def make(referral_to=None, mode="anonymous", **values):
        started = timezone.now() - timedelta(minutes=20)
        fields = {
            "channel": "phone",
            "started_at": started,
            "ended_at": started + timedelta(minutes=15),
            "language": term("language", "de"),
            "caller_category": term("caller_category", "parents_relatives"),
            "contact_category": term("contact_category", "clarification_needed"),
            "caller_postcode": "20095",
            "summary": "Mutter berichtet über Rückzug des Sohnes.",
            **values,
        }
        referral = None
        if referral_to is not None:
            referral = services.ReferralRequest(
                partner=referral_to,
                mode=mode,
                consent_note="mündlich am Telefon" if mode == "consent" else "",
                message="Bitte Kontakt aufnehmen.",
            )
        return services.contact_create(
            actor=personas.hotline, organisation=hotline_org, values=fields, referral=referral
        )

    return make
