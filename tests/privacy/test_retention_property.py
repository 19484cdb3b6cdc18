"""Retention keeps its word at any ``now``: the dry run reports exactly what the real run
does, a second run changes nothing, the ``retention.run`` marker survives and the audit
chain still verifies — with the real audit pruning, on a populated database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from casebridge.audit import signing
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_record, audit_verify, seal_pending
from casebridge.privacy.retention import retention_run
from tests.privacy.retention_data import NOW, counts, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def populated(everything_due, signing_key):
    """Every rule has a record due around today, and the audit log reaches back 25 years."""
    for years in range(25, 0, -1):
        event = audit_record(actor=None, action="test.event", details={"years": years})
        AuditEvent.objects.filter(pk=event.pk).update(occurred_at=NOW - timedelta(days=365 * years))
    seal_pending()
    return signing_key


def _new_actions(after_id: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(id__gt=after_id).order_by("id").values_list("action", flat=True)
    )


def _last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(now=MOMENTS)
@example(now=NOW)  # today: the records of `everything_due` around their limits
@example(now=NOW + timedelta(days=11 * 366))  # past the ten years of the audit log
@example(now=NOW + timedelta(days=100 * 366))  # beyond every period
@example(now=NOW - timedelta(days=30 * 366))  # before any record existed
def test_dry_run_equals_the_run_and_a_second_run_changes_nothing_at_any_now(
    now, populated, monkeypatch, tmp_path
):
    files = itertools.count()
    with transaction.atomic():
        # Each example is rolled back: it gets a checkpoint file of its own, or anchors of
        # a rolled-back example would contradict this one's chain.
        monkeypatch.setenv(signing.CHECKPOINT_ENV, str(tmp_path / f"cp-{next(files)}-{now:%s}"))
        records, last = snapshot(), _last_id()

        dry = retention_run(now=now, dry_run=True)

        assert snapshot() == records and _new_actions(last) == []
        real = retention_run(now=now, dry_run=False)
        assert counts(real) == counts(dry)
        records, last = snapshot(), _last_id()

        again = retention_run(now=now, dry_run=False)

        assert {key: n for key, n in counts(again).items() if n} == {}
        assert snapshot() == records
        assert _new_actions(last) == ["retention.run"]  # the record that it ran, nothing else
        assert AuditEvent.objects.filter(action="retention.run").count() == 2
        result = audit_verify()
        assert result.ok, result.broken
        transaction.set_rollback(True)
