"""A multipart request that cannot be read gets a 400 and one log line, never a traceback."""

from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=ü"],
)
@pytest.mark.parametrize("where", ["api", "page"])
def test_an_unreadable_multipart_body_is_a_bad_request_without_a_traceback(
    personas,
    world,
    caplog,
    content_type,
    where,
):
    client = personas.client(personas.partner)
    path = f"/api/v1/cases/{world.case.pk}/documents" if where == "api" else "/cases/"
    route = "api:document_upload" if where == "api" else "cases:list"
    body = b"--y\r\nContent-Disposition: form-data; name=text\r\n\r\nhallo\r\n--y--"
    with caplog.at_level(logging.DEBUG):
        response = client.generic("POST", path, body, content_type=content_type)
    assert response.status_code == 400
    if where == "api":
        assert response.json()["detail"] == (
            "The request body is not readable multipart/form-data."
        )
    assert not [record for record in caplog.records if record.exc_info]
    # the route's name, not the path with its ids (casebridge.observability.logs)
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == [
        f"Bad Request: {route}"
    ]
