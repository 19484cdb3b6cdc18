# ruff: noqa: E501 - the persona matrix is a table and reads best unwrapped
"""Every training endpoint and page × every persona: allowed, forbidden (403) or invisible (404).

The table is the specification; read a row as "this endpoint answers this persona so".
`partner` started an open run of "danger-to-others" and plays the counsellor in it; the
scenario "prison-release" needs a review (a new version of the procedure changed it).
Members of the network (every active role) train; coordinators review scenarios.
"""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from casebridge.sharing.models import Protocol
from casebridge.training import services
from casebridge.training.models import ScenarioReview
from tests.matrix import assert_matrix_covers, matrix_params

pytestmark = pytest.mark.django_db

MATRIX = """
endpoint                                  hotline coordinator partner partner_other police prison_expired dpo admin outsider
GET   /scenarios                          200     200         200     200           200    403            200 200   403
GET   /scenarios/{flagged}/review         200     200         200     200           200    403            200 200   403
POST  /scenarios/{flagged}/review         403     200         403     403           403    403            403 403   403
GET   /scenarios/{unknown}/review         404     404         404     404           404    403            404 404   403
GET   /runs                               200     200         200     200           200    403            200 200   403
POST  /runs                               201     201         201     201           201    403            201 201   403
GET   /runs/{run}                         200     200         200     200           200    404            200 200   404
POST  /runs/{run}/join                    200     200         422     200           200    404            200 200   404
POST  /runs/{run}/events/1/answer         403     403         201     403           403    404            403 403   404
GET   /runs/{run}/feedback                200     200         200     200           200    404            200 200   404
POST  /runs/{run}/finish                  403     200         200     403           403    404            403 403   404
GET   /runs/{run}/debrief                 404     404         404     404           404    404            404 404   404
"""

PAGES = """
page                                      hotline coordinator partner partner_other police prison_expired dpo admin outsider
GET   /training/                          200     200         200     200           200    403            200 200   403
GET   /training/scenarios/{flagged}/review/ 200   200         200     200           200    403            200 200   403
POST  /training/scenarios/{flagged}/review/ 403   302         403     403           403    403            403 403   403
POST  /training/runs/new/                 302     302         302     302           302    403            302 302   403
GET   /training/runs/{run}/               200     200         200     200           200    404            200 200   404
GET   /training/runs/{run}/debrief/       404     404         404     404           404    404            404 404   404
"""


def _bodies(flagged_version: str) -> dict:
    return {
        ("POST", "/scenarios/{flagged}/review"): {"version": flagged_version},
        ("POST", "/runs"): {"scenario": "danger-to-others"},
        ("POST", "/runs/{run}/join"): {"party": "police"},
        ("POST", "/runs/{run}/events/1/answer"): {"nobody": True},
        ("POST", "/training/scenarios/{flagged}/review/"): {"version": flagged_version},
        ("POST", "/training/runs/new/"): {"scenario": "danger-to-others"},
    }


@pytest.fixture
def setting(personas):
    """An open run that partner plays, and "prison-release" flagged by version 2027.1."""
    services.review_baselines()
    run = services.run_create(actor=personas.partner, scenario_code="danger-to-others")
    services.run_join(actor=personas.partner, run=run, party="counsellor")
    active = Protocol.objects.get(code="de-default", status=Protocol.Status.ACTIVE)
    rules = copy.deepcopy(active.rules)
    for rule in rules:
        if rule["code"] == "release-lead":
            rule["deadline"] = "days_before_event:21"
    active.status = Protocol.Status.RETIRED
    active.save(update_fields=["status"])
    Protocol.objects.create(
        code="de-default",
        version="2027.1",
        status=Protocol.Status.ACTIVE,
        effective_from=date(2026, 12, 1),
        parties=active.parties,
        labels=active.labels,
        rules=rules,
    )
    return run


def _send(client, method: str, url: str, body, *, form: bool):
    if form:
        return client.post(url, body or {}) if method == "POST" else client.get(url)
    return client.generic(
        method,
        url,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
    )


def _url(path: str, run) -> str:
    return path.format(flagged="prison-release", unknown="nope", run=run.pk)


@pytest.mark.parametrize(("method", "path", "persona", "expected"), list(matrix_params(MATRIX)))
def test_endpoint_answers_persona(personas, setting, method, path, persona, expected):
    client = personas.client(getattr(personas, persona))
    body = _bodies("2027.1").get((method, path))
    response = _send(client, method, "/api/v1/training" + _url(path, setting), body, form=False)
    assert response.status_code == expected, response.content[:300]
    if path == "/scenarios/{flagged}/review" and expected == 200:
        assert response.json()["needs_review"] is (method == "GET")


@pytest.mark.parametrize(("method", "path", "persona", "expected"), list(matrix_params(PAGES)))
def test_page_answers_persona(personas, setting, method, path, persona, expected):
    client = personas.client(getattr(personas, persona))
    body = _bodies("2027.1").get((method, path))
    response = _send(client, method, _url(path, setting), body, form=True)
    assert response.status_code == expected, response.content[:300]
    reviewed = ScenarioReview.objects.filter(
        scenario_code="prison-release", reviewed_by__isnull=False
    )
    assert reviewed.exists() is (method == "POST" and "review" in path and expected == 302)


def test_every_training_operation_is_in_the_matrix():
    assert_matrix_covers(
        MATRIX,
        "/api/v1/training",
        {
            "{flagged}": "{code}",
            "{unknown}": "{code}",
            "{run}": "{run_id}",
            "/events/1/": "/events/{number}/",
        },
    )


def test_every_training_page_is_in_the_page_matrix():
    from casebridge.training.urls import urlpatterns

    listed = {line.split()[1] for line in PAGES.strip().splitlines()[1:]}
    pages = {
        "runs": "/training/",
        "run_create": "/training/runs/new/",
        "scenario_review": "/training/scenarios/{flagged}/review/",
        "run": "/training/runs/{run}/",
        "debrief": "/training/runs/{run}/debrief/",
    }
    assert set(pages.values()) <= listed
    # join, answer and finish post from the run page: their API twins are rows of MATRIX
    assert {p.name for p in urlpatterns} - set(pages) == {"join", "answer", "finish"}
