"""The pages a role opens many times a day: app-server CPU per request, wall time and
queries, beside a trivial view served by the same middleware stack (issue 16).

Usage:  .venv/bin/python bench/pages.py [--scale 1] [--repeat 30] [--profile PAGE]
        (PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cb_pages_bench,
        add --keep cb_pages_bench to reuse generated data)

In process, through Django's test client with the full middleware stack: demo data plus
the realistic volume × S (`casebridge.ops.volume`), the partner and police personas seated
in 100 generated cases each, as bench/load.py prepares them. CPU is ``time.process_time``
around one request (the database server's CPU is not in it on PostgreSQL; on SQLite the
database runs in the process and is). ``--profile PAGE`` prints the top of a cProfile run
of that page instead; ``--queries`` each page's slowest statements.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "bench")]

from harness import machine_line, percentile, with_fresh_database  # noqa: E402

TARGET_MS = 15.0


def own_key_ring(keep: str) -> None:
    """A key ring of this run's own, before settings are read (the demo encrypts names).
    A kept database keeps its key: derived from its name (synthetic data, bench only)."""
    import base64
    import hashlib
    import os

    from casebridge.crypto.keys import new_key_line

    if keep:
        key = base64.b64encode(hashlib.sha256(f"casebridge-bench:{keep}".encode()).digest())
        os.environ.setdefault("CASEBRIDGE_KEYS", f"bench:{key.decode()}")
    os.environ.setdefault("CASEBRIDGE_KEYS", new_key_line("bench"))


def pages(cases: dict[str, int]) -> list[tuple[str, str, str]]:
    """(name, persona, address) of every page of the target."""
    return [
        ("floor (trivial view)", "partner", "/bench/floor/"),
        ("hotline overview and intake", "hotline", "/hotline/"),
        ("contact list", "hotline", "/hotline/contacts/"),
        ("referral inbox", "partner", "/hotline/referrals/"),
        ("case list (partner)", "partner", "/cases/"),
        ("case list (police)", "police", "/cases/"),
        ("case page as lead", "partner", f"/cases/{cases['partner']}/"),
        ("case page as police", "police", f"/cases/{cases['police']}/"),
        ("tasks", "partner", "/sop/tasks/"),
        ("directory", "partner", "/network/organisations/"),
        ("statistics overview", "coordinator", "/stats/"),
    ]


def add_floor_view() -> None:
    """A view that renders a short text, for the framework's floor on the same stack."""
    from django.http import HttpResponse
    from django.urls import clear_url_caches, path

    from casebridge import urls

    urls.urlpatterns.insert(0, path("bench/floor/", lambda request: HttpResponse("ok")))
    clear_url_caches()


def prepare(scale: float) -> None:
    from casebridge.cases.models import Case

    if not Case.objects.exists():
        generate_volume(scale)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # plans as after autovacuum, not on guesses
            cursor.execute("ANALYZE")


def generate_volume(scale: float) -> None:
    from django.db.models import Count

    from casebridge.cases.models import Case
    from casebridge.cooperation_models.schema import parse_model
    from casebridge.ops.demo import demo_prepare, generate
    from casebridge.ops.model_load import model_load
    from casebridge.ops.scale import scaled
    from casebridge.ops.volume import seat_members

    started = time.perf_counter()
    model_load(spec=parse_model("germany"))
    demo_prepare()
    volume = scaled(scale)
    generate(organisations=20, people=100, seed=1, **volume)
    seat_members(["partner", "police"], per_user=100)
    print(
        f"prepared {volume} in {time.perf_counter() - started:.0f} s; "
        f"cases with entries: {Case.objects.annotate(n=Count('entries')).filter(n__gt=0).count()}",
        flush=True,
    )


def signed_in(username: str):
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from casebridge.accounts.models import User

    user = User.objects.get(username=username)
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def busiest_case(username: str) -> int:
    from django.db.models import Count

    from casebridge.cases.models import Case

    return (
        Case.objects.filter(participants__members__username=username)
        .annotate(n=Count("entries", distinct=True))
        .order_by("-n")
        .values_list("pk", flat=True)
        .first()
    )


def measure(client, address: str, repeat: int) -> tuple[list[float], list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(address, secure=True)  # fills the per-process caches
    cpu, wall = [], []
    for _ in range(repeat):
        started_cpu, started = time.process_time(), time.perf_counter()
        response = client.get(address, secure=True)
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{address}: {response.status_code}")
    with CaptureQueriesContext(connection) as queries:
        client.get(address, secure=True)
    return cpu, wall, len(queries)


def slowest_queries(client, address: str) -> None:
    """Print the page's five slowest statements with their time."""
    from django.db import connection

    client.get(address, secure=True)
    timed = []

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(timer):
        client.get(address, secure=True)
    print(f"{address}: {len(timed)} statements, {sum(ms for ms, _ in timed):.1f} ms")
    for ms, sql in sorted(timed, reverse=True)[:5]:
        print(f"  {ms:7.1f} ms  {sql[:300]}")


def template_times(client, address: str, repeat: int) -> None:
    """Print each template's own CPU per request (included templates and widgets apart)."""
    from collections import Counter

    from django.template.base import Template

    own, stack, original = Counter(), [], Template._render

    def timed(template, context):
        started = time.process_time()
        stack.append(0.0)
        try:
            return original(template, context)
        finally:
            spent = time.process_time() - started
            inner = stack.pop()
            own[template.origin.template_name] += spent - inner
            if stack:
                stack[-1] += spent

    client.get(address, secure=True)
    Template._render = timed
    try:
        for _ in range(repeat):
            client.get(address, secure=True)
    finally:
        Template._render = original
    print(f"{address}: templates' own CPU, ms per request")
    for name, seconds in own.most_common(15):
        print(f"  {seconds * 1000 / repeat:7.2f}  {name}")


def run(connection, args) -> int:
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    prepare(args.scale)
    add_floor_view()
    cases = {name: busiest_case(name) for name in ("partner", "police")}
    clients = {}
    rows = []
    for name, persona, address in pages(cases):
        client = clients.setdefault(persona, signed_in(persona))
        if args.profile and args.profile not in name:
            continue
        if args.queries:
            slowest_queries(client, address)
            continue
        if args.templates:
            template_times(client, address, args.repeat)
            continue
        if args.profile:
            client.get(address, secure=True)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.repeat):
                client.get(address, secure=True)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
            continue
        cpu, wall, queries = measure(client, address, args.repeat)
        rows.append(
            (name, statistics.median(cpu), percentile(cpu, 0.95), statistics.median(wall), queries)
        )
    if args.profile or args.queries or args.templates:
        return 0
    floor = rows[0][1]
    print(machine_line(f", {connection.vendor}, scale {args.scale}, {args.repeat} requests each"))
    print(
        "| page | CPU median ms | CPU p95 ms | wall median ms | queries | × floor "
        f"| ≤ {TARGET_MS:.0f} ms |"
    )
    print("|---|---|---|---|---|---|---|")
    missed = 0
    for name, cpu, cpu95, wall, queries in rows:
        ok = cpu <= TARGET_MS
        missed += not ok and not name.startswith("floor")
        print(
            f"| {name} | {cpu:.1f} | {cpu95:.1f} | {wall:.1f} | {queries} | "
            f"{cpu / floor:.1f} | {'yes' if ok else 'no'} |"
        )
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--profile", default="", help="part of a page's name")
    parser.add_argument("--keep", default="", help="PostgreSQL database to reuse")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key")
    parser.add_argument("--lines", type=int, default=45, help="cProfile lines to print")
    parser.add_argument(
        "--templates", action="store_true", help="print each template's own CPU per page"
    )
    parser.add_argument(
        "--queries", action="store_true", help="print each page's slowest statements instead"
    )
    args = parser.parse_args()
    own_key_ring(args.keep)
    return with_fresh_database("pages", lambda connection: run(connection, args), keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
