"""The inbox: what a partner's message must be to be taken, and what a refusal leaves."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client

from casebridge.audit.models import AuditEvent
from casebridge.federation import protocol
from casebridge.federation.models import CrossHandover, Message
from tests.federation.partner import new_thread, request_body

pytestmark = pytest.mark.django_db


def _request(partner, **overrides):
    return partner.message("handover_request", request_body(**overrides), thread=new_thread())


def _nothing_taken():
    assert CrossHandover.objects.count() == 0
    assert not Message.objects.exclude(status="refused").exists()


def test_a_handover_request_is_taken_answered_signed_and_recorded_with_both_hashes(partner):
    message = _request(partner)
    status, answer = partner.send(Client(), message)
    assert status == 200
    assert answer["type"] == "ack"
    assert answer["in_reply_to"] == protocol.message_hash(message)
    handover = CrossHandover.objects.get()
    assert (handover.direction, handover.status) == ("in", "requested")
    assert handover.categories == ["identity", "case_coordination"]
    record = Message.objects.get()
    assert record.hash == protocol.message_hash(message)
    assert record.answer_hash == protocol.message_hash(answer)
    event = AuditEvent.objects.get(action="federation.message.receive")
    assert event.details["message"] == record.hash
    assert event.details["answer"] == record.answer_hash
    assert "Rotterdam" not in json.dumps(event.details)  # no content in the audit


@pytest.mark.parametrize(
    ("spoil", "status", "code"),
    [
        ("tampered", 401, "bad_signature"),
        ("other_key", 401, "bad_signature"),
        ("unsigned", 400, "malformed"),
        ("not_json", 400, "malformed"),
        ("version", 400, "unsupported_version"),
        ("unknown_partner", 403, "unknown_partner"),
        ("unknown_agreement", 403, "agreement_not_in_force"),
        ("other_recipient", 403, "wrong_recipient"),
        ("stale", 400, "stale"),
        ("future", 400, "stale"),
        ("category", 403, "category_not_allowed"),
        ("schema", 400, "invalid_body"),
        ("reply_type", 409, "out_of_order"),
    ],
)
def test_a_spoiled_message_is_refused_with_a_reason_both_sides_read_and_changes_nothing(
    partner, spoil, status, code
):
    message = _request(partner)
    key, raw = None, None
    if spoil == "tampered":
        raw = partner.wire(message)
        raw = raw.replace(b"The family moved", b"The family fled!")
    elif spoil == "other_key":
        key = Ed25519PrivateKey.generate()
    elif spoil == "unsigned":
        raw = protocol.canonical({"message": message})
    elif spoil == "not_json":
        raw = b"{not json"
    elif spoil == "version":
        message["version"] = 2
    elif spoil == "unknown_partner":
        message["sender"] = "somebody-else"
    elif spoil == "unknown_agreement":
        message["agreement"] = "another-agreement"
    elif spoil == "other_recipient":
        message["recipient"] = "de-elsewhere"
    elif spoil == "stale":
        message["sent_at"] = protocol.now_text(datetime.now(UTC) - timedelta(days=8))
    elif spoil == "future":
        message["sent_at"] = protocol.now_text(datetime.now(UTC) + timedelta(hours=1))
    elif spoil == "category":
        message["body"]["categories"] = ["identity", "security"]
    elif spoil == "schema":
        message["body"]["reason"] = ""
    elif spoil == "reply_type":
        message["type"], message["body"] = "receipt", {"items": 1, "reference": ""}
    answer_status, answer = partner.send(Client(), message, key=key, raw=raw)
    assert answer_status == status
    assert answer["type"] == "refusal"
    assert answer["body"]["code"] == code
    assert set(answer["body"]["reason"]) == {"en", "de"}
    if code == "unsupported_version":
        assert answer["body"]["versions"] == [1]
    _nothing_taken()
    refusal = Message.objects.get(status="refused")
    assert refusal.refusal_code == code
    assert refusal.envelope == "" and refusal.answer == ""
    assert AuditEvent.objects.filter(action="federation.message.receive", outcome="denied").exists()


def test_an_agreement_past_its_term_refuses_messages(partner):
    partner.agreement.valid_until = date.today() - timedelta(days=1)
    partner.agreement.save()
    status, answer = partner.send(Client(), _request(partner))
    assert (status, answer["body"]["code"]) == (403, "agreement_not_in_force")
    _nothing_taken()


def test_a_repeated_message_is_taken_once_and_answered_as_the_first_time(partner):
    message = _request(partner)
    first = partner.send(Client(), message)
    again = partner.send(Client(), message)
    assert first == again
    assert CrossHandover.objects.count() == 1
    assert Message.objects.count() == 1
    assert AuditEvent.objects.filter(action="federation.message.repeat").count() == 1


def test_another_message_under_a_used_id_is_refused_as_a_replay(partner):
    message = _request(partner)
    partner.send(Client(), message)
    changed = {**message, "body": {**message["body"], "reason": "Something else."}}
    status, answer = partner.send(Client(), changed)
    assert (status, answer["body"]["code"]) == (409, "replayed")
    assert CrossHandover.objects.get().reason == "The family moved to Hamburg."


@pytest.mark.parametrize("kind", ["disclosure", "acceptance", "withdrawal"])
def test_a_thread_message_without_its_request_is_out_of_order(partner, kind):
    bodies = {
        "disclosure": {"items": [{"category": "case_coordination", "title": "t"}]},
        "acceptance": {"organisation": "X", "reference": "NL-1"},
        "withdrawal": {"reason": ""},
    }
    message = partner.message(kind, bodies[kind], thread=new_thread())
    status, answer = partner.send(Client(), message)
    assert (status, answer["body"]["code"]) == (409, "out_of_order")
    _nothing_taken()


def test_a_disclosure_before_acceptance_is_out_of_order(partner):
    request = _request(partner)
    partner.send(Client(), request)
    disclosure = partner.message(
        "disclosure",
        {"items": [{"category": "case_coordination", "title": "Plan", "text": "x"}]},
        thread=request["thread"],
    )
    status, answer = partner.send(Client(), disclosure)
    assert (status, answer["body"]["code"]) == (409, "out_of_order")
    assert CrossHandover.objects.get().status == "requested"
