"""Events a request writes outside a transaction are sealed once, when the request ends.

Tests run inside a transaction that never commits, so "outside a transaction" is what
``audit_record`` is told here (``outside_transactions``); sealing itself runs for real.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import reverse

from casebridge.audit import chain
from casebridge.audit import services as audit_services
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_record, seal_pending, sealing_at_the_end

pytestmark = pytest.mark.django_db


@pytest.fixture
def outside_transactions(monkeypatch):
    """audit_record behaves as under autocommit, where each event commits on its own."""
    seal_pending()
    monkeypatch.setattr(
        audit_services, "connection", SimpleNamespace(in_atomic_block=False, run_on_commit=[])
    )


@pytest.fixture
def seals(monkeypatch):
    """How many sealing transactions took the chain head's lock."""
    taken = []
    original = chain.lock_head

    def lock_head(cursor, **kwargs):
        taken.append(kwargs)
        return original(cursor, **kwargs)

    monkeypatch.setattr(chain, "lock_head", lock_head)
    return taken


def _pending():
    return AuditEvent.objects.filter(sequence__isnull=True).count()


def test_events_outside_transactions_are_sealed_once_at_the_end(
    outside_transactions, seals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, sealing_at_the_end():
        audit_record(actor=None, action="test.read")
        audit_record(actor=None, action="test.read")
        assert _pending() == 2  # committed, not yet chained
        assert seals == []
    assert callbacks == []
    assert _pending() == 0
    assert len(seals) == 1
    assert audit_services.audit_verify().broken is None


def test_a_seal_after_a_later_transaction_covers_the_earlier_events(outside_transactions, seals):
    with sealing_at_the_end():
        audit_record(actor=None, action="test.read")
        # the request's write transaction commits: its seal chains everything pending
        audit_services.seal_after_commit()
        assert _pending() == 0
    assert len(seals) == 1  # nothing left for the end of the request


def test_without_a_request_an_event_outside_a_transaction_is_sealed_at_once(
    outside_transactions, seals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        audit_record(actor=None, action="test.cli")
    assert len(callbacks) == 1
    assert _pending() == 0


def test_a_request_seals_its_read_events_before_it_answers(personas, monkeypatch, seals):
    from casebridge.cases import services as case_services
    from casebridge.network.models import Organisation

    case = case_services.case_open(
        actor=personas.partner,
        owner=Organisation.objects.get(memberships__user=personas.partner),
        pseudonym="P 1",
    )
    client = personas.client(personas.partner)
    seal_pending()
    seals.clear()
    monkeypatch.setattr(
        audit_services, "connection", SimpleNamespace(in_atomic_block=False, run_on_commit=[])
    )
    response = client.get(reverse("cases:case", args=[case.pk]))
    assert response.status_code == 200
    viewed = AuditEvent.objects.filter(action="cases.case.view", object_id=str(case.pk))
    assert viewed.exists()
    assert not viewed.filter(sequence__isnull=True).exists()
    assert len(seals) == 1
