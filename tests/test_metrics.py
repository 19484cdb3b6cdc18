"""/metrics (issue 21): request latency, errors and refusals by route name, and counts
read at scrape time; only from allowed addresses, with the token when one is configured.
The same with two gunicorn workers: tests/robustness/test_observability.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from casebridge.observability import metrics


@pytest.fixture(autouse=True)
def _fresh_access(settings):
    metrics.allowed_networks.cache_clear()
    yield
    metrics.allowed_networks.cache_clear()


def sample(text: str, name: str, **labels) -> float:
    """The value of one series, 0 when it is not there."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if all(found.get(key) == want for key, want in labels.items()):
            return float(value)
    return 0.0


def scrape(client, **headers) -> str:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"] == "no-store"
    return response.content.decode()


@pytest.mark.django_db
def test_latency_by_route_name_never_by_path(client, personas, world):
    client.force_login(personas.partner)
    case_id = world.case.id
    series = {"route": "cases:case", "method": "GET", "status": "2xx"}
    count = "casebridge_http_request_duration_seconds_count"
    before = sample(scrape(client), count, **series)
    assert client.get(f"/cases/{case_id}/?q=Ali+Beispiel").status_code == 200
    text = scrape(client)
    assert sample(text, count, **series) == before + 1
    assert f"/cases/{case_id}" not in text and "Beispiel" not in text and "?q" not in text


def through_middleware(path: str, status: int):
    """A request to ``path`` answered with ``status``, timed by the metrics middleware."""
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.urls import resolve

    request = RequestFactory().get(path)

    def view(request):
        request.resolver_match = resolve(path)
        return HttpResponse(status=status)

    return metrics.MetricsMiddleware(view)(request)


def test_server_errors_and_refusals_are_counted_apart():
    errors = ("casebridge_http_errors_total", {"route": "cases:case", "method": "GET"})
    refusals = ("casebridge_http_refusals_total", {"route": "cases:case", "method": "GET"})

    def now():
        text = metrics.exposition_of_requests()
        return sample(text, errors[0], **errors[1]), sample(text, refusals[0], **refusals[1])

    start = now()
    through_middleware("/cases/17/", 500)
    assert now() == (start[0] + 1, start[1])
    through_middleware("/cases/17/", 403)
    through_middleware("/cases/18/", 404)  # not found is neither
    assert now() == (start[0] + 1, start[1] + 1)


@pytest.mark.django_db
def test_an_exception_in_a_view_counts_as_a_server_error(client, personas, monkeypatch):
    from django.urls import get_resolver

    def broken(request):
        raise RuntimeError("boom")

    home = next(p for p in get_resolver().url_patterns if getattr(p, "name", "") == "home")
    monkeypatch.setattr(home, "callback", broken)
    client.raise_request_exception = False
    client.force_login(personas.partner)
    series = {"route": "home", "method": "GET"}
    before = sample(scrape(client), "casebridge_http_errors_total", **series)
    assert client.get("/").status_code == 500
    assert sample(scrape(client), "casebridge_http_errors_total", **series) == before + 1


@pytest.mark.django_db
def test_counts_of_waiting_work(client, world):
    from casebridge.audit.services import audit_record
    from casebridge.sharing.models import Obligation
    from casebridge.sharing.tasks import remind_and_escalate

    text = scrape(client)
    pending = sample(text, "casebridge_audit_pending_seals")
    ready = sample(text, "casebridge_worker_queue_tasks", status="ready")
    overdue = sample(text, "casebridge_obligations_overdue")
    assert sample(text, "casebridge_metrics_database_up") == 1

    # inside the test's transaction nothing commits, so nothing is sealed
    audit_record(actor=None, action="test.metrics", details={})
    remind_and_escalate.enqueue()
    Obligation.objects.filter(case=world.case).update(
        due_at=timezone.now() - timedelta(hours=1), status=Obligation.Status.OPEN
    )
    made_overdue = Obligation.objects.filter(case=world.case).count()
    assert made_overdue >= 1

    text = scrape(client)
    assert sample(text, "casebridge_audit_pending_seals") >= pending + 1
    assert sample(text, "casebridge_worker_queue_tasks", status="ready") == ready + 1
    assert sample(text, "casebridge_obligations_overdue") == overdue + made_overdue


@pytest.mark.django_db
def test_counts_say_so_when_the_database_fails(client, monkeypatch):
    from django.db import OperationalError

    def gone(self):
        raise OperationalError("gone")

    monkeypatch.setattr(metrics.CountsCollector, "_counts", gone)
    text = scrape(client)
    assert sample(text, "casebridge_metrics_database_up") == 0
    assert "casebridge_http_request_duration_seconds" in text  # the rest still answers


@pytest.mark.django_db
def test_refused_from_an_address_not_allowed(client, settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["10.1.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.5").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.1.4.5").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_HOST"],
)
def test_a_scrape_relayed_by_a_proxy_is_refused(client, settings, header):
    """A proxy on the app server's machine speaks from loopback, which may scrape: what it
    relays from outside must not, whatever TRUSTED_PROXIES says."""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert (
        client.get("/metrics", REMOTE_ADDR="127.0.0.1", **{header: "203.0.113.9"}).status_code
        == 404
    )
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    relayed = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert relayed.status_code == 404


@pytest.mark.django_db
def test_the_token_is_needed_when_configured(client, settings, tmp_path):
    token = tmp_path / "metrics-token"
    token.write_text("s3cret-scrape-token\n")
    settings.METRICS_TOKEN_FILE = str(token)
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-scrape-token").status_code == 404
    scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    # the address is checked as well
    assert (
        client.get(
            "/metrics", REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token"
        ).status_code
        == 404
    )
    # a token file that cannot be read refuses every scrape
    token.unlink()
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 404
    )
    token.write_text("")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
def test_methods_are_a_bounded_label(client):
    client.generic("BREW", "/health/")
    text = scrape(client)
    assert 'method="BREW"' not in text
    assert (
        sample(
            text, "casebridge_http_request_duration_seconds_count", route="health", method="other"
        )
        >= 1
    )


@pytest.mark.django_db
def test_a_bad_allowed_address_is_named(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.METRICS_ALLOWED_ADDRESSES = ["not-an-address"]
    with pytest.raises(ImproperlyConfigured, match="METRICS_ALLOWED_ADDRESSES"):
        metrics.allowed_networks()
