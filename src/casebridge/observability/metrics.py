"""Prometheus metrics: request latency and errors per route, and counts read at scrape time.

Per-request metrics live in this process (``prometheus_client``); under gunicorn, whose
workers are separate processes, ``PROMETHEUS_MULTIPROC_DIR`` (set by
deploy/gunicorn.conf.py) makes every worker write them to memory-mapped files that any
worker's scrape adds up. The gauges (worker queue, pending audit seals, overdue
obligations) are COUNT queries run when Prometheus scrapes.

Labels are bounded and say nothing about a person: the URL pattern's name (never the path
with its ids, never the query), a known method or "other", the status class.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.db.models import Count
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from casebridge.audit.models import AuditEvent
from casebridge.observability.logs import method_label, route_name
from casebridge.sharing.selectors import overdue_obligation_count

logger = logging.getLogger(__name__)
CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

disable_created_metrics()  # no *_created series: creation times help no one here
# Metrics of requests are kept in a registry of their own: the process's default registry
# would add process and platform collectors that mean nothing summed over workers.
REQUESTS = CollectorRegistry()
LATENCY = Histogram(
    "casebridge_http_request_duration_seconds",
    "Time from the request reaching the application to the response, by route",
    ["route", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REQUESTS,
)
ERRORS = Counter(
    "casebridge_http_errors",
    "Requests answered with a server error (5xx), by route",
    ["route", "method"],
    registry=REQUESTS,
)
REFUSALS = Counter(
    "casebridge_http_refusals",
    "Requests refused (403), by route",
    ["route", "method"],
    registry=REQUESTS,
)


class MetricsMiddleware:
    """Times every request and counts server errors and refusals, by route name."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_name(request)
        method = method_label(request.method)
        status = response.status_code
        LATENCY.labels(route, method, f"{status // 100}xx").observe(time.perf_counter() - started)
        if status >= 500:
            ERRORS.labels(route, method).inc()
        elif status == 403:
            REFUSALS.labels(route, method).inc()
        return response


class CountsCollector:
    """COUNT queries at scrape time: how much work waits, counts only."""

    def collect(self):
        up = GaugeMetricFamily(
            "casebridge_metrics_database_up",
            "1 when the counts below could be read from the database",
        )
        try:
            families = list(self._counts())
        except DatabaseError as error:
            logger.warning("metrics: the counts could not be read (%s)", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _counts(self):
        tasks = GaugeMetricFamily(
            "casebridge_worker_queue_tasks",
            "Background tasks waiting for the worker (ready) or being run (running)",
            labels=["status"],
        )
        found = dict(
            DBTaskResult.objects.filter(
                status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
            )
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for status in (TaskResultStatus.READY, TaskResultStatus.RUNNING):
            tasks.add_metric([str(status.value).lower()], found.get(status.value, 0))
        yield tasks
        yield GaugeMetricFamily(
            "casebridge_audit_pending_seals",
            "Audit events committed but not yet chained into the hash chain",
            value=AuditEvent.objects.filter(sequence__isnull=True).count(),
        )
        yield GaugeMetricFamily(
            "casebridge_obligations_overdue",
            "Open obligations whose due time has passed",
            value=overdue_obligation_count(),
        )


class _Exposition:
    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def exposition_of_requests() -> str:
    """This process's request metrics alone (tests)."""
    return generate_latest(REQUESTS).decode()


def exposition() -> bytes:
    """The text format of all metrics: every worker's requests, and the counts."""
    if os.environ.get(MULTIPROCESS_ENV):
        requests = CollectorRegistry()
        MultiProcessCollector(requests)
    else:
        requests = REQUESTS
    return generate_latest(_Exposition(requests, CountsCollector()))


@lru_cache(maxsize=1)
def allowed_networks() -> tuple:
    networks = []
    for entry in settings.METRICS_ALLOWED_ADDRESSES:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"METRICS_ALLOWED_ADDRESSES: {entry!r} is not an address or network"
            ) from None
    return tuple(networks)


def token() -> str | None:
    """The bearer token a scrape must bring, read from METRICS_TOKEN_FILE (None: none)."""
    name = settings.METRICS_TOKEN_FILE
    if not name:
        return None
    try:
        value = Path(name).read_text(encoding="utf-8").strip()
    except OSError:
        value = ""
    if not value:
        # configured but unusable: refuse every scrape rather than open them all
        logger.warning("metrics: METRICS_TOKEN_FILE cannot be read or is empty")
        return ""
    return value
