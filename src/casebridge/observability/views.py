"""Liveness, readiness and the Prometheus scrape: no sign-in, nothing stored by a proxy."""

from __future__ import annotations

import hmac
import ipaddress

from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from casebridge.observability import health, metrics


def _no_store(response):
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def live(request):
    """The process answers (reads nothing: a database outage must not restart it)."""
    return _no_store(HttpResponse("live", content_type="text/plain; charset=utf-8"))


@require_GET
def ready(request):
    """200 when the database answers and the keys load, else 503 naming the failed checks."""
    is_ready, checks = health.readiness()
    body = {"status": "ready" if is_ready else "not ready", "checks": checks}
    return _no_store(JsonResponse(body, status=200 if is_ready else 503))


# Headers a reverse proxy adds to what it relays: a scrape comes straight to the app
# server. Without them refused, a proxy on the same machine (its address is loopback, and
# allowed) would hand the metrics to anyone, whether or not TRUSTED_PROXIES names it.
RELAYED = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_HOST")


def scrape_allowed(request) -> bool:
    """Straight from an allowed address (not relayed by a proxy), and with the bearer
    token when METRICS_TOKEN_FILE is set."""
    if any(header in request.META for header in RELAYED):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if not any(address in network for network in metrics.allowed_networks()):
        return False
    expected = metrics.token()
    if expected is None:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), expected.encode())
    )


@require_GET
def scrape(request):
    """The Prometheus text format; anyone else is told there is nothing here (404)."""
    if not scrape_allowed(request):
        raise Http404
    return _no_store(HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE))
