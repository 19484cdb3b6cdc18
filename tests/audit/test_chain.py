"""The audit chain detects edits, deletions, insertions, reordering and truncation."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from casebridge.audit.models import AuditEvent, ChainHead
from casebridge.audit.services import audit_record, audit_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    AuditEvent.objects.all().delete()
    ChainHead.objects.all().delete()
    for number in range(6):
        audit_record(actor=None, action="test.event", object_type="test", object_id=number)
    return list(AuditEvent.objects.order_by("sequence"))


def test_intact_chain_verifies(chain):
    assert audit_verify() == (6, None)
    call_command("audit", "verify")


def test_edited_event_is_detected(chain):
    AuditEvent.objects.filter(sequence=3).update(action="test.other")
    checked, broken = audit_verify()
    assert (checked, broken.sequence, broken.problem) == (2, 3, "content does not match its hash")


def test_deleted_event_is_detected(chain):
    AuditEvent.objects.filter(sequence=4).delete()
    _checked, broken = audit_verify()
    assert broken.sequence == 4
    assert broken.problem == "event 4 is missing"


def test_inserted_event_is_detected(chain):
    fake = chain[2]
    AuditEvent.objects.filter(sequence__gte=4).update(sequence=models_offset())
    _shift_back()
    AuditEvent.objects.create(
        sequence=4,
        occurred_at=fake.occurred_at,
        action="test.forged",
        prev_hash=fake.hash,
        hash="f" * 64,
    )
    _checked, broken = audit_verify()
    assert broken.sequence == 4


def models_offset():
    from django.db.models import F

    return F("sequence") + 1000


def _shift_back():
    from django.db.models import F

    AuditEvent.objects.filter(sequence__gte=1000).update(sequence=F("sequence") - 999)


def test_reordered_events_are_detected(chain):
    AuditEvent.objects.filter(sequence=2).update(sequence=100)
    AuditEvent.objects.filter(sequence=3).update(sequence=2)
    AuditEvent.objects.filter(sequence=100).update(sequence=3)
    _checked, broken = audit_verify()
    assert broken.sequence == 2
    assert broken.problem == "link to the previous event is broken"


def test_truncated_tail_is_detected(chain):
    AuditEvent.objects.filter(sequence__gte=5).delete()
    checked, broken = audit_verify()
    assert checked == 4
    assert broken.problem == "events after this point were removed"


def test_verify_command_fails_and_names_the_place(chain):
    AuditEvent.objects.filter(sequence=5).update(details={"changed": True})
    with pytest.raises(CommandError, match="audit chain broken at event 5"):
        call_command("audit", "verify")
