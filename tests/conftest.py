"""Shared fixtures: the German model loaded once per test database, and the personas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from casebridge.accounts.models import Membership, Role, User
from casebridge.accounts.security import mark_reauthenticated
from casebridge.accounts.two_factor import two_factor_state
from casebridge.cooperation_models.schema import parse_model
from casebridge.network.models import Organisation
from casebridge.ops.model_load import model_load

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def germany_spec():
    return parse_model("germany")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, germany_spec):
    """Load the shipped German model once; each test runs in a transaction on top of it."""
    with django_db_blocker.unblock():
        model_load(spec=germany_spec)


@dataclass
class Personas:
    hotline: User
    partner: User
    partner_other: User
    police: User
    prison_expired: User
    coordinator: User
    dpo: User
    admin: User
    outsider: User

    def client(self, user: User, *, reauthenticated: bool = True) -> Client:
        """A signed-in client as after a complete sign-in: users who need a second factor
        have given it, and the user has just confirmed it is them (exports, disclosures and
        new tokens work). Tests of re-authentication pass ``reauthenticated=False``."""
        client = Client()
        client.force_login(user)
        if any(two_factor_state_fresh(user)):
            verify_session(client, user)
        if reauthenticated:
            session = client.session
            mark_reauthenticated(session)
            session.save()
        return client

    def unverified_client(self, user: User) -> Client:
        """A client after the password step only: the second factor is still to come."""
        client = Client()
        client.force_login(user)
        return client


def two_factor_state_fresh(user: User) -> tuple[bool, bool]:
    """(required, enrolled) as the database says now (a kept fact is derived again after
    any change of devices or memberships: casebridge.facts)."""
    return two_factor_state(user)


def verify_session(client: Client, user: User) -> None:
    """Mark the client's session as verified with the user's (or a new test) TOTP device."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def _organisation(type_code: str, state: str | None = None) -> Organisation:
    organisations = Organisation.objects.filter(type__code=type_code, active=True)
    if state:
        organisations = organisations.filter(region__code__startswith=state)
    return organisations.order_by("code").first()


def make_user(username: str, organisation: Organisation | None, role: str | None, **membership):
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        first_name=username.capitalize(),
        last_name="Persona",
        email=f"{username}@example.org",
        language="en",  # tests read English; the German pages have tests of their own
    )
    if organisation is not None:
        Membership.objects.create(user=user, organisation=organisation, role=role, **membership)
    return user


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English; tests of German output switch explicitly."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Routing and postcode lookups cache the model per process; tests roll back under them."""
    from casebridge.hotline.routing import invalidate_index
    from casebridge.network.selectors import invalidate_geography

    invalidate_geography()
    invalidate_index()
    yield
    invalidate_geography()
    invalidate_index()


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


@pytest.fixture
def personas(db) -> Personas:
    return build_personas()


def build_personas() -> Personas:
    """The people of STYLE.md: one per role, two NGO counsellors in different organisations,
    a prison officer whose access has expired, and a user without any role."""
    centre = _organisation("central_advice_centre")
    now = timezone.now()
    return Personas(
        hotline=make_user("hotline", centre, Role.HOTLINE_COUNSELLOR),
        partner=make_user(
            "partner", _organisation("ngo_counselling_partner", "DE-HH"), Role.PARTNER_COUNSELLOR
        ),
        partner_other=make_user(
            "partner_other",
            _organisation("ngo_counselling_partner", "DE-BE"),
            Role.PARTNER_COUNSELLOR,
        ),
        police=make_user(
            "police", _organisation("police_liaison_unit", "DE-HH"), Role.SECURITY_LIAISON
        ),
        prison_expired=make_user(
            "prison",
            _organisation("prison"),
            Role.SECURITY_LIAISON,
            valid_from=now - timedelta(days=200),
            valid_until=now - timedelta(days=10),
        ),
        coordinator=make_user("coordinator", centre, Role.COORDINATOR),
        dpo=make_user("dpo", centre, Role.DATA_PROTECTION_OFFICER),
        admin=make_user("admin", centre, Role.ADMINISTRATOR),
        outsider=make_user("outsider", None, None),
    )


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
