"""Benchmark: federation between two local installations (issue 22).

Usage:  .venv/bin/python bench/federation.py [--database sqlite|postgres]
        [--consultations 200] [--cases 100000] [--matches 20] [--workers 2]

Builds Hamburg (A, the German model) and Rotterdam (B, the Dutch fixture) as
tests/robustness/federation.py does: two installations in a temporary folder, each with
its own database (SQLite, or a throwaway PostgreSQL database cb_ops_* on the server of
CASEBRIDGE_OPS_POSTGRES), keys and model file, each served by gunicorn on loopback.

(a) consultation round trip: ``services.consult`` in a process configured as A (its own
    ``casebridge shell``), over HTTP to B's gunicorn and back, signed both ways and
    recorded on both sides. Target: median < 200 ms.
(b) person match: ``--cases`` open cases with encrypted identities and their blind index
    on each side (half of the people on both), ``casebridge federation reindex`` on each
    (timed), then matches from A to B, half hits and half misses. Target: median < 2 s.

Prints medians and percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src"), str(REPO / "bench")]

from harness import machine_line, percentile  # noqa: E402

from tests.robustness.federation import federated_pair  # noqa: E402

CONSULT = """
import time
times = []
for number in range({warm} + {count}):
    started = time.perf_counter()
    services.consult(actor=me, agreement=agreement, postcode="3011 AB", language="nl")
    if number >= {warm}:
        times.append((time.perf_counter() - started) * 1000)
result = times
"""

FILL = """
import time
from casebridge.ops.volume import identified_cases_build
started = time.perf_counter()
made = identified_cases_build(owner=Organisation.objects.get(code={organisation!r}),
                              people=range({first}, {last}), prefix={prefix!r})
result = [made, time.perf_counter() - started]
"""

REINDEX = """
import time
started = time.perf_counter()
done = services.refresh_digests(agreement)
result = [done, time.perf_counter() - started]
"""

MATCH = """
import time
from casebridge.cases import services as case_services
from casebridge.ops.volume import synthetic_person
owner = Organisation.objects.get(code={organisation!r})
asks = []
for number in {people!r}:
    case = case_services.case_open(actor=me, owner=owner, pseudonym=f"Q{{number}}",
                                   identity=synthetic_person(number))
    asks.append(case)
services.match(actor=me, agreement=agreement, case=asks[0])  # warm the connection
times, results = [], []
for case in asks:
    started = time.perf_counter()
    results.append(services.match(actor=me, agreement=agreement, case=case))
    times.append((time.perf_counter() - started) * 1000)
result = [times, results]
"""


def figures(times: list[float]) -> str:
    return (
        f"median {statistics.median(times):.1f}, p95 {percentile(times, 0.95):.1f}, "
        f"max {max(times):.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--consultations", type=int, default=200)
    parser.add_argument("--cases", type=int, default=100_000, help="open cases on each side")
    parser.add_argument("--matches", type=int, default=20, help="half hits, half misses")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per side")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cb-federation-") as root:
        print("preparing two installations (migrate, model, keys) ...", flush=True)
        with federated_pair(Path(root), postgres=args.database == "postgres", start=False) as pair:
            a, b = pair.a, pair.b
            half = args.cases // 2
            # people 0 … cases-1 in Hamburg, cases/2 … cases/2+cases-1 in Rotterdam
            ranges = [(a, 0, args.cases, "HH"), (b, half, half + args.cases, "RO")]

            def fill(plan):
                side, first, last, prefix = plan
                return side.act(
                    FILL.format(
                        organisation=side.spec.organisation, first=first, last=last, prefix=prefix
                    )
                )

            def reindex(side):
                # every case digested, timed inside the process (the command's own work) ...
                done, seconds = side.act(REINDEX)
                # ... then the operator's command as a whole, with its start-up: with
                # nothing changed it only checks which cases' identities did
                started = time.perf_counter()
                side.run("federation", "reindex")
                return done, seconds, time.perf_counter() - started

            with ThreadPoolExecutor(2) as pool:
                filled = list(pool.map(fill, ranges))
                reindexed = list(pool.map(reindex, (a, b)))
                list(pool.map(lambda side: side.start(args.workers), (a, b)))
            consultations = a.act(CONSULT.format(warm=5, count=args.consultations))
            hits = list(range(half, half + (args.matches + 1) // 2))
            misses = list(range(10 * args.cases + 1, 10 * args.cases + 1 + args.matches // 2))
            matches, results = a.act(
                MATCH.format(organisation=a.spec.organisation, people=hits + misses)
            )

    print(machine_line(f", database: {args.database}, gunicorn workers per side: {args.workers}"))
    print(
        f"consultation round trip A→B→A over loopback HTTP, {len(consultations)} "
        f"consultations (ms): {figures(consultations)}  (target: median < 200)"
    )
    for side, (made, seconds) in zip((a, b), filled, strict=True):
        print(f"{side.spec.label}: {made} open cases with identities generated in {seconds:.1f} s")
    for side, (done, seconds, command) in zip((a, b), reindexed, strict=True):
        print(
            f"{side.spec.label}: reindex of {done} cases {seconds:.1f} s (refresh_digests, "
            f"in the process); `casebridge federation reindex` afterwards, nothing changed, "
            f"whole command with start-up: {command:.1f} s"
        )
    expected = ["match"] * len(hits) + ["none"] * len(misses)
    wrong = sum(got != want for got, want in zip(results, expected, strict=True))
    print(
        f"person match A→B against {args.cases} open cases on each side, {len(matches)} "
        f"matches ({len(hits)} hits, {len(misses)} misses; {wrong} wrong) (ms): "
        f"{figures(matches)}  (target: median < 2000)"
    )
    if wrong:
        print(f"answers: {results}, expected: {expected}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
