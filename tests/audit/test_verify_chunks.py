"""Verify checks whole chunks at once: it must find exactly what a plain walk finds.

A reference walk below recomputes every event's hash from the model's fields in Python,
one event at a time, as docs/development.md describes the format. Each tampering is
verified with chunk sizes that put the damage at the start, the middle and the end of a
chunk; the result must equal the reference's every time.
"""

from __future__ import annotations

import pytest
from django.db.models import F
from django.utils import timezone

from casebridge.audit.chain import GENESIS, SEPARATOR, digest
from casebridge.audit.models import AuditEvent, ChainHead, Checkpoint, canonical_json
from casebridge.audit.services import audit_checkpoint, audit_record, audit_verify, seal_pending

pytestmark = pytest.mark.django_db

EVENTS = 12
BATCH_SIZES = [1, 2, 5, 6, 11, EVENTS, 50000]


@pytest.fixture
def chain():
    AuditEvent.objects.all().delete()
    ChainHead.objects.all().delete()
    for number in range(1, EVENTS + 1):
        audit_record(
            actor=None,
            action="test.event",
            object_type="test",
            object_id=number,
            details={"n": number, "label": "Gespräch"},  # non-ASCII: hashed as UTF-8
        )
    assert seal_pending() == EVENTS


def reference_break() -> tuple[int, str] | None:
    """The first break, found one event at a time from the model's fields."""
    expected, prev = 1, GENESIS
    for event in AuditEvent.objects.filter(sequence__isnull=False).order_by("sequence"):
        if event.sequence != expected:
            return expected, f"event {expected} is missing"
        if event.prev_hash != prev:
            return event.sequence, "link to the previous event is broken"
        content = SEPARATOR.join(
            [
                event.occurred_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                str(event.actor_id or ""),
                event.actor_label,
                event.action,
                event.object_type,
                event.object_id,
                event.outcome,
                event.purpose,
                event.remote_addr or "",
                canonical_json(event.details),
            ]
        )
        if content.count(SEPARATOR) != 9 or digest(prev, expected, content) != event.hash:
            return event.sequence, "content does not match its hash"
        prev = event.hash
        expected += 1
    head = ChainHead.objects.get()
    if (head.sequence, head.hash) != (expected - 1, prev):
        return expected, "events after this point were removed"
    return None


def _edit(sequence):
    AuditEvent.objects.filter(sequence=sequence).update(action="test.other")


def _delete(sequence):
    AuditEvent.objects.filter(sequence=sequence).delete()


def _swap(sequence):
    AuditEvent.objects.filter(sequence=sequence).update(sequence=1000)
    AuditEvent.objects.filter(sequence=sequence + 1).update(sequence=sequence)
    AuditEvent.objects.filter(sequence=1000).update(sequence=sequence + 1)


def _null_prev(sequence):
    AuditEvent.objects.filter(sequence=sequence).update(prev_hash=None)


def _null_hash(sequence):
    AuditEvent.objects.filter(sequence=sequence).update(hash=None)


def _separator(sequence):
    AuditEvent.objects.filter(sequence=sequence).update(
        action="test.event" + SEPARATOR + "test", object_type=""
    )


def _one_microsecond(sequence):
    from datetime import timedelta

    AuditEvent.objects.filter(sequence=sequence).update(
        occurred_at=F("occurred_at") + timedelta(microseconds=1)
    )


def _edit_and_rehash_it(sequence):
    """Only the edited event's own hash recomputed: the next event's link breaks."""
    _edit(sequence)
    _rehash(sequence, sequence)


def _delete_and_relink(sequence):
    """An event removed and every later hash recomputed: only the gap in sequence shows."""
    _delete(sequence)
    _rehash(sequence + 1)


def _truncate(sequence):
    AuditEvent.objects.filter(sequence__gte=sequence).delete()


TAMPERINGS = [
    _edit,
    _delete,
    _swap,
    _null_prev,
    _null_hash,
    _separator,
    _one_microsecond,
    _edit_and_rehash_it,
    _delete_and_relink,
]


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_an_intact_chain_verifies_in_any_chunk_size(chain, batch_size):
    assert reference_break() is None
    result = audit_verify(batch_size=batch_size)
    assert (result.broken, result.checked, result.last) == (None, EVENTS, EVENTS)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("sequence", [1, 5, 6, 7, 11])
@pytest.mark.parametrize("tamper", [*TAMPERINGS, _truncate], ids=lambda f: f.__name__)
def test_chunked_verify_finds_what_the_reference_walk_finds(chain, tamper, sequence, batch_size):
    tamper(sequence)
    expected = reference_break()
    assert expected is not None  # every tampering here is detectable
    result = audit_verify(batch_size=batch_size)
    assert (result.broken.sequence, result.broken.problem) == expected
    assert result.checked == result.last == expected[0] - 1


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_a_field_holding_the_separator_is_refused_even_with_a_valid_hash(chain, batch_size):
    """Only a writer that bypasses ``audit_record`` stores the separator in a field; the
    hash alone would not tell ("a US b", "") from ("a", "b"), so verify counts them."""
    AuditEvent.objects.create(occurred_at=timezone.now(), action="test" + SEPARATOR + "x")
    assert seal_pending() == 1
    expected = reference_break()
    assert expected == (EVENTS + 1, "content does not match its hash")
    result = audit_verify(batch_size=batch_size)
    assert (result.broken.sequence, result.broken.problem) == expected


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_the_last_event_is_checked_too(chain, batch_size):
    _edit(EVENTS)
    result = audit_verify(batch_size=batch_size)
    assert (result.broken.sequence, result.checked) == (EVENTS, EVENTS - 1)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_a_rehashed_chain_is_caught_at_the_signed_checkpoint_in_any_chunk(
    chain, signing_key, batch_size
):
    """Someone edits event 4 and recomputes every hash after it: links and hashes agree
    again, but the signed checkpoint at 9 still names the old hash."""
    AuditEvent.objects.filter(sequence__gt=9).delete()
    ChainHead.objects.update(sequence=9, hash=AuditEvent.objects.get(sequence=9).hash)
    assert audit_checkpoint().sequence == 9
    for number in range(10, EVENTS + 1):  # the chain goes on after the checkpoint
        audit_record(actor=None, action="test.later", object_type="test", object_id=number)
    seal_pending()
    _edit(4)
    _rehash(4)
    assert reference_break() is None  # the chain alone no longer shows it
    assert Checkpoint.objects.count() == 1
    result = audit_verify(batch_size=batch_size)
    assert (result.broken.sequence, result.broken.problem) == (
        9,
        "event 9 does not match its signed checkpoint",
    )
    assert result.checked == 8


def _rehash(first: int, last: int | None = None) -> None:
    """Recompute the hashes of events ``first``..``last`` as a forger would (each linked to
    the event stored before it), and the chain head when the rehash reaches the end."""
    from django.db import connection

    from casebridge.audit.chain import content_sql

    before = AuditEvent.objects.filter(sequence__lt=first).order_by("-sequence").first()
    prev = before.hash if before else GENESIS
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sequence, {content_sql(connection.vendor)} FROM audit_auditevent "  # noqa: S608
            "WHERE sequence >= %s AND sequence <= %s ORDER BY sequence",
            [first, last or 10**9],
        )
        rows = cursor.fetchall()
    for sequence, content in rows:
        current = digest(prev, sequence, content)
        AuditEvent.objects.filter(sequence=sequence).update(prev_hash=prev, hash=current)
        prev = current
    if last is None:
        ChainHead.objects.update(sequence=rows[-1][0], hash=prev)
