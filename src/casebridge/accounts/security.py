"""Session limits and "confirm it is you": timestamps kept in the server-side session.

``session_started`` runs on every sign-in (Django's ``user_logged_in`` signal);
``SessionTimeoutMiddleware`` (casebridge.middleware) ends sessions that were idle or are
too old; ``mark_reauthenticated`` and ``recently_authenticated`` keep the clock of "confirm it
is you", which ``casebridge.accounts.stepup`` consults for every step-up action.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

SIGNED_IN_AT = "cb_signed_in_at"
SEEN_AT = "cb_seen_at"
REAUTH_AT = "cb_reauth_at"
# Writing the session on every request would cost a database write each time; the idle
# clock moves in steps of this many seconds instead.
TOUCH_EVERY_SECONDS = 60


class SignedOut:
    IDLE = "idle"
    EXPIRED = "expired"


def _now() -> float:
    return timezone.now().timestamp()


def session_started(sender, request, user, **kwargs) -> None:
    """Start the session clocks at sign-in (a new session, so no re-auth carries over)."""
    if request is None or not hasattr(request, "session"):
        return
    now = _now()
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now
    request.session.pop(REAUTH_AT, None)


def session_expiry(session) -> str | None:
    """Return why the session must end (``SignedOut``), or None while it may continue."""
    now = _now()
    signed_in = session.get(SIGNED_IN_AT)
    seen = session.get(SEEN_AT)
    if signed_in is None or seen is None:
        # A session from before these clocks existed: start them now.
        session[SIGNED_IN_AT] = session.get(SIGNED_IN_AT, now)
        session[SEEN_AT] = now
        return None
    if now - signed_in > settings.SESSION_MAX_HOURS * 3600:
        return SignedOut.EXPIRED
    if now - seen > settings.SESSION_IDLE_MINUTES * 60:
        return SignedOut.IDLE
    if now - seen >= TOUCH_EVERY_SECONDS:
        session[SEEN_AT] = now
    return None


def mark_reauthenticated(session) -> None:
    session[REAUTH_AT] = _now()


def recently_authenticated(session) -> bool:
    """True when the user confirmed their identity within REAUTH_MINUTES."""
    confirmed = session.get(REAUTH_AT)
    return confirmed is not None and _now() - confirmed <= settings.REAUTH_MINUTES * 60


def local_url(request, candidate: str | None) -> str | None:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def safe_next(request, candidate: str | None) -> str:
    """Return ``candidate`` when it is a URL of this site, else the overview."""
    return local_url(request, candidate) or reverse("home")


def client_redirect(request, url: str):
    """Redirect; htmx requests get HX-Redirect so the whole page moves, not a fragment."""
    if request.headers.get("HX-Request") == "true":
        return HttpResponseClientRedirect(url)
    return redirect(url)


def reauth_url(next_url: str) -> str:
    return f"{reverse('accounts:reauth')}?{urlencode({'next': next_url})}"
