"""The audit chain detects edits, deletions, insertions, reordering and truncation."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import F

from casebridge.audit.chain import SEPARATOR, digest
from casebridge.audit.models import AuditEvent, ChainHead
from casebridge.audit.services import audit_record, audit_verify, seal_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    AuditEvent.objects.all().delete()
    ChainHead.objects.all().delete()
    for number in range(6):
        audit_record(actor=None, action="test.event", object_type="test", object_id=number)
    # Tests run inside a transaction that never commits: seal as the commit would.
    assert seal_pending() == 6
    return list(AuditEvent.objects.order_by("sequence"))


def test_intact_chain_verifies(chain):
    result = audit_verify()
    assert (result.checked, result.broken, result.pending) == (6, None, 0)
    assert [e.sequence for e in chain] == [1, 2, 3, 4, 5, 6]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    call_command("audit", "verify")


def test_edited_event_is_detected(chain):
    AuditEvent.objects.filter(sequence=3).update(action="test.other")
    result = audit_verify()
    assert (result.checked, result.broken.sequence, result.broken.problem) == (
        2,
        3,
        "content does not match its hash",
    )


@pytest.mark.parametrize(
    "change",
    [
        {"actor_label": "someone"},
        {"object_id": "99"},
        {"outcome": "denied"},
        {"purpose": "other"},
        {"remote_addr": "10.0.0.9"},
        {"details": {"count": 2}},
        {"occurred_at": F("occurred_at") + __import__("datetime").timedelta(microseconds=1)},
    ],
)
def test_every_field_is_covered_by_the_hash(chain, change):
    AuditEvent.objects.filter(sequence=2).update(**change)
    assert audit_verify().broken.sequence == 2


def test_deleted_event_is_detected(chain):
    AuditEvent.objects.filter(sequence=4).delete()
    broken = audit_verify().broken
    assert broken.sequence == 4
    assert broken.problem == "event 4 is missing"


def test_inserted_event_is_detected(chain):
    fake = chain[2]
    AuditEvent.objects.filter(sequence__gte=4).update(sequence=F("sequence") + 1000)
    AuditEvent.objects.filter(sequence__gte=1000).update(sequence=F("sequence") - 999)
    AuditEvent.objects.create(
        sequence=4,
        occurred_at=fake.occurred_at,
        action="test.forged",
        prev_hash=fake.hash,
        hash="f" * 64,
    )
    broken = audit_verify().broken
    assert (broken.sequence, broken.problem) == (4, "content does not match its hash")


def test_reordered_events_are_detected(chain):
    AuditEvent.objects.filter(sequence=2).update(sequence=100)
    AuditEvent.objects.filter(sequence=3).update(sequence=2)
    AuditEvent.objects.filter(sequence=100).update(sequence=3)
    broken = audit_verify().broken
    assert broken.sequence == 2
    assert broken.problem == "link to the previous event is broken"


def test_truncated_tail_is_detected(chain):
    AuditEvent.objects.filter(sequence__gte=5).delete()
    result = audit_verify()
    assert result.checked == 4
    assert (result.broken.sequence, result.broken.problem) == (
        5,
        "events after this point were removed",
    )


def test_verify_command_fails_and_names_the_place(chain):
    AuditEvent.objects.filter(sequence=5).update(details={"changed": True})
    with pytest.raises(CommandError, match="audit chain broken at event 5"):
        call_command("audit", "verify")


def test_a_separator_smuggled_into_a_field_breaks_the_chain(chain):
    """Moving text across a field boundary with the separator cannot keep the hash."""
    AuditEvent.objects.filter(sequence=3).update(
        action="test.event" + SEPARATOR + "test", object_type=""
    )
    assert audit_verify().broken.sequence == 3


def test_writers_remove_the_separator(chain):
    event = audit_record(actor=None, action="test" + SEPARATOR + "x", purpose="a" + SEPARATOR)
    seal_pending()
    event.refresh_from_db()
    assert (event.action, event.purpose) == ("test x", "a ")
    assert audit_verify().broken is None


def test_the_hash_format_is_the_documented_one(chain):
    """SHA-256(prev US sequence US content); content = the fields in a fixed order."""
    event = chain[0]
    content = SEPARATOR.join(
        [
            event.occurred_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "",
            "system",
            "test.event",
            "test",
            "",  # object id 0 is written as "" (falsy), as before
            "ok",
            "",
            "",
            "{}",
        ]
    )
    assert event.hash == digest("0" * 64, 1, content)


def test_a_rolled_back_write_leaves_no_event(chain):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="test.rolled_back")
        raise RuntimeError("the caller's change failed")
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    assert seal_pending() == 0


def test_events_are_sealed_once_the_transaction_commits(django_capture_on_commit_callbacks):
    seal_pending()
    head = ChainHead.objects.get()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        first = audit_record(actor=None, action="test.a")
        second = audit_record(actor=None, action="test.b")
        # pending until the commit: no sequence, no lock taken
        assert AuditEvent.objects.get(pk=first.pk).sequence is None
    assert len(callbacks) == 1  # one seal per transaction, however many events
    sealed = AuditEvent.objects.filter(pk__in=[first.pk, second.pk]).order_by("sequence")
    assert [e.sequence for e in sealed] == [head.sequence + 1, head.sequence + 2]
    assert ChainHead.objects.get().sequence == head.sequence + 2
    assert audit_verify().broken is None


def test_verify_reports_and_seals_pending_events(chain, capsys):
    audit_record(actor=None, action="test.pending")
    audit_record(actor=None, action="test.pending")
    assert audit_verify(seal=False).pending == 2
    call_command("audit", "verify")
    assert "8 events verified" in capsys.readouterr().out
    assert not AuditEvent.objects.filter(sequence__isnull=True).exists()


def test_ipv4_mapped_addresses_are_stored_as_ipv4(chain):
    from casebridge.audit.services import request_origin

    token = request_origin.set("::ffff:192.0.2.7")
    try:
        event = audit_record(actor=None, action="test.address")
    finally:
        request_origin.reset(token)
    assert event.remote_addr == "192.0.2.7"
    assert audit_verify().broken is None
