# ruff: noqa: E501 - the persona matrix is a table and reads best unwrapped
"""Every case endpoint × every persona: allowed, forbidden (403, may read but not do) or
invisible (404). `partner` leads the case, `police` takes part as police liaison,
`prison_expired`'s participation and role have ended, the others have no seat. An open
transfer of the case waits for `partner_other`'s organisation (which has no seat).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from casebridge.cases import services
from casebridge.cooperation_models.models import Term
from casebridge.network.models import Organisation, Region
from tests.builders import category, make_user, org
from tests.matrix import assert_matrix_covers, matrix_params

pytestmark = pytest.mark.django_db

MATRIX = """
endpoint                                           partner police prison_expired partner_other hotline coordinator dpo admin outsider
GET   /                                            200     200    200            200           200     200         200 200   200
POST  /                                            201     403    403            201           403     201         403 403   403
POST  /search                                      200     200    200            200           200     200         200 200   200
GET   /coordination                                403     403    403            403           403     200         403 403   403
GET   /entries/{counselling}                       200     404    404            404           404     404         404 404   404
GET   /entries/{security}                          200     200    404            404           404     404         404 404   404
GET   /entries/{document}/document                 200     404    404            404           404     404         404 404   404
GET   /{case}                                      200     200    404            404           404     404         404 404   404
GET   /{case}/identity                             200     404    404            404           404     404         404 404   404
GET   /{case}/entries                              200     200    404            404           404     404         404 404   404
POST  /{case}/related-people                       201     403    404            404           404     404         404 404   404
POST  /{case}/entries                              201     201    404            404           404     404         404 404   404
POST  /{case}/documents                            201     403    404            404           404     404         404 404   404
GET   /{case}/export                               200     200    404            404           404     404         404 404   404
POST  /{case}/participants                         201     403    404            404           404     404         404 404   404
POST  /{case}/participants/{police}/scope          200     403    404            404           404     404         404 404   404
POST  /{case}/participants/{police}/end            200     403    404            404           404     404         404 404   404
POST  /{case}/participants/{lead}/handover         200     403    404            404           404     404         404 404   404
POST  /{case}/phase                                200     403    404            404           404     404         404 404   404
POST  /{case}/close                                200     403    404            404           404     404         404 404   404
POST  /{case}/goals                                201     201    404            404           404     404         404 404   404
POST  /{case}/goals/{goal}/status                  200     200    404            404           404     404         404 404   404
GET   /{case}/conferences                          200     200    404            404           404     404         404 404   404
POST  /{case}/conferences                          201     201    404            404           404     404         404 404   404
POST  /{case}/conferences/{conference}/items       201     201    404            404           404     404         404 404   404
POST  /{case}/warnings                             201     201    404            404           404     404         404 404   404
POST  /{case}/warnings/{warning}/review            200     200    404            404           404     404         404 404   404
POST  /{case}/warnings/{warning}/end               200     200    404            404           404     404         404 404   404
POST  /{case}/transfers                            201     403    404            404           404     404         404 404   404
GET   /transfers/incoming                          200     200    200            200           200     200         200 200   200
GET   /transfers/{transfer}                        200     404    404            200           404     404         404 404   404
POST  /transfers/{transfer}/accept                 403     404    404            200           404     404         404 404   404
POST  /transfers/{transfer}/decline                403     404    404            200           404     404         404 404   404
POST  /transfers/{transfer}/withdraw               200     404    404            403           404     404         404 404   404
GET   /{case}/invitations                          200     403    404            404           404     404         404 404   404
POST  /{case}/invitations                          201     403    404            404           404     404         404 404   404
POST  /{case}/invitations/{invitation}/end         200     403    404            404           404     404         404 404   404
"""

BODIES = {
    ("POST", "/"): {"pseudonym": "Neu"},
    ("POST", "/search"): {"q": "Beratung"},
    ("POST", "/{case}/entries"): {
        "kind": "note",
        "category": "case_coordination",
        "title": "Abstimmung",
    },
    ("POST", "/{case}/participants"): {
        "organisation_id": "OTHER_ORG",
        "role": "co_counselling",
        "members": ["OTHER_USER"],
    },
    ("POST", "/{case}/participants/{police}/scope"): {
        "read": ["case_coordination"],
        "write": [],
        "reason": "weniger",
    },
    ("POST", "/{case}/participants/{lead}/handover"): {
        "to_worker_id": "COLLEAGUE",
        "note": "Übergabe",
    },
    ("POST", "/{case}/phase"): {"phase": "assessment"},
    ("POST", "/{case}/close"): {"closing_reason": "goals_reached"},
    ("POST", "/{case}/goals"): {"horizon": "interim", "title": "Schulabschluss"},
    ("POST", "/{case}/related-people"): {"relation": "mother", "name": "Erika Beispiel"},
    ("POST", "/{case}/goals/{goal}/status"): {"status": "reached"},
    ("POST", "/{case}/conferences"): {"held_on": "2026-12-01", "title": "Konferenz"},
    ("POST", "/{case}/conferences/{conference}/items"): {
        "kind": "decision",
        "category": "case_coordination",
        "text": "ok",
    },
    ("POST", "/{case}/warnings"): {
        "kind": "do_not_meet_alone",
        "reason": "Drohung im letzten Gespräch",
        "review_on": "IN_A_MONTH",
    },
    ("POST", "/{case}/warnings/{warning}/review"): {"review_on": "IN_A_MONTH"},
    ("POST", "/{case}/transfers"): {
        "to_organisation_id": "OTHER_ORG",
        "region": "DE-BE",
        "reason": "Umzug nach Berlin",
        "consent_note": "schriftlich",
    },
    ("POST", "/transfers/{transfer}/accept"): {"lead_worker_id": "OTHER_USER"},
    ("POST", "/transfers/{transfer}/decline"): {"reason": "keine Plätze"},
    ("POST", "/{case}/invitations"): {
        "organisation_id": "THERAPY",
        "role": "health_care",
        "name": "Dr. Hanna Lindner",
        "email": "lindner@example.org",
        "until": "IN_A_MONTH",
    },
}


@pytest.mark.parametrize(("method", "path", "persona", "expected"), list(matrix_params(MATRIX)))
def test_endpoint_answers_persona(personas, world, method, path, persona, expected):
    colleague = make_user("colleague", org(personas.partner), "partner_counsellor")
    goal = services.goal_add(
        actor=personas.partner, case=world.case, horizon="interim", title="Ziel"
    )
    document = services.entry_create(
        actor=personas.partner,
        case=world.case,
        data=services.EntryData(
            kind="document",
            category=category("counselling"),
            title="Bericht",
            document=SimpleUploadedFile("b.txt", b"vertraulich"),
        ),
    )
    warning = services.safety_warning_set(  # the police liaison warns every participant
        actor=personas.police,
        case=world.case,
        kind="office_only",
        note="",
        reason="Erkenntnisse der Polizei",
        review_on=timezone.localdate() + timedelta(days=10),
    )
    # an open transfer to partner_other's organisation (the proposal row proposes its own)
    transfer = (
        services.transfer_propose(
            actor=personas.partner,
            case=world.case,
            to_organisation=org(personas.partner_other),
            region=Region.objects.get(code="DE-BE"),
            reason="Umzug nach Berlin",
            consent_note="schriftlich",
        )
        if path != "/{case}/transfers"
        else None
    )
    therapy = Organisation.objects.get(code="psychotherapie-lindenhof-bremen")
    invitation = services.invitation_create(
        actor=personas.partner,
        case=world.case,
        organisation=therapy,
        role=Term.objects.get(kind="case_role", code="health_care"),
        name="Dr. Paul Berg",
        email="berg@example.org",
        until=timezone.localdate() + timedelta(days=30),
        link="https://x/",
    )
    ids = {
        "invitation": invitation.pk,
        "transfer": transfer.pk if transfer else 0,
        "warning": warning.pk,
        "case": world.case.pk,
        "counselling": world.counselling.pk,
        "security": world.security.pk,
        "document": document.pk,
        "police": world.police.pk,
        "lead": world.lead.pk,
        "goal": goal.pk,
        "conference": world.conference.pk,
    }
    url = "/api/v1/cases" + path.rstrip("/").format(**ids)
    client = personas.client(getattr(personas, persona))
    if path == "/{case}/documents":
        response = client.post(
            url,
            {
                "category": "counselling",
                "title": "Neu",
                "file": SimpleUploadedFile("n.txt", b"neu"),
            },
        )
    else:
        body = BODIES.get((method, path))
        if body is not None:
            text = json.dumps(body)
            text = text.replace('"OTHER_ORG"', str(org(personas.partner_other).pk))
            text = text.replace('"OTHER_USER"', str(personas.partner_other.pk))
            text = text.replace('"COLLEAGUE"', str(colleague.pk))
            text = text.replace('"THERAPY"', str(therapy.pk))
            in_a_month = (timezone.localdate() + timedelta(days=30)).isoformat()
            text = text.replace("IN_A_MONTH", in_a_month)
            response = client.generic(method, url, data=text, content_type="application/json")
        else:
            response = client.generic(method, url)
    assert response.status_code == expected, response.content[:300]
    if expected in (403, 404) or persona == "police":
        content = response.content if not hasattr(response, "streaming_content") else b""
        assert b"Vertrauliche Beratung" not in content
        assert b"Beispiel" not in content


def test_every_case_operation_is_in_the_matrix():
    assert_matrix_covers(
        MATRIX,
        "/api/v1/cases",
        {
            "{case}": "{case_id}",
            "{police}": "{participant_id}",
            "{lead}": "{participant_id}",
            "{goal}": "{goal_id}",
            "{conference}": "{conference_id}",
            "{warning}": "{warning_id}",
            "{transfer}": "{transfer_id}",
            "{invitation}": "{invitation_id}",
            "{counselling}": "{entry_id}",
            "{security}": "{entry_id}",
            "{document}": "{entry_id}",
        },
        tag="cases",  # the outcomes' operations under /cases: tests/outcomes/test_api.py
    )
