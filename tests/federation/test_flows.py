"""Handovers, matches and consultations through the services, with a partner in process."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from casebridge.audit.models import AuditEvent
from casebridge.cases.models import Case, Entry
from casebridge.federation import protocol, services
from casebridge.federation.models import CrossHandover, Message
from tests.builders import org
from tests.federation.partner import new_thread, request_body

pytestmark = pytest.mark.django_db


def test_a_consultation_names_nobody_and_returns_the_partners_answer(partner, personas):
    answer = services.consult(
        actor=personas.partner, agreement=partner.agreement, postcode="3011 AB", language="nl"
    )
    assert answer.covered is True
    sent = partner.received[-1]
    assert sent["type"] == "consultation"
    assert set(sent["body"]) == {"postcode", "language", "age_band"}
    record = Message.objects.get()
    assert (record.direction, record.status, record.type) == ("out", "delivered", "consultation")
    assert record.answer_hash


def test_only_staff_under_the_agreement_consult(partner, personas):
    with pytest.raises(PermissionDenied):
        services.consult(actor=personas.partner_other, agreement=partner.agreement, postcode="1")
    assert not Message.objects.exists()


def test_a_received_consultation_is_answered_from_the_agreements_organisations(partner, personas):
    message = partner.message("consultation", {"postcode": "20095", "language": "de"})
    status, answer = partner.send(Client(), message)
    assert status == 200
    assert answer["type"] == "consultation_reply"
    names = [offer["organisation"] for offer in answer["body"]["organisations"]]
    assert names == [org(personas.partner).name]


def test_a_person_match_sends_digests_only_and_finds_the_same_person(partner, personas, world):
    assert services.match(actor=personas.partner, agreement=partner.agreement, case=world.case)
    sent = partner.received[-1]
    assert "Beispiel" not in protocol.canonical(sent).decode()
    # the partner asks us about the same person (its own spelling): a match
    digests = protocol.match_digests(b"k" * 32, "ALI", "beíspiel", "2008-03-01")
    status, answer = partner.send(Client(), partner.message("match", {"digests": digests}))
    assert (status, answer["body"]["result"]) == (200, "match")
    other = protocol.match_digests(b"k" * 32, "Ali", "Beispiel", "2008-03-02")
    _status, answer = partner.send(Client(), partner.message("match", {"digests": other}))
    assert answer["body"]["result"] == "none"
    # the question about somebody we do not know left no digest behind
    assert all(m.envelope == "" for m in Message.objects.filter(direction="in"))


def test_a_handover_from_the_partner_becomes_a_case_here_under_this_model(
    partner, personas, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    request = partner.message("handover_request", request_body(), thread=new_thread())
    partner.send(Client(), request)
    handover = CrossHandover.objects.get()
    with capture(execute=True):
        services.handover_accept(
            actor=personas.partner, handover=handover, organisation=org(personas.partner)
        )
    acceptance = partner.received[-1]
    assert acceptance["type"] == "acceptance" and acceptance["thread"] == request["thread"]
    case = Case.objects.get(pk=CrossHandover.objects.get().case_id)
    assert case.owner == org(personas.partner)
    disclosure = partner.message(
        "disclosure",
        {
            "items": [
                {
                    "category": "identity",
                    "identity": {"first_name": "Rana", "last_name": "Voorbeeld"},
                },
                {"category": "case_coordination", "title": "Plan", "text": "Weekly talks."},
            ]
        },
        thread=request["thread"],
    )
    status, receipt = partner.send(Client(), disclosure)
    assert (status, receipt["type"]) == (200, "receipt")
    assert receipt["body"] == {"items": 2, "reference": case.number}
    case.refresh_from_db()
    assert case.last_name == "Voorbeeld"
    assert Entry.objects.get(case=case).text == "Weekly talks."
    assert CrossHandover.objects.get().status == "completed"


def test_a_disclosure_of_an_item_not_announced_is_refused_whole(partner, personas):
    request = partner.message(
        "handover_request", request_body(categories=["case_coordination"]), thread=new_thread()
    )
    partner.send(Client(), request)
    services.handover_accept(
        actor=personas.partner,
        handover=CrossHandover.objects.get(),
        organisation=org(personas.partner),
    )
    disclosure = partner.message(
        "disclosure",
        {
            "items": [
                {"category": "case_coordination", "title": "Plan", "text": "x"},
                {"category": "counselling", "title": "Talk", "text": "y"},
            ]
        },
        thread=request["thread"],
    )
    status, answer = partner.send(Client(), disclosure)
    assert (status, answer["body"]["code"]) == (403, "category_not_allowed")
    assert not Entry.objects.exists()
    assert CrossHandover.objects.get().status == "accepted"


def _propose(partner, personas, world, capture):
    with capture(execute=True):
        return services.handover_propose(
            actor=personas.partner,
            agreement=partner.agreement,
            case=world.case,
            postcode="3011 AB",
            language="nl",
            reason="The family moved to Rotterdam.",
            categories=["identity", "case_coordination"],
            consent_note="Agreed on 3 December in the office.",
        )


def test_a_case_handed_over_leaves_with_what_was_named_and_closes_here(
    partner, personas, world, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    handover = _propose(partner, personas, world, capture)
    assert partner.received[-1]["type"] == "handover_request"
    acceptance = partner.message(
        "acceptance",
        {"organisation": "Stichting Perspectief", "reference": "NL-2026-0001"},
        thread=handover.thread,
    )
    status, _answer = partner.send(Client(), acceptance)
    assert status == 200
    handover.refresh_from_db()
    assert handover.status == "accepted"
    with capture(execute=True):
        services.handover_disclose(actor=personas.partner, handover=handover)
    disclosure = partner.received[-1]
    categories = {item["category"] for item in disclosure["body"]["items"]}
    assert categories == {"identity", "case_coordination"}  # no counselling, no security
    handover.refresh_from_db()
    assert handover.status == "completed"
    world.case.refresh_from_db()
    assert world.case.status == "closed"
    assert world.case.closing_reason.code == "moved_away"
    assert AuditEvent.objects.filter(action="federation.message.send").count() == 2


def test_a_handover_cannot_name_a_category_the_agreement_keeps(partner, personas, world):
    with pytest.raises(ValidationError) as error:
        services.handover_propose(
            actor=personas.partner,
            agreement=partner.agreement,
            case=world.case,
            postcode="3011 AB",
            reason="r",
            categories=["security"],
            consent_note="yes",
        )
    assert "categories" in error.value.message_dict
    assert not CrossHandover.objects.exists() and not partner.received


def test_with_the_partner_down_nothing_is_lost_and_it_arrives_once_in_order(
    partner, personas, world, django_capture_on_commit_callbacks
):
    partner.reachable = False
    handover = _propose(partner, personas, world, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.handover_withdraw(actor=personas.partner, handover=handover)
    assert Message.objects.filter(status="pending").count() == 2
    assert services.deliver_pending()["waiting"] == 1  # the first is due later, in order
    partner.reachable = True
    Message.objects.update(next_attempt_at=None)
    assert services.deliver_pending() == {"delivered": 2, "refused": 0, "waiting": 0}
    assert [m["type"] for m in partner.received] == ["handover_request", "withdrawal"]
    assert services.deliver_pending() == {"delivered": 0, "refused": 0, "waiting": 0}


def test_a_handover_opens_only_in_the_sector_the_agreement_receives_in(partner, personas):
    terms = partner.agreement.terms
    for term in terms["receive"]:
        if term["purpose"] == "handover":
            term["receiving_sector"] = "state_counselling"
    partner.agreement.save(update_fields=["terms"])
    request = partner.message("handover_request", request_body(), thread=new_thread())
    partner.send(Client(), request)
    with pytest.raises(ValidationError) as error:
        services.handover_accept(
            actor=personas.partner,
            handover=CrossHandover.objects.get(),
            organisation=org(personas.partner),
        )
    assert "organisation" in error.value.message_dict
    assert CrossHandover.objects.get().status == "requested"
    assert not Case.objects.exists()


def test_an_operator_delivers_at_once_what_waits_for_its_next_attempt(
    partner, personas, world, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    partner.reachable = False
    _propose(partner, personas, world, django_capture_on_commit_callbacks)
    partner.reachable = True
    call_command("federation", "deliver")
    assert Message.objects.get().status == "pending"  # its next attempt is later
    call_command("federation", "deliver", "--now")
    assert Message.objects.get().status == "delivered"
    assert [m["type"] for m in partner.received] == ["handover_request"]
