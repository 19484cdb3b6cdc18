# ruff: noqa: E501 - the persona matrix is a table and reads best unwrapped
"""Every SOP endpoint × every persona (the case of tests/builders.py: `partner` leads, `police` takes part)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from casebridge.sharing import services
from casebridge.sharing.models import Obligation
from tests.matrix import assert_matrix_covers, matrix_params
from tests.sharing.matrices import EMERGENCY_MATRIX, HOTLINE_DISCLOSURE_MATRIX

pytestmark = pytest.mark.django_db

MATRIX = """
endpoint                                           partner police prison_expired partner_other hotline coordinator dpo admin outsider
POST  /cases/{case}/simulate                       200     200    404            404           404     404         404 404   404
GET   /cases/{case}                                200     200    404            404           404     404         404 404   404
POST  /cases/{case}/events                         201     201    404            404           404     404         404 404   404
POST  /cases/{case}/consents                       201     403    404            404           404     404         404 404   404
POST  /cases/{case}/consents/{consent}/withdraw    200     403    404            404           404     404         404 404   404
POST  /cases/{case}/disclosures                    201     422    404            404           404     404         404 404   404
POST  /disclosures/{disclosure}/decide             404     404    404            404           404     404         404 404   404
GET   /disclosures/{disclosure}                    404     404    404            404           404     404         404 404   404
POST  /cases/{case}/obligations/{obligation}/cancel 200    403    404            404           404     404         404 404   404
GET   /tasks                                       200     200    200            200           200     200         200 200   200
GET   /register                                    404     404    404            404           404     404         200 404   404
POST  /cases/{case}/requests                       201     201    404            404           404     404         404 404   404
POST  /cases/{case}/requests/{request}/refuse      200     403    404            404           404     404         404 404   404
POST  /cases/{case}/requests/{request}/withdraw    403     200    404            404           404     404         404 404   404
GET   /register/requests                           404     404    404            404           404     404         200 404   404
"""


@pytest.mark.parametrize(("method", "path", "persona", "expected"), list(matrix_params(MATRIX)))
def test_endpoint_answers_persona(
    personas, world, coordination_consent, method, path, persona, expected
):
    from casebridge.cooperation_models.models import Term

    consent = coordination_consent
    disclosure = services.disclosure_request(
        actor=personas.partner,
        case=world.case,
        to_participant=world.police,
        entries=[world.coordination],
        purpose="p",
        legal_basis=Term.objects.get(kind="legal_basis", code="justifying_emergency"),
        justification="j",
    )
    obligation = Obligation.objects.filter(case=world.case, status="open").first()
    asked = services.information_request_create(  # the police ask the lead
        actor=personas.police,
        case=world.case,
        to_participant=world.lead,
        categories=[Term.objects.get(kind="information_category", code="case_coordination")],
        question="Nächster Termin?",
        purpose="Gefährdungslage",
        legal_basis=Term.objects.get(kind="legal_basis", code="justifying_emergency"),
        due_on=timezone.localdate() + timedelta(days=3),
    )
    bodies = {
        "/cases/{case}/simulate": {"event": "risk_judgement_recorded", "likelihood": "very_likely"},
        "/cases/{case}/events": {"code": "child_welfare_concern"},
        "/cases/{case}/consents": {
            "given_by": "person",
            "purpose": "p",
            "categories": ["case_coordination"],
            "recipients": [world.police.pk],
        },
        "/cases/{case}/disclosures": {
            "to_participant_id": world.police.pk,
            "entries": [world.coordination.pk],
            "purpose": "p",
            "legal_basis": "justifying_emergency",
            "justification": "j",
        },
        "/disclosures/{disclosure}/decide": {"approve": True},
        "/cases/{case}/obligations/{obligation}/cancel": {"reason": "entfällt"},
        "/cases/{case}/requests": {
            "to_participant_id": (world.lead if persona == "police" else world.police).pk,
            "categories": ["case_coordination"],
            "question": "Stand?",
            "purpose": "Fallkonferenz",
            "legal_basis": "justifying_emergency",
            "due_on": (timezone.localdate() + timedelta(days=5)).isoformat(),
        },
        "/cases/{case}/requests/{request}/refuse": {"reason": "Nicht erforderlich."},
    }
    url = "/api/v1/sop" + path.format(
        case=world.case.pk,
        consent=consent.pk,
        disclosure=disclosure.pk,
        obligation=obligation.pk,
        request=asked.pk,
    )
    body = bodies.get(path)
    response = personas.client(getattr(personas, persona)).generic(
        method, url, data=json.dumps(body) if body else "", content_type="application/json"
    )
    assert response.status_code == expected, response.content[:300]
    assert b"Vertrauliche Beratung" not in response.content


def test_second_person_approves_through_the_api(personas, world):
    from casebridge.cooperation_models.models import Term
    from tests.builders import make_user

    disclosure = services.disclosure_request(
        actor=personas.partner,
        case=world.case,
        to_participant=world.police,
        entries=[world.coordination],
        purpose="p",
        legal_basis=Term.objects.get(kind="legal_basis", code="justifying_emergency"),
        justification="j",
    )
    colleague = make_user("colleague", world.lead.organisation, "partner_counsellor")
    world.lead.members.add(colleague)
    response = personas.client(colleague).post(
        f"/api/v1/sop/disclosures/{disclosure.pk}/decide",
        {"approve": True},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "approved"


def test_every_sop_operation_is_in_the_matrix():
    assert_matrix_covers(
        MATRIX
        + "\n".join(EMERGENCY_MATRIX.strip().splitlines()[1:])
        + "\n"
        + "\n".join(HOTLINE_DISCLOSURE_MATRIX.strip().splitlines()[1:]),
        "/api/v1/sop",
        {
            "{case}": "{case_id}",
            "{consent}": "{consent_id}",
            "{disclosure}": "{disclosure_id}",
            "{obligation}": "{obligation_id}",
            "{request}": "{request_id}",
            "{running}": "{access_id}",
            "{ended}": "{access_id}",
            "{contact}": "{contact_id}",
            "{sent}": "{disclosure_id}",
            "{pending}": "{disclosure_id}",
            "{open}": "{disclosure_id}",
        },
        besides=("/api/v1/sop/protocols",),  # tests/procedures/test_api_matrix.py
    )
