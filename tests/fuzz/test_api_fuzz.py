"""Fuzz every API operation with each persona's token (schemathesis over the OpenAPI document).

For every generated request and persona: no server error, the response matches the schema,
and no response carries content the persona may not see (marker texts of a case whose
content only its lead may read).
"""

from __future__ import annotations

import itertools
import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from casebridge.wsgi import application

# Examples per operation: a small budget in the default suite, more in .ci/run.
EXAMPLES = int(os.environ.get("CASEBRIDGE_FUZZ_EXAMPLES", "3"))

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

PERSONAS = [
    "hotline",
    "partner",
    "partner_other",
    "police",
    "prison_expired",
    "coordinator",
    "dpo",
    "admin",
    "outsider",
]
_turn = itertools.cycle(PERSONAS)

# Two of schemathesis' checks do not fit: "ignored_auth" re-sends the request with our
# explicit token (test_every_operation_needs_credentials checks the same thing directly);
# "positive_data_acceptance" expects every schema-valid body to be accepted, while the
# services rightly refuse some with 422 and a field message (an expiry in the past, an
# unknown case number). "negative_data_rejection" is on: input types are strict
# (apischema.Input), so a request the schema forbids — 0 for a truth value or a date, a
# list for an object — must be refused. Server errors, the schema of every response,
# status codes and content types are checked, and so is what each persona sees.
EXCLUDED = [ignored_auth, positive_data_acceptance]


@pytest.fixture
def tokens(personas, marked):
    from casebridge.accounts.services import api_token_create

    return {
        name: api_token_create(actor=getattr(personas, name), name="fuzz")[1] for name in PERSONAS
    }


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_fuzz(case, tokens, marked):
    persona = next(_turn)
    response = case.call(headers={"Authorization": f"Bearer {tokens[persona]}"})
    assert response.status_code < 500, (persona, response.text[:300])
    case.validate_response(response, excluded_checks=EXCLUDED)
    for marker, allowed in marked.items():
        if persona not in allowed:
            # bytes, not text: some operations answer with files (PDF, XLSX)
            assert marker.encode() not in response.content, (persona, marker)


@pytest.mark.django_db
def test_every_operation_needs_credentials(client):
    """Without a token or a session every operation answers 401 and shows nothing."""
    from casebridge.api import api

    paths = api.get_openapi_schema()["paths"]
    assert len(paths) > 30
    for path, item in paths.items():
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method in item:
            response = client.generic(
                method.upper(), url, data="{}", content_type="application/json"
            )
            assert response.status_code == 401, (method, path, response.status_code)


def test_schema_names_are_unique():
    """Two input or output schemas with one name would share one OpenAPI component, and
    one operation would document the other's fields (this happened to SearchIn)."""
    from ninja import Schema

    from casebridge.api import api

    api.get_openapi_schema()
    seen: dict[str, type] = {}
    pending = list(Schema.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__module__.startswith("casebridge."):
            continue
        if "." in cls.__qualname__:
            continue  # nested helper classes (e.g. a paginator's query) are no components
        other = seen.setdefault(cls.__name__, cls)
        assert other is cls, f"{cls.__name__}: {other.__module__} and {cls.__module__}"


@pytest.mark.django_db
def test_a_huge_page_offset_is_refused_not_a_server_error(personas):
    client = personas.client(personas.partner)
    response = client.get("/api/v1/lessons", {"offset": "99999999999999999999"})
    assert response.status_code == 422


@pytest.mark.django_db
def test_an_extreme_time_zone_offset_is_read_as_the_same_instant(personas):
    """ISO 8601 allows offsets PostgreSQL refuses (+19:58); inputs are normalised to UTC."""
    client = personas.client(personas.partner)
    response = client.get("/api/v1/meetings", {"starts_after": "2000-01-18T05:47:53+19:58"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_nul_characters_are_refused_naming_the_field(personas):
    client = personas.client(personas.hotline)
    response = client.post(
        "/api/v1/hotline/contacts/search", {"q": "a\x00b"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert "q" in response.json()["fields"]
    response = client.get("/api/v1/organisations", {"q": "a\x00b"})
    assert response.status_code == 422 and "q" in response.json()["fields"]
    page = client.get("/network/organisations/", {"q": "a\x00b"})
    assert page.status_code == 400
    assert "script-src 'self'" in page["Content-Security-Policy"]
