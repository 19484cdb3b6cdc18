"""Benchmark: the coordinator dashboard (every indicator, protected) — target < 500 ms with
1,000,000 contacts and 100,000 cases on PostgreSQL.

Usage:  .venv/bin/python bench/stats.py [--contacts 1000000] [--cases 100000] [--samples 5]
Fresh database of its own (SQLite by default; PostgreSQL with DATABASE_URL, as
casebridge_bench_stats). Prints the median and the slowest indicator with its query plan.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from harness import machine_line, with_fresh_database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    return with_fresh_database("stats", lambda connection: run(args, connection))


def run(args, connection) -> int:
    from datetime import date, timedelta

    from django.db import connection as db
    from stats_data import build

    from casebridge.accounts.models import Membership, Role, User
    from casebridge.cooperation_models.schema import parse_model
    from casebridge.cooperation_models.services import model_load
    from casebridge.network.models import Organisation
    from casebridge.stats import indicators, selectors
    from casebridge.stats.registry import QueryRecorder

    model_load(spec=parse_model("germany"))
    coordinator = User.objects.create_user(username="coordinator", password=None)
    Membership.objects.create(
        user=coordinator,
        organisation=Organisation.objects.get(is_hotline=True),
        role=Role.COORDINATOR,
    )
    started = time.perf_counter()
    made = build(contacts=args.contacts, cases=args.cases)
    print(f"data: {made} in {time.perf_counter() - started:.0f} s")
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")
    first = date.today() - timedelta(days=365)
    timings = []
    for _ in range(args.samples):
        started = time.perf_counter()
        selectors.dashboard(coordinator, first=first, last=date.today())
        timings.append((time.perf_counter() - started) * 1000)
    per_indicator = {}
    filters = selectors._filters(
        selectors.scope_for(coordinator, None), selectors.period_of(first, date.today()), None
    )
    slowest_sql = {}
    for indicator in indicators.INDICATORS:
        recorder = QueryRecorder()
        started = time.perf_counter()
        with db.execute_wrapper(recorder):
            indicator.compute(filters)
        per_indicator[indicator.code] = (time.perf_counter() - started) * 1000
        slowest_sql[indicator.code] = recorder
    print(machine_line(f", {db.vendor}"))
    print(
        f"coordinator dashboard, 12 months: median {statistics.median(timings):.0f} ms "
        f"(min {min(timings):.0f}, max {max(timings):.0f}, n={len(timings)})"
    )
    for code, ms in sorted(per_indicator.items(), key=lambda kv: -kv[1]):
        print(f"  {code:32s} {ms:8.1f} ms")
    code = max(per_indicator, key=per_indicator.get)
    print(f"slowest indicator: {code}")
    if db.vendor == "postgresql":
        # re-run its main statement under EXPLAIN ANALYZE with the parameters it used
        params_recorder = []

        def keep(execute, sql, params, many, context):
            params_recorder.append((sql, params))
            return execute(sql, params, many, context)

        with db.execute_wrapper(keep):
            indicators.BY_CODE[code].compute(filters)
        sql, params = max(params_recorder, key=lambda pair: len(pair[0]))
        with db.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n".join(row[0] for row in cursor.fetchall()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
