"""A real standby (issue 21): statistics read from a streaming-replication standby, the
rest on the primary; the primary stops; the standby is promoted and the app carries on.

Two throwaway clusters of their own (tests/robustness/clusters.py: pg_createcluster,
pg_basebackup -R), never the shared one on 5432; both are dropped at the end, also when
the test fails. gunicorn runs the app as in production (tests/robustness/server.py).
"""

from __future__ import annotations

import os
import time
from datetime import date

import pytest

from tests.robustness import clusters
from tests.robustness.server import Browser, Installation, api_fetch, api_post

pytestmark = pytest.mark.slow

DATABASE = "casebridge"
YEAR = date.today().year
UNREACHABLE = "The database cannot be reached right now, so nothing was saved."


def contact() -> dict:
    return {
        "started_at": f"{YEAR}-01-05T10:00:00Z",
        "ended_at": f"{YEAR}-01-05T10:20:00Z",
        "caller_category": "parents_relatives",
        "contact_category": "general_information",
    }


def tokens(installation: Installation, *usernames: str) -> list[str]:
    """Personal API tokens for these demo users, in one ``casebridge shell``."""
    return installation.python(
        "from casebridge.accounts.models import User\n"
        "from casebridge.accounts.services import api_token_create\n"
        f"for name in {list(usernames)!r}:\n"
        "    user = User.objects.get(username=name)\n"
        "    print(api_token_create(actor=user, name='robustness')[1])\n"
    ).split()


def _wait_for(check, timeout: float = 30, what: str = "") -> float:
    """Poll ``check`` until it is true; return the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
def pair():
    missing = clusters.missing_tools()
    if missing:
        reason = (
            f"needs Debian's postgresql-common and postgresql-client ({', '.join(missing)} "
            "not found): apt-get install postgresql"
        )
        if os.environ.get("CASEBRIDGE_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (CASEBRIDGE_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    with clusters.replicated_pair() as found:
        yield found


def test_statistics_read_the_standby_and_the_app_carries_on_after_promotion(tmp_path, pair):
    primary, standby = pair
    started = time.monotonic()
    primary.sql(f'CREATE DATABASE "{DATABASE}"')
    _wait_for(
        lambda: (
            standby.sql(f"SELECT count(*) FROM pg_database WHERE datname = '{DATABASE}'") == "1"
        ),
        what="the database on the standby",
    )
    installation = Installation(root=tmp_path, database_url=primary.url(DATABASE))
    installation.env["DATABASE_REPLICA_URL"] = standby.url(DATABASE)
    installation.prepare_demo()
    print(f"\ndemo installed after {time.monotonic() - started:.1f} s")
    coordinator, hotline = tokens(installation, "coordinator", "hotline")
    print(f"tokens after {time.monotonic() - started:.1f} s")

    with installation.server(workers=2) as server:
        browser = Browser(server.url)
        browser.sign_in("hotline", "demo-hotline-2026")
        # statistics come from the standby, and say so
        status, page = browser.get(f"/stats/?year={YEAR}")
        assert status == 200, page[-2000:]
        assert "(Standby-Datenbank)" in page  # the demo's hotline counsellor reads German
        status, body = api_fetch(server.url, f"/api/v1/stats/indicators?year={YEAR}", coordinator)
        assert status == 200, body
        assert b'"database": "standby"' in body or b'"database":"standby"' in body
        # the app holds connections to the standby (persistent, CONN_MAX_AGE)
        on_standby = standby.sql(
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{DATABASE}'"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        assert int(on_standby) >= 1
        # the audit event of the statistics view is the primary's (written there; the
        # standby only ever replays it)
        latest = primary.sql(
            "SELECT action || ' ' || (details::jsonb->>'database') FROM audit_auditevent"
            " WHERE action IN ('stats.dashboard', 'stats.api') ORDER BY id DESC LIMIT 1",
            DATABASE,
        )
        assert latest == "stats.api standby"
        # a write lands on the primary and reaches the standby
        status, created = api_post(server.url, "/api/v1/hotline/contacts", hotline, contact())
        assert status == 201, created
        written = f"SELECT count(*) FROM hotline_contact WHERE id = {created['id']}"
        assert primary.sql(written, DATABASE) == "1"
        lag = _wait_for(
            lambda: standby.sql(written, DATABASE) == "1", what="the contact on the standby"
        )
        replay_lag = primary.sql("SELECT coalesce(replay_lag::text, '-') FROM pg_stat_replication")
        print(
            f"replication: the write was readable on the standby after {lag * 1000:.0f} ms "
            f"(psql polls included); replay_lag {replay_lag}"
        )
        print(f"standby checked after {time.monotonic() - started:.1f} s")
        # the primary stops: a clear 503, page and API, not a 500
        primary.stop()
        for path in ("/", f"/stats/?year={YEAR}", "/hotline/contacts/"):
            status, page = browser.get(path)
            assert status == 503, (path, status, page[-1000:])
            assert UNREACHABLE in page
        status, answer = api_post(server.url, "/api/v1/hotline/contacts", hotline, contact())
        assert status == 503 and UNREACHABLE in answer, answer
        outage_log = server.log.read_text()

    print(f"outage checked after {time.monotonic() - started:.1f} s")
    # the operator promotes the standby and points DATABASE_URL at it (no standby now)
    standby.ctl("promote")
    _wait_for(lambda: standby.sql("SELECT pg_is_in_recovery()") == "f", what="promotion")
    installation.env["DATABASE_URL"] = standby.url(DATABASE)
    del installation.env["DATABASE_REPLICA_URL"]
    with installation.server(workers=2) as server:
        browser = Browser(server.url)
        browser.sign_in("hotline", "demo-hotline-2026")
        status, page = browser.get(f"/stats/?year={YEAR}")
        assert status == 200 and "Zahlen mit Stand" in page and "(Standby-Datenbank)" not in page
        status, again = api_post(server.url, "/api/v1/hotline/contacts", hotline, contact())
        assert status == 201, again
        assert again["id"] > created["id"]
        status, _page = browser.get("/hotline/contacts/")
        assert status == 200
        log = outage_log + server.log.read_text()
    print(f"carried on after {time.monotonic() - started:.1f} s")
    installation.run("audit", "verify")
    assert '" 500 ' not in log and " 500 " not in log
    print(f"standby test: {time.monotonic() - started:.1f} s after the clusters were up")
