"""Load test: locust, headless, against gunicorn (deploy/gunicorn.conf.py) on 127.0.0.1
with a mixed workload of personas (bench/locustfile.py), bounded by time and requests.

Usage:  .venv/bin/python bench/load.py [--database sqlite|postgres] [--users 20 | 1,2,4,8]
        [--wait think|zero] [--floor] [--servers 1|2]
        [--run-time 60] [--max-requests 5000] [--workers 4] [--contacts 20000]
        [--output bench/out/load-sqlite.md]

With ``--servers 2`` (PostgreSQL only) two gunicorn app servers, each with ``--workers``
workers, run behind HAProxy (Debian's package, as tests/robustness/test_two_servers.py)
and the load goes through the proxy: the cost of the proxy and of a second server on the
same machine beside the one-server figure (more machines would add cores; one does not).

Builds a fresh installation (demo data plus `casebridge generate` for volume) in a
temporary folder; on PostgreSQL in a throwaway database cb_ops_load_* (server from
CASEBRIDGE_OPS_POSTGRES, default postgres://postgres@127.0.0.1:5432). Prints and writes
requests/s, median, p95 and errors per request type and in total.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src"), str(REPO / "bench")]

from harness import machine_line  # noqa: E402

from tests.robustness.server import Installation, Proxy, postgres_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--users", default="20", help="users, or a comma list for a curve: 1,2,4,8,16,32"
    )
    parser.add_argument(
        "--wait", choices=["think", "zero"], default="think", help="think: 0.5–2 s; zero: none"
    )
    parser.add_argument(
        "--floor", action="store_true", help="also load /health/ at each user count"
    )
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--run-time", type=int, default=60, help="seconds")
    parser.add_argument("--max-requests", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4, help="per app server")
    parser.add_argument("--servers", type=int, choices=[1, 2], default=1, help="2: behind HAProxy")
    parser.add_argument("--scale", type=float, default=1.0, help="realistic volume × S")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.servers > 1 and args.database != "postgres":
        parser.error("--servers 2 needs --database postgres (SQLite is one server's file)")

    with tempfile.TemporaryDirectory(prefix="cb-load-") as root:
        database = (
            postgres_database()
            if args.database == "postgres"
            else contextlib.nullcontext((None, None))
        )
        with database as (url, _name):
            installation = Installation(root=Path(root), database_url=url)
            print("preparing the installation (demo, generated volume) ...", flush=True)
            installation.prepare_demo()
            installation.run(
                "generate",
                "--organisations",
                "20",
                "--people",
                "100",
                "--scale",
                str(args.scale),
                "--seed",
                "9",
            )
            # the personas' case pages at volume: seats in generated cases, with entries
            print(
                installation.python(
                    "from casebridge.ops.volume import seat_members\n"
                    "print(seat_members(['partner', 'police'], per_user=100))\n"
                ).strip()
            )
            installation.run("collectstatic", "--no-input")
            token = installation.api_token("hotline")
            with serving(installation, args) as (server, logs):
                print(f"load on {server.url} ...", flush=True)
                runs = []
                for users in [int(n) for n in str(args.users).split(",")]:
                    mixes = [("pages", PERSONAS)] + ([("floor", ["Floor"])] if args.floor else [])
                    for mix, classes in mixes:
                        prefix = Path(root) / f"locust-{mix}-{users}"
                        error = run_locust(
                            args, server, installation, token, users, classes, prefix
                        )
                        if error:
                            print(error, file=sys.stderr)
                            return 1
                        runs.append(
                            (
                                mix,
                                users,
                                read_csv(Path(f"{prefix}_stats.csv")),
                                read_csv(Path(f"{prefix}_failures.csv")),
                            )
                        )
                server_errors = sum(log.read_text().count('" 500 ') for log in logs)
    report = render(args, runs, server_errors)
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    return 0


PERSONAS = ["Hotline", "Partner", "Police"]


@contextlib.contextmanager
def serving(installation, args):
    """The address to load (a server, or HAProxy before two) and the servers' logs."""
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(installation.server(workers=args.workers))
            for _ in range(args.servers)
        ]
        if args.servers == 1:
            yield servers[0], [servers[0].log]
            return
        proxy = stack.enter_context(
            Proxy.start(installation.root, [f"127.0.0.1:{s.port}" for s in servers])
        )
        yield proxy, [s.log for s in servers]


def run_locust(args, server, installation, token, users, classes, prefix) -> str:
    """One locust run; returns an error text, or "" when it ran."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(REPO / "bench" / "locustfile.py"),
            "--headless",
            "--only-summary",
            "--host",
            server.url,
            "--users",
            str(users),
            "--spawn-rate",
            str(max(args.spawn_rate, users)),
            "--run-time",
            f"{args.run_time}s",
            "--stop-timeout",
            "10",
            "--csv",
            str(prefix),
            "--exit-code-on-error",
            "0",
            *classes,
        ],
        env={
            **installation.env,
            "CASEBRIDGE_LOAD_TOKEN": token,
            "CASEBRIDGE_LOAD_MAX_REQUESTS": str(args.max_requests),
            "CASEBRIDGE_LOAD_WAIT": args.wait,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=args.run_time + 300,
    )
    return result.stderr[-5000:] if result.returncode != 0 else ""


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def render(args, runs, server_errors) -> str:
    from casebridge.ops.scale import scaled

    volume = ", ".join(f"{n:,} {name}" for name, n in scaled(args.scale).items())
    wait = "no wait" if args.wait == "zero" else "wait 0.5–2 s"
    servers = f"{args.servers} app servers behind HAProxy, each" if args.servers > 1 else "gunicorn"
    lines = [
        f"# Load test ({args.database}, {wait}"
        + (f", {args.servers} app servers)" if args.servers > 1 else ")"),
        "",
        machine_line(),
        "",
        f"locust headless, users {args.users} ({wait}), each run bounded by {args.run_time} s "
        f"and {args.max_requests} requests; {servers} (deploy/gunicorn.conf.py) with "
        f"{args.workers} sync workers on 127.0.0.1; demo data plus the generated volume at "
        f"scale {args.scale:g} ({volume}). Personas: hotline 3, partner 3, police 1 "
        "(weights). The floor is /health/ with a signed-in session on the same stack.",
        "",
        "| users | req/s | median ms | p95 ms | errors | floor req/s | floor median ms "
        "| floor p95 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    totals = {
        (mix, users): next(r for r in rows if r["Name"] == "Aggregated")
        for mix, users, rows, _failures in runs
    }
    for (mix, users), total in totals.items():
        if mix != "pages":
            continue
        floor = totals.get(("floor", users))
        floor_cells = (
            f"{float(floor['Requests/s']):.1f} | {floor['50%']} | {floor['95%']}"
            if floor
            else "– | – | –"
        )
        lines.append(
            f"| {users} | {float(total['Requests/s']):.1f} | {total['50%']} | "
            f"{total['95%']} | {total['Failure Count']} | {floor_cells} |"
        )
    mix, users, rows, failures = next(run for run in reversed(runs) if run[0] == "pages")
    lines += [
        "",
        f"By request, at {users} users:",
        "",
        "| request | count | errors | req/s | median ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "**total**"
        method = row["Type"] + " " if row["Type"] else ""
        lines.append(
            f"| {method}{name} | {row['Request Count']} | {row['Failure Count']} | "
            f"{float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} | "
            f"{float(row['Max Response Time']):.0f} |"
        )
    lines += ["", f"Server errors (500) in gunicorn's log: {server_errors}."]
    for _mix, _users, _rows, failures in runs:
        for failure in failures:
            lines.append(
                f"- failure: {failure['Method']} {failure['Name']}: {failure['Error']} "
                f"× {failure['Occurrences']}"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
