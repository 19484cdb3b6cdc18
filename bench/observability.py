"""The cost of what operators watch (issue 21): one page timed through Django's test client
with the full middleware stack, with and without the metrics middleware, and without the
request-id/log-line middleware as well.

Usage:  .venv/bin/python bench/observability.py [--requests 1000]

In process, SQLite, nothing signed in. Each variant is its own handler (MIDDLEWARE read when
the client's handler loads); the variants take turns request by request, and each request
is timed in CPU time of this process (``time.process_time``), so that other processes on a
shared machine disturb the figures as little as possible. The log line goes to /dev/null (its
formatting is counted, the terminal is not). Prints the median wall time per request of each
variant and the differences.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "bench")]

from harness import machine_line, with_fresh_database  # noqa: E402

PAGES = ["/health/", "/accounts/login/"]


def run(arguments) -> None:
    from django.conf import settings
    from django.test import Client, override_settings

    from casebridge.crypto.keys import new_key_line  # noqa: F401 - keys set before setup

    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the whole run

    full = list(settings.MIDDLEWARE)
    metrics = "casebridge.observability.metrics.MetricsMiddleware"
    request_log = "casebridge.observability.logs.RequestIdMiddleware"
    variants = {
        "full stack": full,
        "without metrics": [m for m in full if m != metrics],
        "without metrics and request log": [m for m in full if m not in {metrics, request_log}],
    }
    clients = {}
    for name, middleware in variants.items():
        with override_settings(MIDDLEWARE=middleware):
            client = Client()
            client.get("/health/")  # the handler loads its middleware now
        clients[name] = client
    print(machine_line())
    for page in PAGES:
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(arguments.requests):
            for name, client in clients.items():  # in turn, request by request
                started = time.process_time()
                response = client.get(page)
                times[name].append(time.process_time() - started)
                assert response.status_code == 200, (page, response.status_code)
        medians = {name: statistics.median(values) * 1e6 for name, values in times.items()}
        print(f"\n{page} — median µs of CPU per request over {arguments.requests} requests")
        for name, value in medians.items():
            print(f"  {name:<34} {value:8.1f}")
        print(
            "  metrics middleware                 "
            f"{medians['full stack'] - medians['without metrics']:8.1f}"
        )
        print(
            "  request id and log line            "
            f"{medians['without metrics'] - medians['without metrics and request log']:8.1f}"
        )


def alone(requests: int) -> None:
    """The metrics middleware's own work around a view that does nothing (no stack)."""
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.urls import resolve

    from casebridge.observability.metrics import MetricsMiddleware

    request = RequestFactory().get("/health/")
    request.resolver_match = resolve("/health/")
    response = HttpResponse()
    middleware = MetricsMiddleware(lambda _request: response)
    times = []
    for _ in range(requests * 10):
        started = time.perf_counter()
        middleware(request)
        times.append(time.perf_counter() - started)
    print(
        f"\nmetrics middleware alone (labels, histogram, counters): median "
        f"{statistics.median(times) * 1e6:.1f} µs over {requests * 10} calls"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    arguments = parser.parse_args()
    from casebridge.crypto.keys import new_key_line

    os.environ.setdefault("CASEBRIDGE_KEYS", new_key_line("bench"))
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("SECURE_COOKIES", "0")

    def both(_connection):
        run(arguments)
        alone(arguments.requests)

    return with_fresh_database("observability", both) or 0


if __name__ == "__main__":
    sys.exit(main())
