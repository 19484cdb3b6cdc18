"""Shared fixtures: the German model loaded once per test database, and the personas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from casebridge.accounts.models import Membership, Role, User
from casebridge.cooperation_models.schema import parse_model
from casebridge.cooperation_models.services import model_load
from casebridge.network.models import Organisation

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

    def client(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


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
