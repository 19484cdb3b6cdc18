"""Request-wide concerns: the user's language and time zone, audit origin, no caching,
session timeouts and the two-factor gate."""

from __future__ import annotations

import contextlib
import ipaddress
import zoneinfo
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from casebridge.accounts import security, stepup, two_factor
from casebridge.audit.services import request_origin, sealing_at_the_end

API_PREFIX = "/api/"


class ForwardedForMiddleware:
    """Take the client address from X-Forwarded-For when the request came from a trusted proxy.

    Behind nginx every request comes from the proxy's address; the audit log's origin and
    the per-address sign-in lock need the client's. Only the rightmost address that is not
    itself a trusted proxy counts (clients can put anything in front). Off unless
    TRUSTED_PROXIES names the proxies.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.trusted = frozenset(settings.TRUSTED_PROXIES)

    def __call__(self, request):
        if self.trusted and request.META.get("REMOTE_ADDR") in self.trusted:
            hops = [
                hop.strip()
                for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                if hop.strip()
            ]
            for hop in reversed(hops):
                if hop not in self.trusted:
                    # A malformed header keeps the proxy's address.
                    with contextlib.suppress(ValueError):
                        request.META["REMOTE_ADDR"] = str(ipaddress.ip_address(hop))
                    break
        return self.get_response(request)


class UserPreferencesMiddleware:
    """Use the signed-in user's time zone; remember where the request came from for audit
    and how it was authenticated for "confirm it is you" (``accounts.stepup``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_origin.set(request.META.get("REMOTE_ADDR"))
        user = getattr(request, "user", None)
        try:
            if user is not None and user.is_authenticated:
                use_preferences(request, user)
            # events written outside transactions: one seal
            with sealing_at_the_end(), stepup.authenticated_by(request):
                return self.get_response(request)
        finally:
            timezone.deactivate()
            request_origin.reset(token)


def use_preferences(request, user) -> None:
    """Answer in the user's language and time zone (a token's user too: ``api.TokenAuth``)."""
    try:
        timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()
    if user.language:
        translation.activate(user.language)
        request.LANGUAGE_CODE = user.language


class NoStoreMiddleware:
    """Tell browsers and proxies not to keep pages for signed-in users (personal data)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


class SessionTimeoutMiddleware:
    """End sessions after SESSION_IDLE_MINUTES without a request or SESSION_MAX_HOURS in all.

    Pages (htmx included) go to the sign-in page, which says why; API requests simply
    continue without a session and are answered 401.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if SESSION_KEY in request.session:
            reason = security.session_expiry(request.session)
            if reason is not None:
                logout(request)
                if not request.path.startswith(API_PREFIX):
                    query = urlencode({"reason": reason, "next": request.get_full_path()})
                    return security.client_redirect(request, f"{reverse('accounts:login')}?{query}")
        return self.get_response(request)


class TwoFactorMiddleware:
    """Until a user who needs a second factor has given it, only enrol/verify pages open.

    The API answers such sessions itself (casebridge.api.VerifiedSessionAuth), with 403.
    """

    OPEN_VIEWS = frozenset(
        {
            "accounts:login",
            "accounts:logout",
            "accounts:two_factor_enrol",
            "accounts:two_factor_verify",
            # single sign-on: a new sign-in may start and end whatever the session held
            "accounts:sso_start",
            "accounts:sso_callback",
            "set_language",
        }
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if (
            match is None
            or match.namespace == "api"
            or match.view_name in self.OPEN_VIEWS
            or not two_factor.two_factor_pending(request.user)
        ):
            return None
        _required, enrolled = two_factor.two_factor_state(request.user)
        target = "accounts:two_factor_verify" if enrolled else "accounts:two_factor_enrol"
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        return security.client_redirect(request, reverse(target) + (f"?{query}" if query else ""))


class PasswordChangeMiddleware:
    """An account an administrator created chooses its own password before anything else
    opens (after the second factor, which comes first). The session API answers 403."""

    OPEN_VIEWS = TwoFactorMiddleware.OPEN_VIEWS | {"accounts:password_change"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        match = request.resolver_match
        if (
            match is None
            or not getattr(user, "is_authenticated", False)
            or not getattr(user, "must_change_password", False)
            or match.view_name in self.OPEN_VIEWS
        ):
            return None
        if match.namespace == "api":
            if getattr(request, "api_token", None) is not None or not request.session.get(
                SESSION_KEY
            ):
                return None  # a token was made by a session that changed its password
            return JsonResponse(
                {"detail": _("Choose your own password first (your profile page).")},
                status=403,
            )
        return security.client_redirect(request, reverse("accounts:password_change"))


class RefuseNulMiddleware:
    """Query parameters with NUL characters are refused before any view reads them: no text
    may hold one, and PostgreSQL would fail on it. Pages answer 400, the API 422 naming the
    parameter. (Forms refuse NUL in posted fields themselves; API bodies in apischema.Input.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bad = sorted(
            {name for name, values in request.GET.lists() for v in [name, *values] if "\x00" in v}
        )
        if bad:
            message = _("The address contains a character that is not allowed.")
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": message, "fields": {name: [message] for name in bad}}, status=422
                )
            return HttpResponseBadRequest(message)
        return self.get_response(request)


class UnreadableBodyMiddleware:
    """A POST whose multipart body cannot be read (no boundary, a broken one) is answered 400
    before any view or view hook (CSRF's) reads it. Django would answer 400 too, but log the
    parser's traceback; this way ``django.request`` logs one line ("Bad Request: ROUTE")."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.content_type == "multipart/form-data":
            try:
                request.POST  # noqa: B018 - parsed here, once, so that a failure is ours
            except MultiPartParserError:
                message = _("The request body is not readable multipart/form-data.")
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": message, "fields": {}}, status=400)
                return HttpResponseBadRequest(message)
        return self.get_response(request)
