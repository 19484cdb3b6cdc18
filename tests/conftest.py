"""Shared fixtures: the German model loaded once per test database, the personas, the
multi-agency case, the hotline's contact factory and the audit log's signing files. What
they build is in tests/builders.py; a folder's conftest holds only what that folder uses."""

from __future__ import annotations

import os

import pytest

from casebridge.audit import signing
from casebridge.cooperation_models.schema import parse_model
from casebridge.network.models import Organisation
from casebridge.ops.model_load import model_load
from tests import builders
from tests.builders import Personas, Signing, World, build_personas, build_world, isolate_signing
from tests.log_check import (  # noqa: F401 - hooks: the whole run's logs hold no names
    pytest_runtest_call,
    pytest_runtest_setup,
    pytest_runtest_teardown,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_terminal_summary,
)


@pytest.fixture(scope="session")
def germany_spec():
    return parse_model("germany")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, germany_spec):
    """Load the shipped German model once; each test runs in a transaction on top of it."""
    with django_db_blocker.unblock():
        model_load(spec=germany_spec)


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English; tests of German output switch explicitly."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Routing and postcode lookups cache the model per process, and kept facts (a
    category's id, a user's roles) live for a generation; tests roll back under them, so
    each test starts and ends a generation of its own."""
    from casebridge import facts
    from casebridge.hotline.routing import invalidate_index
    from casebridge.network.selectors import invalidate_geography

    invalidate_geography()
    invalidate_index()
    facts.changed()
    yield
    invalidate_geography()
    invalidate_index()
    facts.changed()


def pytest_collection_modifyitems(config, items):
    """Mark the browser tests and run them last: their transactional database is emptied
    after each one, which the other tests (sharing the model loaded once) must not see."""
    browser, others = [], []
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            browser.append(item)
        else:
            others.append(item)
    items[:] = others + browser
    if os.environ.get("CASEBRIDGE_DATABASE_TESTS_ONLY") == "1":
        # The suite's second database pass (.ci/run): a test that touches no database
        # cannot answer differently there, and has run in the first pass.
        kept = [item for item in items if _uses_a_database(item)]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def _uses_a_database(item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    return bool(
        names & {"db", "transactional_db", "live_server"} or item.get_closest_marker("django_db")
    )


@pytest.fixture
def personas(db) -> Personas:
    return build_personas()


@pytest.fixture
def world(personas) -> World:
    """A case led by the Hamburg partner, with the police liaison and an expired prison seat."""
    return build_world(personas)


@pytest.fixture
def hotline_org(personas) -> Organisation:
    return builders.org(personas.hotline)


@pytest.fixture
def make_contact(personas):
    """Record a contact through the service, as the hotline persona."""

    def make(referral_to=None, mode="anonymous", **values):
        return builders.make_contact(personas, referral_to, mode, **values)

    return make


@pytest.fixture
def isolated_signing_files(tmp_path, monkeypatch) -> Signing:
    """The audit log's key and checkpoint file in the test's own temporary folder."""
    return isolate_signing(tmp_path, monkeypatch)


@pytest.fixture
def signing_key(isolated_signing_files) -> Signing:
    signing.generate_key()
    return isolated_signing_files


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch):
    """Code that runs outside Django's test client drops "old" connections: the task worker
    between tasks, our worker between its counts of statistics, and the WSGI application
    (called directly by the API fuzzer) when a request ends. Inside a test's transaction
    that would close the test's own connection on PostgreSQL; Django's test client
    suspends the same call during its requests."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from django_tasks_db.management.commands import db_worker

    from casebridge.ops.management.commands import worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
