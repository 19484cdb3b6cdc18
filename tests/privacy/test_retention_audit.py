"""Retention prunes the audit log for real: old events go, the chain stays verifiable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_record, audit_verify, seal_pending
from casebridge.privacy.retention import retention_run

pytestmark = pytest.mark.django_db


def _events(count: int) -> None:
    for n in range(count):
        audit_record(actor=None, action="test.event", details={"n": n})
    seal_pending()


def test_retention_prunes_old_audit_events_and_the_chain_still_verifies(signing_key):
    _events(5)
    assert audit_verify().ok
    # Eleven years on, every event so far is past the ten years of the German model.
    later = timezone.now() + timedelta(days=11 * 366)
    before = AuditEvent.objects.count()
    dry = {r.rule: r.count for r in retention_run(now=later, dry_run=True)}
    assert dry["audit.events"] >= 5
    assert AuditEvent.objects.count() == before
    done = {r.rule: r.count for r in retention_run(now=later, dry_run=False)}
    assert done == dry  # the run prunes exactly what the dry run counted, not its own events
    assert not AuditEvent.objects.filter(action="test.event").exists()
    result = audit_verify()
    assert result.ok, result.broken
    assert result.anchor is not None


def test_retention_without_a_signing_key_prunes_nothing_and_says_why(isolated_signing_files):
    _events(3)
    later = (timezone.now() + timedelta(days=11 * 366)).date().isoformat()
    with pytest.raises(Exception) as caught:
        call_command("retention", "run", "--now", later)
    assert "CASEBRIDGE_AUDIT_KEY_FILE" in str(caught.value)
    assert AuditEvent.objects.filter(action="test.event").count() == 3
