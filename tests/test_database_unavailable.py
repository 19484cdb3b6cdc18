"""A database that cannot be reached (stopped, restarting, failed over) answers 503 with a
clear message — nothing was saved, try again in a few minutes — as a page or, under
/api/, as JSON, in the language the request asks for; never a 500 (issue 21)."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError
from django.test import override_settings
from django.urls import include, path
from django.utils import translation
from django.utils.translation import gettext

pytestmark = pytest.mark.django_db

MESSAGE = (
    "The database cannot be reached right now, so nothing was saved. Try again in a few minutes."
)


def gone(request):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')


def closed(request):
    raise InterfaceError("connection already closed")


def broken(request):
    raise RuntimeError("a bug, not the database")


urlpatterns = [
    path("broken/", broken),
    path("gone/", gone),
    path("api/v1/gone/", closed),
    path("", include("casebridge.urls")),
]
handler500 = "casebridge.views.server_error"  # as casebridge.urls names it


def _message(language: str) -> str:
    with translation.override(language):
        return gettext(MESSAGE)


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("language", ["en", "de"])
def test_a_page_says_the_database_cannot_be_reached(client, language):
    client.raise_request_exception = False
    client.cookies["django_language"] = language
    response = client.get("/gone/")
    assert response.status_code == 503
    assert response["Retry-After"] == "120"
    body = response.content.decode()
    assert 'id="database-unavailable"' in body and f'lang="{language}"' in body
    assert _message(language) in body
    assert "127.0.0.1" not in body and "Traceback" not in body


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_api_answers_json(client, language):
    client.raise_request_exception = False
    response = client.get("/api/v1/gone/", headers={"accept-language": language})
    assert response.status_code == 503
    assert response.json() == {"detail": _message(language), "fields": {}}


@override_settings(ROOT_URLCONF=__name__)
def test_any_other_error_stays_a_500(client):
    client.raise_request_exception = False
    assert client.get("/cases/not-a-number/").status_code == 404
    response = client.get("/broken/")
    assert response.status_code == 500
    assert 'id="server-error"' in response.content.decode()


@pytest.mark.parametrize("where", ["/", "/api/v1/hotline/contacts"])
def test_a_session_that_cannot_be_read_is_a_503_too(personas, monkeypatch, where):
    """The database fails before any view runs (in the session middleware): the same
    answer, not Django's 500."""
    client = personas.client(personas.hotline)
    client.raise_request_exception = False

    def unreachable(self):
        raise OperationalError("connection refused")

    monkeypatch.setattr(SessionStore, "_get_session_from_db", unreachable)
    response = client.get(where)
    assert response.status_code == 503
    # no cookie, no Accept-Language: the installation's language (LANGUAGE_CODE "de")
    if where.startswith("/api/"):
        assert response.json()["detail"] == _message("de")
    else:
        assert _message("de") in response.content.decode()


def test_the_installation_uses_this_handler():
    from casebridge import urls

    assert urls.handler500 == "casebridge.views.server_error"
