"""The federation through the API: the session and a personal token, with the partner in
process."""

import json

import pytest
from django.test import Client

from casebridge.accounts.services import api_token_create
from casebridge.federation.models import CrossHandover
from tests.builders import org
from tests.federation.partner import new_thread, request_body

pytestmark = pytest.mark.django_db

BASE = "/api/v1/federation"
REASON = "The family moved to Rotterdam."


def _token(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(actor=user, name='s')[1]}")


def _post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def _proposal(partner, **changes):
    return {
        "agreement_id": partner.agreement.pk,
        "postcode": "3011 AB",
        "language": "nl",
        "reason": REASON,
        "categories": ["identity", "case_coordination"],
        "consent_note": "Agreed in the office.",
        **changes,
    }


def test_agreements_and_a_consultation(partner, personas):
    client = personas.client(personas.partner)
    agreements = client.get(f"{BASE}/agreements").json()
    assert [a["code"] for a in agreements] == ["hamburg-rotterdam"]
    assert personas.client(personas.partner_other).get(f"{BASE}/agreements").json() == []
    response = _post(
        client, f"{BASE}/consultations", {"agreement_id": partner.agreement.pk, "postcode": "1"}
    )
    assert response.status_code == 200 and "covered" in response.json()


def test_the_partner_out_of_reach_is_503_and_a_refusal_502(partner, personas):
    client = _token(personas.partner)
    body = {"agreement_id": partner.agreement.pk, "postcode": "3011 AB"}
    partner.reachable = False
    response = _post(client, f"{BASE}/consultations", body)
    assert response.status_code == 503 and "cannot be reached" in response.json()["detail"]
    partner.reachable = True
    partner.answers["consultation"] = "purpose_not_allowed"
    response = _post(client, f"{BASE}/consultations", body)
    assert response.status_code == 502
    assert response.json()["code"] == "purpose_not_allowed" and response.json()["reason"]


def test_match_through_a_token(partner, personas, world):
    response = _post(
        _token(personas.partner),
        f"{BASE}/cases/{world.case.pk}/match",
        {"agreement_id": partner.agreement.pk},
    )
    assert response.status_code == 200 and response.json()["result"] in ("match", "none")
    response = _post(
        _token(personas.police),
        f"{BASE}/cases/{world.case.pk}/match",
        {"agreement_id": partner.agreement.pk},
    )
    assert response.status_code == 404


def test_a_proposal_with_bad_input_names_the_fields(partner, personas, world):
    response = _post(
        personas.client(personas.partner),
        f"{BASE}/cases/{world.case.pk}/handovers",
        _proposal(partner, categories=["security"], reason=""),
    )
    assert response.status_code == 422
    assert {"categories", "reason"} <= set(response.json()["fields"])
    assert not CrossHandover.objects.exists()


def test_propose_needs_a_confirmed_session_never_a_token(partner, personas, world):
    url = f"{BASE}/cases/{world.case.pk}/handovers"
    stale = personas.client(personas.partner, reauthenticated=False)
    assert _post(stale, url, _proposal(partner)).status_code == 403
    response = _post(_token(personas.partner), url, _proposal(partner))
    assert response.status_code == 403 and "API token" in response.json()["detail"]
    assert not CrossHandover.objects.exists()


def test_propose_and_disclose_through_the_session_api(
    partner, personas, world, django_capture_on_commit_callbacks
):
    client = personas.client(personas.partner)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, f"{BASE}/cases/{world.case.pk}/handovers", _proposal(partner))
    assert response.status_code == 201, response.content
    handover = response.json()
    assert handover["status"] == "requested" and handover["reason"] == REASON
    thread = CrossHandover.objects.get().thread
    partner.send(
        Client(),
        partner.message("acceptance", {"organisation": "S", "reference": "NL-1"}, thread=thread),
    )
    url = f"{BASE}/handovers/{handover['id']}/disclose"
    assert _post(_token(personas.partner), url).status_code == 403
    assert _post(personas.client(personas.partner, reauthenticated=False), url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, url)
    assert response.status_code == 200, response.content
    assert CrossHandover.objects.get().status == "completed"  # the partner's receipt came
    assert partner.received[-1]["type"] == "disclosure"
    register = personas.client(personas.dpo).get(f"{BASE}/register")
    assert register.status_code == 200 and REASON not in register.content.decode()
    assert _token(personas.partner).get(f"{BASE}/register").status_code == 403


def test_accept_decline_withdraw_through_a_token(
    partner, personas, world, django_capture_on_commit_callbacks
):
    token = _token(personas.partner)
    for _ in range(2):
        partner.send(
            Client(),
            partner.message("handover_request", request_body(), thread=new_thread()),
        )
    first, second = CrossHandover.objects.filter(direction="in").order_by("pk")
    listed = token.get(f"{BASE}/handovers").json()
    assert {h["id"] for h in listed} == {first.pk, second.pk}
    assert _token(personas.partner_other).get(f"{BASE}/handovers/{first.pk}").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            token,
            f"{BASE}/handovers/{first.pk}/accept",
            {"organisation_id": org(personas.partner).pk},
        )
    assert response.status_code == 200 and response.json()["case_id"]
    assert _post(token, f"{BASE}/handovers/{second.pk}/decline", {"reason": ""}).status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(token, f"{BASE}/handovers/{second.pk}/decline", {"reason": "No place."})
    assert response.json()["status"] == "declined"
    # an outgoing one, proposed in the browser, withdrawn with a token
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(
            personas.client(personas.partner),
            f"{BASE}/cases/{world.case.pk}/handovers",
            _proposal(partner),
        ).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(token, f"{BASE}/handovers/{created['id']}/withdraw", {})
    assert response.json()["status"] == "withdrawn"
    assert partner.received[-1]["type"] == "withdrawal"
