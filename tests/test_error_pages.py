"""Error pages (issue 18): styled, in the user's language, saying what to do next; the 500
page renders without the request's context (the error may lie there)."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path

pytestmark = pytest.mark.django_db


def broken(request):
    raise RuntimeError("a bug")


def too_big(request):
    request.POST  # noqa: B018 - reading the body raises RequestDataTooBig
    return HttpResponse("read")


urlpatterns = [
    path("broken/", broken),
    path("too-big/", too_big),
    path("", include("casebridge.urls")),
]


@pytest.mark.parametrize(("language", "text"), [("en", "Not found"), ("de", "Nicht gefunden")])
def test_not_found_is_styled_in_the_users_language(personas, language, text):
    personas.partner.language = language
    personas.partner.save(update_fields=["language"])
    response = personas.client(personas.partner).get("/cases/999999/")
    assert response.status_code == 404
    body = response.content.decode()
    assert f"<h1>{text}</h1>" in body and 'id="not-found"' in body
    assert f'lang="{language}"' in body
    assert "Not Found</h1><p>The requested resource" not in body  # not Django's bare page


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize(
    ("language", "text"), [("en", "Something went wrong"), ("de", "Etwas ist schiefgegangen")]
)
def test_a_server_error_is_styled_and_says_what_to_do(personas, language, text):
    personas.partner.language = language
    personas.partner.save(update_fields=["language"])
    client = personas.client(personas.partner)
    client.raise_request_exception = False
    response = client.get("/broken/")
    assert response.status_code == 500
    body = response.content.decode()
    assert text in body and 'id="server-error"' in body
    assert "a bug" not in body and "Traceback" not in body


@override_settings(ROOT_URLCONF=__name__, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_too_large_form_says_nothing_was_saved(personas):
    client = personas.client(personas.partner)
    response = client.post("/too-big/", {"text": "x" * 5000})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="bad-request"' in body and "nothing was saved" in body
