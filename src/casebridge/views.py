"""Pages that belong to no single app: the overview, the language switch, the 403 page, and
the 500 page with its 503 for a database that cannot be reached."""

from __future__ import annotations

import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.http import require_GET, require_POST

from casebridge.accounts.permissions import active_roles
from casebridge.accounts.services import user_update
from casebridge.cases import selectors as case_selectors
from casebridge.cooperation_models.models import CooperationModel
from casebridge.hotline import selectors as hotline_selectors
from casebridge.network import selectors as network_selectors
from casebridge.refusals import Refusal
from casebridge.sharing import selectors as sharing_selectors


@login_required
def home(request):
    memberships = request.user.memberships.active().select_related("organisation")
    return render(
        request,
        "home.html",
        {
            "memberships": memberships,
            "roles": active_roles(request.user),
            "model": CooperationModel.objects.first(),
            "counts_by_type": network_selectors.organisation_counts_by_type(),
            "reminders": hotline_selectors.reminders(request.user),
            "tasks": sharing_selectors.task_counts(request.user),
            "transfers_waiting": case_selectors.incoming_transfer_count(request.user),
        },
    )


@require_GET
def health(request):
    """Liveness for a load balancer (and the load test's floor): the application answers.
    It reads nothing, so it says nothing about the database; no one needs to sign in."""
    response = HttpResponse("ok", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"  # a proxy must ask again every time
    return response


@require_POST
def set_language(request):
    """Switch the interface language; remembered on the account and in a cookie."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = redirect(next_url)
    if language not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        user_update(actor=request.user, user=request.user, language=language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=True,
    )
    return response


def forbidden(request, exception=None):
    """The 403 page: says why when the refusal is meant for the user (a ``Refusal``, such as
    a write during an emergency access), and leads back to the case it concerns."""
    match = getattr(request, "resolver_match", None)
    case_id = match.kwargs.get("case_id") if match is not None else None
    return render(
        request,
        "403.html",
        {
            "message": str(exception) if isinstance(exception, Refusal) else "",
            "case_url": reverse("cases:case", args=[case_id]) if case_id else "",
        },
        status=403,
    )


DATABASE_RETRY_SECONDS = 120


def server_error(request):
    """The 500 page, except when the database cannot be reached (stopped, restarting,
    failed over): then a 503 that says so — nothing was saved, try again in a few minutes
    — as a page, or as JSON under /api/, in the language the request asks for (the
    account's language is in the database). Django logs the error either way."""
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError | InterfaceError):
        return defaults.server_error(request)
    return database_unavailable(request)


def database_unavailable(request):
    language = translation.get_language_from_request(request)
    with translation.override(language):
        message = _(
            "The database cannot be reached right now, so nothing was saved. "
            "Try again in a few minutes."
        )
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message, "fields": {}}, status=503)
        else:
            # rendered without the request's context, like the 500 page: no menu, no user
            body = render_to_string("503.html", {"message": message, "language": language})
            response = HttpResponse(body, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
