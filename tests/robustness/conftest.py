"""Fixtures for tests that start servers: installations on SQLite and on PostgreSQL."""

from __future__ import annotations

import os

import pytest

from tests.robustness.server import Installation, postgres_available, postgres_database


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL database cb_ops_*; skipped when no server answers."""
    if not postgres_available():
        if os.environ.get("CASEBRIDGE_REQUIRE_POSTGRES") == "1":
            pytest.fail("no PostgreSQL on 127.0.0.1:5432 (CASEBRIDGE_REQUIRE_POSTGRES=1)")
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    with postgres_database() as (url, _name):
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def installation(request, tmp_path):
    """A prepared demo installation, on each database."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        found = Installation(root=tmp_path, database_url=url)
    else:
        found = Installation(root=tmp_path)
    found.prepare_demo()
    return found


@pytest.fixture(autouse=True)
def _once_per_ci_run():
    """These tests start their own SQLite and PostgreSQL installations; the suite's
    PostgreSQL pass (DATABASE_URL set) would only repeat them."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("run in the SQLite pass; they create cb_ops_* databases themselves")
