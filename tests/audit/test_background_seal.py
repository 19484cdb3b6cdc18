"""Sealing in a thread of the process (``AUDIT_SEAL_IN_BACKGROUND``, the default on
PostgreSQL): the request does not seal, the thread does, the chain is the same, and a seal
that fails leaves the events pending for the next one. kill -9 with the thread running is
tested against a real server in tests/robustness/test_crash.py (PostgreSQL installation)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from casebridge.audit import chain
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_record, audit_verify, background_sealer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="PostgreSQL only (settings refuse the sealer thread on SQLite)",
    ),
]


@pytest.fixture
def in_background(settings):
    settings.AUDIT_SEAL_IN_BACKGROUND = True
    yield
    assert background_sealer.stop(10)  # its connection closed: the test database can go


@pytest.fixture
def sealed_in(monkeypatch):
    """The names of the threads that ran a seal."""
    threads: list[str] = []
    original = chain.seal_batch

    def seal_batch(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(chain, "seal_batch", seal_batch)
    return threads


def pending() -> int:
    return AuditEvent.objects.filter(sequence__isnull=True).count()


def test_a_request_wakes_the_sealer_and_does_not_seal_itself(personas, in_background, sealed_in):
    client = personas.client(personas.partner)
    for _ in range(3):
        assert client.get(reverse("cases:list")).status_code == 200
    assert background_sealer.wait_idle(10)
    assert pending() == 0
    assert sealed_in and set(sealed_in) == {"audit-sealer"}
    assert audit_verify().ok


def test_events_of_many_threads_are_all_chained_in_order(personas, in_background):
    def write(n: int) -> None:
        try:
            for i in range(10):
                audit_record(
                    actor=personas.partner,
                    action="test.background",
                    object_id=n * 100 + i,
                    details={"writer": n, "i": i},
                )
        finally:
            connection.close()  # this thread's own connection

    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert background_sealer.wait_idle(10)
    assert pending() == 0
    rows = [
        ((event.details["writer"], event.details["i"]), event.sequence)
        for event in AuditEvent.objects.filter(action="test.background")
    ]
    sequences = [sequence for _key, sequence in rows]
    assert len(rows) == 40 and None not in sequences and len(set(sequences)) == 40
    # The chain follows the order of commits. Across threads that is not the order of the
    # ids (an id is taken at insert; a later id may commit first, and the sealer chains
    # what it sees committed), so only each thread's own events are in a known order.
    for n in range(4):
        own = [seq for (writer, _i), seq in sorted(rows) if writer == n]
        assert len(own) == 10 and own == sorted(own)
    assert audit_verify().ok


def test_a_failed_seal_leaves_the_events_pending_for_the_next(
    personas, in_background, monkeypatch, caplog
):
    original = chain.seal_batch
    failures = []

    def failing(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise RuntimeError("the database went away")
        return original(*args, **kwargs)

    monkeypatch.setattr(chain, "seal_batch", failing)
    audit_record(actor=personas.partner, action="test.background.fail")
    assert background_sealer.wait_idle(10)
    assert failures and pending() >= 1  # nothing lost, nothing chained yet
    assert "the background seal failed" in caplog.text
    assert "test.background.fail" not in caplog.text  # no content in the log
    audit_record(actor=personas.partner, action="test.background.next")
    assert background_sealer.wait_idle(10)
    assert pending() == 0
    assert audit_verify().ok


def test_off_the_request_seals_as_before(personas, settings, sealed_in):
    settings.AUDIT_SEAL_IN_BACKGROUND = False
    assert personas.client(personas.partner).get(reverse("cases:list")).status_code == 200
    assert pending() == 0
    assert set(sealed_in) == {threading.current_thread().name}


def test_a_lost_connection_is_opened_again_without_an_error(
    personas, in_background, monkeypatch, caplog
):
    """The server ended the sealer's session (restart, failover): the thread connects again
    and seals, with a warning and no traceback (tests/robustness/test_postgres_outage.py
    checks the same against a real server)."""
    from django.db import OperationalError

    original = chain.seal_batch
    lost = []

    def once_lost(*args, **kwargs):
        if not lost:
            lost.append(1)
            raise OperationalError("terminating connection due to administrator command")
        return original(*args, **kwargs)

    monkeypatch.setattr(chain, "seal_batch", once_lost)
    audit_record(actor=personas.partner, action="test.background.lost")
    assert background_sealer.wait_idle(10)
    assert lost and pending() == 0
    assert "connecting again" in caplog.text
    assert "the background seal failed" not in caplog.text and "Traceback" not in caplog.text
    assert audit_verify().ok
