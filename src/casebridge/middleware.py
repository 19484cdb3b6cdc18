"""Request-wide concerns: the user's language and time zone, audit origin, no caching."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone, translation

from casebridge.audit.services import request_origin


class UserPreferencesMiddleware:
    """Use the signed-in user's time zone; remember where the request came from for audit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_origin.set(request.META.get("REMOTE_ADDR"))
        user = getattr(request, "user", None)
        try:
            if user is not None and user.is_authenticated:
                try:
                    timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    timezone.deactivate()
                if user.language:
                    translation.activate(user.language)
                    request.LANGUAGE_CODE = user.language
            return self.get_response(request)
        finally:
            timezone.deactivate()
            request_origin.reset(token)


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
