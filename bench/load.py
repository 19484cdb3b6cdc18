"""Load test: locust, headless, against gunicorn (deploy/gunicorn.conf.py) on 127.0.0.1
with a mixed workload of personas (bench/locustfile.py), bounded by time and requests.

Usage:  .venv/bin/python bench/load.py [--database sqlite|postgres] [--users 20]
        [--run-time 60] [--max-requests 5000] [--workers 4] [--contacts 20000]
        [--output bench/out/load-sqlite.md]

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

from tests.robustness.server import Installation, postgres_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--run-time", type=int, default=60, help="seconds")
    parser.add_argument("--max-requests", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--scale", type=float, default=1.0, help="realistic volume × S")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

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
            with installation.server(workers=args.workers) as server:
                print(f"load on {server.url} ...", flush=True)
                prefix = Path(root) / "locust"
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
                        str(args.users),
                        "--spawn-rate",
                        str(args.spawn_rate),
                        "--run-time",
                        f"{args.run_time}s",
                        "--stop-timeout",
                        "10",
                        "--csv",
                        str(prefix),
                        "--exit-code-on-error",
                        "0",
                    ],
                    env={
                        **installation.env,
                        "CASEBRIDGE_LOAD_TOKEN": token,
                        "CASEBRIDGE_LOAD_MAX_REQUESTS": str(args.max_requests),
                    },
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=args.run_time + 300,
                )
                if result.returncode != 0:
                    print(result.stderr[-5000:], file=sys.stderr)
                    return result.returncode
                server_errors = server.log.read_text().count('" 500 ')
            rows = read_csv(Path(f"{prefix}_stats.csv"))
            failures = read_csv(Path(f"{prefix}_failures.csv"))
    report = render(args, rows, failures, server_errors)
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    return 0


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def render(args, rows, failures, server_errors) -> str:
    from casebridge.ops.volume import scaled

    volume = ", ".join(f"{n:,} {name}" for name, n in scaled(args.scale).items())
    lines = [
        f"# Load test ({args.database})",
        "",
        machine_line(),
        "",
        f"locust headless, {args.users} users (spawn rate {args.spawn_rate}/s, wait 0.5–2 s), "
        f"bounded by {args.run_time} s and {args.max_requests} requests; gunicorn "
        f"(deploy/gunicorn.conf.py) with {args.workers} sync workers on 127.0.0.1; demo data "
        f"plus the generated volume at scale {args.scale:g} ({volume}). "
        "Personas: hotline 3, partner 3, police 1 (weights).",
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
    for failure in failures:
        lines.append(
            f"- failure: {failure['Method']} {failure['Name']}: {failure['Error']} "
            f"× {failure['Occurrences']}"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
