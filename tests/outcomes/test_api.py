# ruff: noqa: E501 - the persona matrix is a table and reads best unwrapped
"""Every outcomes endpoint × every persona. The case is closed (follow-ups are planned
after closure); `partner` leads it, `police` takes part without a counselling scope,
`prison_expired`'s seat has ended, the others have none. ``{follow_up}`` is due today."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from casebridge.cases import services as case_services
from casebridge.outcomes import services
from casebridge.outcomes.models import Assessment, FollowUp
from tests.builders import term
from tests.matrix import assert_matrix_covers, matrix_params

pytestmark = pytest.mark.django_db

MATRIX = """
endpoint                                              partner police prison_expired partner_other hotline coordinator dpo admin outsider
GET  /outcomes/model                                  200     200    200            200           200     200         200 200   200
GET  /cases/{case}/outcomes                           200     200    404            404           404     404         404 404   404
POST /cases/{case}/assessments                        201     403    404            404           404     404         404 404   404
POST /cases/{case}/follow-up/consent                  201     403    404            404           404     404         404 404   404
POST /cases/{case}/follow-up/withdrawal               200     403    404            404           404     404         404 404   404
POST /cases/{case}/follow-ups                         201     403    404            404           404     404         404 404   404
POST /cases/{case}/follow-ups/{follow_up}/result      200     403    404            404           404     404         404 404   404
"""


def _closed(personas, world, *, consent: bool):
    case_services.case_close(
        actor=personas.partner,
        case=world.case,
        closing_reason=term("case_closing_reason", "goals_reached"),
    )
    if not consent:
        return None
    services.follow_up_plan(actor=personas.partner, case=world.case, consent=True, note="ja")
    follow_up = FollowUp.objects.filter(case=world.case).first()
    FollowUp.objects.filter(pk=follow_up.pk).update(due_on=timezone.localdate())
    return follow_up


@pytest.mark.parametrize(("method", "path", "persona", "expected"), list(matrix_params(MATRIX)))
def test_endpoint_answers_persona(personas, world, method, path, persona, expected):
    follow_up = _closed(personas, world, consent=not path.endswith("/consent"))
    bodies = {
        "/cases/{case}/assessments": {
            "occasion": "closure",
            "ratings": [{"dimension": "disengagement", "level": 2}],
            "rationale": "Begründung",
        },
        "/cases/{case}/follow-up/consent": {"consent": True, "note": "ja"},
        "/cases/{case}/follow-ups": {
            "due_on": (timezone.localdate() + timedelta(days=90)).isoformat()
        },
        "/cases/{case}/follow-ups/{follow_up}/result": {"reached": False},
    }
    url = "/api/v1" + path.format(case=world.case.pk, follow_up=follow_up.pk if follow_up else 0)
    body = bodies.get(path)
    response = personas.client(getattr(personas, persona)).generic(
        method, url, data=json.dumps(body) if body else "", content_type="application/json"
    )
    assert response.status_code == expected, response.content[:300]


def test_every_outcomes_operation_is_in_the_matrix():
    assert_matrix_covers(
        MATRIX,
        "/api/v1",
        {"{case}": "{case_id}", "{follow_up}": "{follow_up_id}"},
        tag="outcomes",
    )


def test_the_model_lists_the_scales_in_the_readers_language(personas):
    client = personas.client(personas.partner)
    english = client.get("/api/v1/outcomes/model").json()
    headline = next(d for d in english["dimensions"] if d["headline"])
    assert headline["code"] == "disengagement"
    assert headline["levels"][0] == "Endorses or uses violence"
    assert english["follow_up_months"] == [6, 12]
    assert {t["dimension"] for t in english["goal_templates"]} <= {
        d["code"] for d in english["dimensions"]
    }
    personas.partner.language = "de"
    personas.partner.save(update_fields=["language"])
    german = personas.client(personas.partner).get("/api/v1/outcomes/model").json()
    assert german["dimensions"][0]["levels"][0] == "Befürwortet oder übt Gewalt aus"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "occasion": "intake",
                "ratings": [{"dimension": "housing", "level": 7}],
                "rationale": "x",
            },
            "ratings",
        ),
        (
            {
                "occasion": "intake",
                "ratings": [{"dimension": "mood", "level": 1}],
                "rationale": "x",
            },
            "ratings",
        ),
        ({"occasion": "intake", "ratings": [], "rationale": "x"}, "ratings"),
        (
            {
                "occasion": "intake",
                "ratings": [{"dimension": "housing", "level": 1}],
                "rationale": "",
            },
            "rationale",
        ),
        (
            {
                "occasion": "sometime",
                "ratings": [{"dimension": "housing", "level": 1}],
                "rationale": "x",
            },
            "occasion",
        ),
        (
            {
                "occasion": "intake",
                "ratings": [{"dimension": "housing", "level": "1"}],
                "rationale": "x",
            },
            "level",
        ),
        (
            {
                "occasion": "intake",
                "ratings": [{"dimension": "housing", "level": 1}],
                "rationale": "x",
                "assessed_on": "2026-13-01",
            },
            "assessed_on",
        ),
    ],
)
def test_bad_assessments_name_the_field_and_change_nothing(personas, world, body, field):
    response = personas.client(personas.partner).post(
        f"/api/v1/cases/{world.case.pk}/assessments", body, content_type="application/json"
    )
    assert response.status_code == 422
    assert field in response.content.decode()
    assert not Assessment.objects.exists()


def test_an_assessment_through_the_api_is_read_back_in_the_course(personas, world):
    client = personas.client(personas.partner)
    response = client.post(
        f"/api/v1/cases/{world.case.pk}/assessments",
        {
            "occasion": "intake",
            "assessed_on": timezone.localdate().isoformat(),
            "ratings": [{"dimension": "network_ties", "level": 1}],
            "rationale": "Kontakt zur Szene seltener.",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    course = client.get(f"/api/v1/cases/{world.case.pk}/outcomes").json()
    assert course["assessments"][0]["ratings"] == [
        {"dimension": "network_ties", "level": 1, "label": "Regular contact"}
    ]
    assert course["assessments"][0]["author"]
    assert course["follow_up"] == {"consent": None, "follow_ups": []}
