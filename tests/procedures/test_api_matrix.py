# ruff: noqa: E501 - the persona matrix is a table and reads best unwrapped
"""Every procedures endpoint × every persona. ``{draft}`` is a draft the NGO partner and
the police liaison sign for their parties and the DPO as legal reviewer; ``{signed}`` the
same, signed by all three; ``{active}`` the German procedure in force."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from casebridge.procedures import services
from casebridge.sharing.models import Protocol
from tests.builders import org
from tests.matrix import assert_matrix_covers, matrix_params
from tests.procedures.drafts import NEW_RULE, PARTIES, draft_with_signatories

pytestmark = pytest.mark.django_db

MATRIX = """
endpoint                                  partner police prison_expired partner_other hotline coordinator dpo admin outsider
GET    /                                  200     200    200            200           200     200         200 200   200
POST   /                                  403     403    403            403           403     201         403 403   403
GET    /{draft}                           200     200    404            404           404     200         200 404   404
GET    /{active}                          200     200    404            200           200     200         200 200   404
PATCH  /{draft}                           403     403    404            404           404     200         403 404   404
POST   /{active}/drafts                   403     403    404            403           403     201         403 403   404
POST   /{draft}/rules                     403     403    404            404           404     201         403 404   404
PUT    /{draft}/rules/{rule}              403     403    404            404           404     200         403 404   404
DELETE /{draft}/rules/{rule}              403     403    404            404           404     200         403 404   404
PUT    /{draft}/signatories               403     403    404            404           404     200         403 404   404
POST   /{draft}/comments                  201     201    404            404           404     201         201 404   404
POST   /{draft}/sign                      200     200    404            404           404     404         200 404   404
POST   /{signed}/activate                 403     403    404            404           404     200         403 404   404
GET    /{draft}/export                    200     200    404            404           404     200         200 404   404
GET    /{active}/compare/{draft}          200     200    404            404           404     200         200 404   404
GET    /{draft}/replay                    403     403    403            403           403     200         200 403   403
"""


@pytest.mark.parametrize(("method", "path", "persona", "expected"), list(matrix_params(MATRIX)))
def test_endpoint_answers_persona(personas, method, path, persona, expected):
    active = Protocol.objects.get(code="de-default", status="active")
    draft = draft_with_signatories(personas, "2027.1")
    signed = draft_with_signatories(personas, "2027.2", signed=True)
    today = timezone.localdate().isoformat()
    bodies = {
        ("POST", "/"): {"toml": services.export_toml(draft).replace('"2027.1"', '"2027.7"')},
        ("PATCH", "/{draft}"): {
            "version": "2027.1",
            "effective_from": today,
            "parties": PARTIES,
            "labels": {"de": "Neu", "en": "New"},
        },
        ("POST", "/{active}/drafts"): {"version": "2027.8"},
        ("POST", "/{draft}/rules"): {"rule": NEW_RULE},
        ("PUT", "/{draft}/rules/{rule}"): {"rule": {**NEW_RULE, "code": "case-closed"}},
        ("PUT", "/{draft}/signatories"): {
            "parties": {
                "ngo_counselling_partner": {
                    "organisation_id": org(personas.partner).pk,
                    "person_id": personas.partner.pk,
                },
                "police_liaison_unit": {
                    "organisation_id": org(personas.police).pk,
                    "person_id": personas.police.pk,
                },
            },
            "legal_reviewer_id": personas.dpo.pk,
        },
        ("POST", "/{draft}/comments"): {"rule": "case-closed", "text": "Und die Schule?"},
        ("POST", "/{draft}/sign"): {"content_hash": draft.content_hash},
        ("POST", "/{signed}/activate"): {
            "effective_from": today,
            "content_hash": signed.content_hash,
        },
    }
    url = "/api/v1/sop/protocols" + path.format(
        draft=draft.pk, signed=signed.pk, active=active.pk, rule="case-closed"
    ).rstrip("/")
    if path.endswith("/replay"):
        url += f"?start={today}&end={today}"
    body = bodies.get((method, path))
    response = personas.client(getattr(personas, persona)).generic(
        method, url, data=json.dumps(body) if body else "", content_type="application/json"
    )
    assert response.status_code == expected, response.content[:300]


def test_every_procedures_operation_is_in_the_matrix():
    assert_matrix_covers(
        MATRIX,
        "/api/v1/sop/protocols",
        {
            "{active}/compare/{draft}": "{old_id}/compare/{new_id}",
            "{draft}": "{protocol_id}",
            "{signed}": "{protocol_id}",
            "{active}": "{protocol_id}",
            "{rule}": "{code}",
        },
    )
