"""The federation's pages through HTTP: who sees what, and every action with the partner in
process."""

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.federation.models import CrossHandover, Message
from tests.builders import org
from tests.federation.partner import new_thread, request_body

pytestmark = pytest.mark.django_db

REASON = "The family moved to Rotterdam."
PROPOSAL = {
    "propose-agreement": "",
    "propose-postcode": "3011 AB",
    "propose-language": "nl",
    "propose-reason": REASON,
    "propose-categories": ["identity", "case_coordination"],
    "propose-consent_note": "Agreed on 3 December in the office.",
}


def _proposal(partner, **changes):
    return {**PROPOSAL, "propose-agreement": partner.agreement.pk, **changes}


def _propose(partner, personas, world, capture):
    client = personas.client(personas.partner)
    with capture(execute=True):
        response = client.post(
            reverse("federation:propose", args=[world.case.pk]), _proposal(partner)
        )
    assert response.status_code == 302, response.content[:500]
    return CrossHandover.objects.get()


def _incoming(partner):
    request = partner.message("handover_request", request_body(), thread=new_thread())
    partner.send(Client(), request)
    return CrossHandover.objects.get(direction="in")


def test_the_overview_shows_the_agreement_and_what_may_cross(partner, personas):
    response = personas.client(personas.partner).get(reverse("federation:overview"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Rotterdam" in text and "hamburg-rotterdam" in text
    assert reverse("federation:overview") in text  # the navigation link


def test_without_an_agreement_the_overview_says_so(partner, personas):
    for user in (personas.partner_other, personas.outsider, personas.police):
        response = personas.client(user).get(reverse("federation:overview"))
        assert response.status_code == 200
        assert 'id="no-agreement"' in response.content.decode()


def test_coordinators_and_the_dpo_see_every_agreement_and_the_register_link(partner, personas):
    response = personas.client(personas.dpo).get(reverse("federation:overview"))
    assert reverse("federation:register") in response.content.decode()


def test_a_consultation_shows_the_partners_answer(partner, personas):
    response = personas.client(personas.partner).post(
        reverse("federation:consult"),
        {"agreement": partner.agreement.pk, "postcode": "3011 AB", "age_band": "unknown"},
    )
    assert response.status_code == 200, response.content[:500]
    assert 'id="answer"' in response.content.decode()


def test_a_partner_out_of_reach_gives_a_clear_message(partner, personas):
    partner.reachable = False
    response = personas.client(personas.partner).post(
        reverse("federation:consult"),
        {"agreement": partner.agreement.pk, "postcode": "3011 AB", "age_band": "unknown"},
    )
    assert response.status_code == 503
    assert "cannot be reached" in response.content.decode()


def test_a_refusal_shows_the_partners_reason(partner, personas):
    partner.answers["consultation"] = "purpose_not_allowed"
    response = personas.client(personas.partner).post(
        reverse("federation:consult"),
        {"agreement": partner.agreement.pk, "postcode": "3011 AB", "age_band": "unknown"},
    )
    assert response.status_code == 503
    assert "purpose_not_allowed" in response.content.decode()


def test_the_case_page_matches_the_person(partner, personas, world):
    client = personas.client(personas.partner)
    assert client.get(reverse("federation:case", args=[world.case.pk])).status_code == 200
    response = client.post(
        reverse("federation:match", args=[world.case.pk]),
        {"match-agreement": partner.agreement.pk},
    )
    assert response.status_code == 200, response.content[:500]
    assert 'id="match-result"' in response.content.decode()


@pytest.mark.parametrize("name", ["police", "outsider", "partner_other", "dpo"])
def test_others_do_not_reach_the_case_page(partner, personas, world, name):
    response = personas.client(getattr(personas, name)).get(
        reverse("federation:case", args=[world.case.pk])
    )
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["police", "outsider", "partner_other", "dpo"])
def test_others_cannot_propose(partner, personas, world, name):
    response = personas.client(getattr(personas, name)).post(
        reverse("federation:propose", args=[world.case.pk]), _proposal(partner)
    )
    assert response.status_code == 404
    assert not CrossHandover.objects.exists()


def test_a_proposal_with_bad_input_shows_the_fields_and_changes_nothing(partner, personas, world):
    response = personas.client(personas.partner).post(
        reverse("federation:propose", args=[world.case.pk]),
        _proposal(
            partner,
            **{"propose-reason": "", "propose-categories": ["security"]},
        ),
    )
    assert response.status_code == 422
    assert "form-errors" in response.content.decode()
    assert not CrossHandover.objects.exists() and not Message.objects.exists()


def test_the_proposal_waits_for_a_confirmation_first(partner, personas, world):
    stale = personas.client(personas.partner, reauthenticated=False)
    response = stale.post(reverse("federation:propose", args=[world.case.pk]), _proposal(partner))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:reauth"))
    assert not CrossHandover.objects.exists()


def test_propose_withdraw_on_the_pages(
    partner, personas, world, django_capture_on_commit_callbacks
):
    handover = _propose(partner, personas, world, django_capture_on_commit_callbacks)
    assert partner.received[-1]["type"] == "handover_request"
    client = personas.client(personas.partner)
    page = client.get(reverse("federation:handover", args=[handover.pk]))
    assert REASON in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("federation:withdraw", args=[handover.pk]), {})
    assert response.status_code == 302
    handover.refresh_from_db()
    assert handover.status == "withdrawn"
    assert partner.received[-1]["type"] == "withdrawal"


def test_disclose_on_the_page_after_the_partner_accepted(
    partner, personas, world, django_capture_on_commit_callbacks
):
    handover = _propose(partner, personas, world, django_capture_on_commit_callbacks)
    acceptance = partner.message(
        "acceptance", {"organisation": "Stichting", "reference": "NL-1"}, thread=handover.thread
    )
    partner.send(Client(), acceptance)
    url = reverse("federation:disclose", args=[handover.pk])
    stale = personas.client(personas.partner, reauthenticated=False)
    assert stale.post(url).status_code == 302
    assert partner.received[-1]["type"] != "disclosure"
    client = personas.client(personas.partner)
    assert (
        'id="disclose-handover"'
        in client.get(reverse("federation:handover", args=[handover.pk])).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302
    assert partner.received[-1]["type"] == "disclosure"
    handover.refresh_from_db()
    assert handover.status == "completed"


def test_accept_an_incoming_handover_and_open_the_new_case(
    partner, personas, django_capture_on_commit_callbacks
):
    handover = _incoming(partner)
    client = personas.client(personas.partner)
    assert (
        personas.client(personas.partner_other)
        .get(reverse("federation:handover", args=[handover.pk]))
        .status_code
        == 404
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("federation:accept", args=[handover.pk]),
            {"accept-organisation": org(personas.partner).pk},
        )
    assert response.status_code == 302
    handover.refresh_from_db()
    assert handover.status == "accepted" and handover.case_id
    page = client.get(reverse("federation:handover", args=[handover.pk])).content.decode()
    assert reverse("cases:case", args=[handover.case_id]) in page
    assert partner.received[-1]["type"] == "acceptance"


def test_decline_needs_a_reason(partner, personas, django_capture_on_commit_callbacks):
    handover = _incoming(partner)
    client = personas.client(personas.partner)
    url = reverse("federation:decline", args=[handover.pk])
    assert client.post(url, {"decline-reason": ""}).status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"decline-reason": "No place."}).status_code == 302
    handover.refresh_from_db()
    assert handover.status == "declined"


def test_the_register_shows_metadata_and_never_content(
    partner, personas, world, django_capture_on_commit_callbacks
):
    _propose(partner, personas, world, django_capture_on_commit_callbacks)
    client = personas.client(personas.dpo)
    page = client.get(reverse("federation:register")).content.decode()
    assert "handover_request" in page
    assert REASON not in page and "Beispiel" not in page
    csv = client.get(reverse("federation:register") + "?format=csv")
    text = b"".join(csv.streaming_content if csv.streaming else [csv.content]).decode()
    assert "handover_request" in text and Message.objects.get().hash in text
    assert REASON not in text and "Beispiel" not in text and "Agreed on" not in text
    for name in ("partner", "police", "outsider"):
        response = personas.client(getattr(personas, name)).get(reverse("federation:register"))
        assert response.status_code == 403


def test_the_case_page_has_a_federation_section_for_the_lead(partner, personas, world):
    response = personas.client(personas.partner).get(
        reverse("cases:case", args=[world.case.pk]) + "?section=federation"
    )
    assert reverse("federation:case", args=[world.case.pk]) in response.content.decode()
