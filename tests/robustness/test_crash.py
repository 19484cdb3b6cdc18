"""kill -9 of the app server during concurrent writes loses no acknowledged write, and the
audit chain verifies afterwards (events committed but not yet sealed are sealed then)."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error

import pytest

from tests.robustness.server import api_post

pytestmark = pytest.mark.slow

WRITERS = 8


def contact(writer: int, number: int) -> dict:
    return {
        "started_at": "2026-01-05T10:00:00Z",
        "ended_at": "2026-01-05T10:20:00Z",  # a past call names its end
        "caller_category": "parents_relatives",
        "contact_category": "general_information",
        "summary": f"crash test writer {writer} number {number}",
        "concern_topics": [],
    }


def test_kill_9_during_concurrent_writes_loses_no_acknowledged_write(installation):
    token = installation.api_token("hotline")
    acknowledged: list[int] = []
    failed = []
    stop = threading.Event()

    with installation.server(workers=3) as server:

        def writer(number: int) -> None:
            sent = 0
            while not stop.is_set():
                sent += 1
                try:
                    status, body = api_post(
                        server.url, "/api/v1/hotline/contacts", token, contact(number, sent), 10
                    )
                except (
                    urllib.error.URLError,
                    http.client.HTTPException,  # e.g. IncompleteRead: killed mid-answer
                    ConnectionError,
                    TimeoutError,
                    OSError,
                ):
                    failed.append(number)  # no whole answer: the write may or may not be there
                    continue
                if status == 201:
                    acknowledged.append(body["id"])
                elif status != 201:
                    failed.append((number, status))

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        before_kill = len(acknowledged)
        server.kill9()  # master and workers at once, mid-flight
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert server.pids() == []

    assert before_kill >= 40, "too few writes before the kill to test anything"
    assert failed, "no request was cut off: the kill did not happen mid-flight"
    assert len(set(acknowledged)) == len(acknowledged)

    # Every acknowledged contact is there, each with its audit event.
    found = installation.python(
        "from casebridge.hotline.models import Contact\n"
        "from casebridge.audit.models import AuditEvent\n"
        f"ids = {sorted(acknowledged)!r}\n"
        "print(Contact.objects.filter(pk__in=ids).count())\n"
        "print(AuditEvent.objects.filter(action='hotline.contact.create',"
        " object_id__in=[str(i) for i in ids]).values('object_id').distinct().count())\n"
    ).split()
    assert found == [str(len(acknowledged))] * 2

    result = installation.run("audit", "verify", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit chain intact" in result.stdout
