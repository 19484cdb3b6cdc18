"""A category this installation's model keeps from a sector (its ``never_by_scope``) never
crosses to that sector under an agreement, whatever the agreement's term lists: the
sender does not offer or send it, the receiver does not take it."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from casebridge.cases.models import Entry
from casebridge.federation import services
from casebridge.federation.models import CrossHandover
from tests.builders import org
from tests.federation.partner import new_thread, request_body

pytestmark = pytest.mark.django_db


def _handover_term(agreement, direction: str) -> dict:
    return next(t for t in agreement.terms[direction] if t["purpose"] == "handover")


def _to_security(agreement, direction: str) -> None:
    _handover_term(agreement, direction)["receiving_sector"] = "security"
    agreement.save(update_fields=["terms"])


def _propose(partner, personas, world, categories):
    return services.handover_propose(
        actor=personas.partner,
        agreement=partner.agreement,
        case=world.case,
        postcode="3011 AB",
        reason="The family moved to Rotterdam.",
        categories=categories,
        consent_note="Agreed on 3 December in the office.",
    )


def test_a_proposal_cannot_name_counselling_for_a_security_receiver(partner, personas, world):
    _to_security(partner.agreement, "send")
    with pytest.raises(ValidationError) as error:
        _propose(partner, personas, world, ["identity", "counselling"])
    assert "categories" in error.value.message_dict
    assert not CrossHandover.objects.exists()


def test_a_disclosure_leaves_out_what_the_model_keeps_from_the_receiving_sector(
    partner, personas, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        handover = _propose(partner, personas, world, ["case_coordination", "counselling"])
    acceptance = partner.message(
        "acceptance", {"organisation": "Politie", "reference": "NL-1"}, thread=handover.thread
    )
    assert partner.send(Client(), acceptance)[0] == 200
    _to_security(partner.agreement, "send")  # the term changed after the proposal
    handover.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.handover_disclose(actor=personas.partner, handover=handover)
    disclosure = partner.received[-1]
    assert disclosure["type"] == "disclosure"
    assert {item["category"] for item in disclosure["body"]["items"]} == {"case_coordination"}


def test_nothing_is_disclosed_when_every_named_category_is_kept(
    partner, personas, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        handover = _propose(partner, personas, world, ["counselling"])
    acceptance = partner.message(
        "acceptance", {"organisation": "Politie", "reference": "NL-1"}, thread=handover.thread
    )
    partner.send(Client(), acceptance)
    _to_security(partner.agreement, "send")
    handover.refresh_from_db()
    with pytest.raises(ValidationError):
        services.handover_disclose(actor=personas.partner, handover=handover)
    assert partner.received[-1]["type"] == "handover_request"


def test_the_receiver_refuses_a_request_announcing_what_its_model_keeps(partner):
    _to_security(partner.agreement, "receive")
    request = partner.message(
        "handover_request", request_body(categories=["counselling"]), thread=new_thread()
    )
    status, answer = partner.send(Client(), request)
    assert (status, answer["body"]["code"]) == (422, "not_accepted")
    assert not CrossHandover.objects.exists()


def test_the_receiver_refuses_a_disclosure_of_what_its_model_keeps(partner, personas):
    request = partner.message(
        "handover_request",
        request_body(categories=["case_coordination", "counselling"]),
        thread=new_thread(),
    )
    partner.send(Client(), request)
    services.handover_accept(
        actor=personas.partner,
        handover=CrossHandover.objects.get(),
        organisation=org(personas.partner),
    )
    _to_security(partner.agreement, "receive")
    disclosure = partner.message(
        "disclosure",
        {"items": [{"category": "counselling", "title": "Talk", "text": "x"}]},
        thread=request["thread"],
    )
    status, answer = partner.send(Client(), disclosure)
    assert (status, answer["body"]["code"]) == (422, "not_accepted")
    assert not Entry.objects.filter(case=CrossHandover.objects.get().case).exists()
