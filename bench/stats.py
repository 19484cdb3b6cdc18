"""Benchmark: the coordinator dashboard (every indicator, protected) — target < 500 ms with
1,000,000 contacts and 100,000 cases on PostgreSQL.

Usage:  .venv/bin/python bench/stats.py [--contacts 1000000] [--cases 100000] [--samples 7]
        [--scale S] [--keep cb_stats_bench] [--profile]
``--scale S`` takes the realistic volume's contacts and cases times S instead (100,000 and
20,000 at 1; ``make bench``); entries are not generated, no indicator reads them (the
outcomes of the cases are: judgements at intake, reviews, closure and follow-ups, each an
entry of its own, consents and follow-ups — issue 20's tables; a kept database without
them gets them added).
Fresh database of its own (SQLite by default; PostgreSQL with DATABASE_URL, as
casebridge_bench_stats). ``--keep NAME`` reuses (and keeps) the PostgreSQL database NAME:
the data is generated only when it holds fewer contacts than asked for, so a second run
measures at once. Prints the median of warm page requests through Django's test client
(the whole page: selectors, disclosure control, charts, template), the same when the
protection is decided anew ("cold"), after a change of this month's contacts or of an
outcome of a case closed this month, the median of the selector alone, per-indicator
times, and the slowest indicator's query plan (PostgreSQL).
``--profile`` adds a cProfile of one page request.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time

from harness import machine_line, with_fresh_database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--scale", type=float, default=0, help="realistic volume × S")
    parser.add_argument("--keep", default="", help="PostgreSQL database to reuse and keep")
    parser.add_argument("--profile", action="store_true", help="cProfile one page request")
    args = parser.parse_args()
    if args.scale:
        from casebridge.ops.scale import scaled

        volume = scaled(args.scale)
        args.contacts, args.cases = volume["contacts"], volume["cases"]
    return with_fresh_database("stats", lambda connection: run(args, connection), keep=args.keep)


def _prepare(args):
    """Load the model, the coordinator and the data unless a kept database has them."""
    from django.db import connection as db

    from casebridge.accounts.models import Membership, Role, User
    from casebridge.cooperation_models.schema import parse_model
    from casebridge.hotline.models import Contact
    from casebridge.network.models import Organisation
    from casebridge.ops.model_load import model_load
    from casebridge.ops.volume import build, outcomes_build
    from casebridge.outcomes.models import Assessment

    coordinator = User.objects.filter(username="coordinator").first()
    if coordinator is None:
        model_load(spec=parse_model("germany"))
        coordinator = User.objects.create_user(username="coordinator", password=None)
        Membership.objects.create(
            user=coordinator,
            organisation=Organisation.objects.get(is_hotline=True),
            role=Role.COORDINATOR,
        )
    have = Contact.objects.count()
    if have < args.contacts:
        started = time.perf_counter()
        made = build(contacts=args.contacts - have, cases=args.cases, batch=20_000)
        print(f"data: {made} in {time.perf_counter() - started:.0f} s")
        if db.vendor == "postgresql":
            with db.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
    else:
        print(f"data: kept database with {have} contacts")
        if not Assessment.objects.exists():  # generated before issue 20: add the outcomes
            started = time.perf_counter()
            made = outcomes_build()
            print(f"outcomes: {made} in {time.perf_counter() - started:.0f} s")
            if db.vendor == "postgresql":
                with db.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
    return coordinator


def _client(coordinator):
    """A test client signed in as the coordinator, second factor given."""
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    setup_test_environment()
    client = Client()
    client.force_login(coordinator)
    device, _created = TOTPDevice.objects.get_or_create(
        user=coordinator, name="bench", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _median_ms(call, samples: int) -> tuple[float, list[float]]:
    call()  # warm: connection, caches, templates
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), timings


def run(args, connection) -> int:
    from dataclasses import replace
    from datetime import date

    from django.db import connection as db
    from django.utils import timezone

    from casebridge.outcomes.models import Assessment, Rating
    from casebridge.stats import aggregates, indicators, outcome_figures, publication, selectors
    from casebridge.stats.models import Protection, StaleOutcomeMonth
    from casebridge.stats.registry import QueryRecorder

    coordinator = _prepare(args)
    started = time.perf_counter()
    months = aggregates.rebuild_all()
    rebuilt = time.perf_counter() - started
    started = time.perf_counter()
    closings = outcome_figures.rebuild_all()
    outcomes_rebuilt = time.perf_counter() - started
    year = date.today().year
    query = {"year": year}
    client = _client(coordinator)

    def page(extra=None):
        response = client.get("/stats/", {**query, **(extra or {})}, secure=True)
        assert response.status_code == 200, response.status_code

    page_median, page_times = _median_ms(page, args.samples)
    state_median, _times = _median_ms(lambda: page({"state": "DE-HB"}), args.samples)
    last_year_median, _times = _median_ms(lambda: page({"year": year - 1}), args.samples)

    def page_deciding_anew():
        # what the first reader after a change of any count pays when the worker has not
        # decided it yet: protection solved again (nothing kept in the process or table)
        publication.forget_kept_decisions()
        Protection.objects.all().delete()
        page()

    cold_median, cold_times = _median_ms(page_deciding_anew, args.samples)

    def page_after_a_change():
        # what a reader pays when the current month changed since the last build
        aggregates.StaleMonth.objects.create(month=aggregates.month_of(timezone.now()))
        page()

    stale_median, _times = _median_ms(page_after_a_change, args.samples)

    def page_after_an_outcome():
        # a judgement, consent or follow-up of a case closed this month since the last build
        StaleOutcomeMonth.objects.create(month=aggregates.month_of(timezone.now()))
        page()

    outcome_stale_median, _times = _median_ms(page_after_an_outcome, args.samples)
    outcome_month_median, _times = _median_ms(
        lambda: outcome_figures.build_month(aggregates.month_of(timezone.now()), force=True),
        args.samples,
    )
    month_median, _times = _median_ms(
        lambda: aggregates.build_month(aggregates.month_of(timezone.now()), force=True),
        args.samples,
    )
    selector_median, _times = _median_ms(
        lambda: selectors.dashboard(coordinator, year=year), args.samples
    )
    scope = selectors.scope_for(coordinator, None)
    period = selectors.period_of(year)
    filters = indicators.Filters(period.start, period.end)
    offered = selectors.offered(scope, period)
    with selectors.tuned():
        counts = {i.code: i.compute(replace(filters, shared={})) for i in offered}
    decided = []

    def protect_alone():
        publication.forget_kept_decisions()
        relations = indicators.relations(counts)
        found = publication.publish(offered, counts, indicators.states(), 5, relations)
        decided.append(found.outcome)

    protect_median, _times = _median_ms(protect_alone, args.samples)
    last = decided[-1]
    per_indicator, queries = {}, {}
    for indicator in indicators.INDICATORS:
        with selectors.tuned():  # the settings the dashboard runs its queries with
            indicator.compute(replace(filters, shared={}))  # warm
            recorder = QueryRecorder()
            started = time.perf_counter()
            with db.execute_wrapper(recorder):
                # on its own: without the contact profile another indicator already read
                indicator.compute(replace(filters, shared={}))
            per_indicator[indicator.code] = (time.perf_counter() - started) * 1000
            queries[indicator.code] = len(recorder.statements)
    print(machine_line(f", {db.vendor}"))
    print(
        f"coordinator dashboard page, {year}, every state counted: median {page_median:.0f} ms "
        f"(min {min(page_times):.0f}, max {max(page_times):.0f}, n={len(page_times)})"
    )
    print(f"the same page for one state (DE-HB): median {state_median:.0f} ms")
    print(f"the same page for {year - 1}: median {last_year_median:.0f} ms")
    print(
        f"the same page deciding the protection anew (first reader after a change): median "
        f"{cold_median:.0f} ms (max {max(cold_times):.0f})"
    )
    print(
        f"protection of the year's {len(offered)} indicators x 17 state filters alone: median "
        f"{protect_median:.0f} ms, {last.solves} LP solves, {len(last.primary)} small values, "
        f"{len(last.hidden)} hidden in all"
    )
    print(
        f"the same page when this month changed since its last build: median "
        f"{stale_median:.0f} ms (building one month alone: median {month_median:.0f} ms)"
    )
    print(f"selectors.dashboard() alone: median {selector_median:.0f} ms")
    print(
        f"the same page when an outcome of a case closed this month changed: median "
        f"{outcome_stale_median:.0f} ms (building that month alone: median "
        f"{outcome_month_median:.0f} ms)"
    )
    print(f"monthly figures: {months} months built from scratch in {rebuilt:.1f} s")
    print(
        f"outcome figures: {closings} months of closing built from scratch in "
        f"{outcomes_rebuilt:.1f} s ({Assessment.objects.count()} assessments, "
        f"{Rating.objects.count()} ratings)"
    )
    print(f"indicators together: {sum(per_indicator.values()):.0f} ms")
    for code, ms in sorted(per_indicator.items(), key=lambda kv: -kv[1]):
        print(f"  {code:32s} {ms:8.1f} ms  {queries[code]} queries")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(page)
        out = io.StringIO()
        ours = r"casebridge|template/(base|loader_tags|defaulttags)"
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(ours, 40)
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())
    code = max(per_indicator, key=per_indicator.get)
    print(f"slowest indicator: {code}")
    if db.vendor == "postgresql":
        # re-run its slowest statement under EXPLAIN ANALYZE with the parameters it used
        timed = []

        def keep(execute, sql, params, many, context):
            started = time.perf_counter()
            result = execute(sql, params, many, context)
            timed.append((time.perf_counter() - started, sql, params))
            return result

        with selectors.tuned(), db.execute_wrapper(keep):
            indicators.BY_CODE[code].compute(replace(filters, shared={}))
        _seconds, sql, params = max(timed, key=lambda item: item[0])
        with selectors.tuned(), db.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n".join(row[0] for row in cursor.fetchall()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
