"""The app recovers from lost PostgreSQL connections without manual steps.

A PostgreSQL restart ends every backend; from the app's side that is the same as
pg_terminate_backend() on each of its connections (the server is shared by other tests,
so we end only ours). Persistent connections (CONN_MAX_AGE) are then dead; with
CONN_HEALTH_CHECKS Django notices at the start of the next request and reconnects.
"""

from __future__ import annotations

import pytest

from tests.robustness.server import Browser, Installation, api_post, psql

pytestmark = pytest.mark.slow

PAGES = ["/", "/hotline/", "/hotline/contacts/", "/network/organisations/"]


def terminate_backends(database: str) -> int:
    """End every connection to ``database``; return how many there were."""
    ended = psql(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()) AS ended"
    )
    return int(ended)


def contact(
    started_at: str = "2026-01-05T10:00:00Z", ended_at: str = "2026-01-05T10:20:00Z"
) -> dict:
    return {
        "started_at": started_at,
        "ended_at": ended_at,  # a past call names its end
        "caller_category": "parents_relatives",
        "contact_category": "general_information",
    }


def test_requests_succeed_right_after_the_database_dropped_every_connection(tmp_path, postgres_url):
    database = postgres_url.rsplit("/", 1)[1]
    installation = Installation(root=tmp_path, database_url=postgres_url)
    installation.prepare_demo()
    token = installation.api_token("hotline")
    with installation.server(workers=2) as server:
        browser = Browser(server.url)
        browser.sign_in("hotline", "demo-hotline-2026")
        # Warm up: every worker holds a persistent connection.
        for _ in range(3):
            for page in PAGES:
                assert browser.get(page)[0] == 200, page
        for round_ in range(3):
            assert terminate_backends(database) >= 1, "the app held no connection to end"
            # The very next requests succeed: no 500, no manual restart.
            for page in PAGES:
                status, _body = browser.get(page)
                assert status == 200, (round_, page, status)
            status, created = api_post(server.url, "/api/v1/hotline/contacts", token, contact())
            assert status == 201, created
            assert created["id"] > 0
        log = server.log.read_text()
    assert " 500 " not in log
    assert "Traceback" not in log
