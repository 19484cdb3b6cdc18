# ruff: noqa: E501 - the persona matrix is a table and reads best unwrapped
"""Every hotline endpoint × every persona: allowed, forbidden (403) or invisible (404).

The table is the specification; read a row as "this endpoint answers this persona so".
The referral goes from the hotline to `partner` (NGO in Hamburg) with the caller's consent.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casebridge.hotline import services
from tests.builders import org
from tests.matrix import assert_matrix_covers, matrix_params

pytestmark = pytest.mark.django_db

MATRIX = """
endpoint                                   hotline coordinator partner partner_other police prison_expired dpo admin outsider
GET   /contacts                            200     200         403     403           403    403            403 403   403
POST  /contacts                            201     403         403     403           403    403            403 403   403
POST  /contacts/search                     200     200         403     403           403    403            403 403   403
GET   /contacts/{contact}                  200     200         404     404           404    404            404 404   404
GET   /contacts/{contact}/identity         200     200         404     404           404    404            404 404   404
PATCH /contacts/{contact}                  200     200         404     404           404    404            404 404   404
POST  /contacts/{contact}/follow-up-done   200     200         404     404           404    404            404 404   404
GET   /follow-ups                          200     200         403     403           403    403            403 403   403
POST  /route                               200     200         403     403           403    403            403 403   403
POST  /contacts/{contact}/referrals        201     201         404     404           404    404            404 404   404
GET   /referrals                           403     200         200     200           403    403            403 403   403
GET   /referrals/{referral}                200     200         200     404           404    404            404 404   404
GET   /referrals/{referral}/identity       200     200         200     404           404    404            404 404   404
POST  /referrals/{referral}/accept         403     403         200     404           404    404            404 404   404
POST  /referrals/{referral}/decline        403     403         200     404           404    404            404 404   404
POST  /referrals/{referral}/first-contact  403     403         200     404           404    404            404 404   404
POST  /referrals/{accepted}/appointment    403     403         200     404           404    404            404 404   404
POST  /referrals/{referral}/withdraw       200     200         403     404           404    404            404 404   404
"""


def _body(method: str, path: str, partner_other_id: int) -> dict | None:
    today = timezone.localdate()
    started = (timezone.now() - timedelta(minutes=10)).isoformat()
    bodies = {
        ("POST", "/contacts"): {
            "started_at": started,
            "caller_category": "parents_relatives",
            "contact_category": "general_information",
        },
        ("POST", "/contacts/search"): {"q": "HL"},
        ("PATCH", "/contacts/{contact}"): {"next_steps": "Rückruf"},
        ("POST", "/route"): {"postcode": "20095"},
        ("POST", "/contacts/{contact}/referrals"): {
            "partner_id": partner_other_id,
            "mode": "anonymous",
        },
        ("POST", "/referrals/{referral}/decline"): {"reason": "keine Kapazität"},
        ("POST", "/referrals/{accepted}/appointment"): {
            "on": (today + timedelta(days=2)).isoformat()
        },
        ("POST", "/referrals/{referral}/withdraw"): {"reason": ""},
    }
    return bodies.get((method, path))


@pytest.mark.parametrize(("method", "path", "persona", "expected"), list(matrix_params(MATRIX)))
def test_endpoint_answers_persona(personas, make_contact, method, path, persona, expected):
    partner = org(personas.partner)
    contact = make_contact(
        referral_to=partner,
        mode="consent",
        anonymous=False,
        caller_name="Erika Muster",
        caller_phone="+49 40 000000",
        follow_up_on=timezone.localdate(),
    )
    referral = contact.referrals.get()
    accepted = make_contact(referral_to=partner).referrals.get()
    services.referral_accept(actor=personas.partner, referral=accepted)
    url = "/api/v1/hotline" + path.format(
        contact=contact.pk, referral=referral.pk, accepted=accepted.pk
    )
    client = personas.client(getattr(personas, persona))
    body = _body(method, path, org(personas.partner_other).pk)
    response = client.generic(
        method,
        url,
        data=__import__("json").dumps(body) if body is not None else "",
        content_type="application/json",
    )
    assert response.status_code == expected, response.content[:300]
    if expected in (403, 404):
        assert "Muster" not in response.content.decode()


def test_every_hotline_operation_is_in_the_matrix():
    assert_matrix_covers(
        MATRIX,
        "/api/v1/hotline",
        {
            "{contact}": "{contact_id}",
            "{referral}": "{referral_id}",
            "{accepted}": "{referral_id}",
        },
    )
