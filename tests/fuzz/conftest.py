"""The data the fuzzer runs against: a case and a hotline contact carrying marker texts
that only some personas may ever see."""

import pytest

from tests.cases.conftest import entry, org, world  # noqa: F401
from tests.hotline.conftest import hotline_org, make_contact  # noqa: F401

# marker text → the personas allowed to receive it in any response
MARKERS = {
    "Quxbaumer": {"partner"},  # the person's surname in the case (identity category)
    "Vertraulich-QX-7731": {"partner"},  # a counselling entry
    "Anruferqux": {"hotline", "coordinator"},  # the caller's name on a hotline contact
}


@pytest.fixture
def marked(personas, world, make_contact):  # noqa: F811
    from casebridge.cases import services

    services.case_update(
        actor=personas.partner, case=world.case, identity={"last_name": "Quxbaumer"}
    )
    entry(personas.partner, world.case, "counselling", "Sitzung", "Vertraulich-QX-7731")
    make_contact(caller_name="Anruferqux Muster", anonymous=False)
    return MARKERS


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The fuzzer calls the WSGI application directly, which closes the database connection
    when a request ends — and with it the test's transaction on PostgreSQL. Django's own test
    client switches that off the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
