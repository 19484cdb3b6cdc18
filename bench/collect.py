"""Gather what ``make bench`` measured into one results file, with the machine described.

Usage:  python bench/collect.py start OUT          (before the run: time, commit, load)
        python bench/collect.py write OUT FILE [--scale S]
``write`` describes the machine (processor, cores, memory, system, Python, SQLite and
PostgreSQL versions), the run (commit, start and end, load average before and after) and
then every script's output from OUT (``*.txt`` as printed, the load test's ``*.md``
tables as they are), in the order ``make bench`` ran them.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sqlite3
import subprocess
import sys
from pathlib import Path

ORDER = ["routing", "policy", "audit-verify", "audit-cost", "audit-auditlog", "stats"]
TITLES = {
    "routing": "Routing suggestion (issue 2)",
    "policy": "Policy decide() and pycasbin side by side",
    "audit-verify": "Audit chain: verify",
    "audit-cost": "Audit chain: share of a write request",
    "audit-auditlog": "Audit write against django-auditlog",
    "audit-lock": "Audit chain: lock wait against append, 8 threads",
    "stats": "Statistics: the coordinator dashboard",
    "load": "Pages under concurrency (locust against gunicorn)",
}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _command(*args: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    except OSError:
        pass
    return "unknown"


def machine() -> list[str]:
    memory = _first("/proc/meminfo", "MemTotal")
    if memory.endswith("kB"):
        memory = f"{int(memory.split()[0]) / 1024 / 1024:.1f} GiB"
    postgres = _command(
        "psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version", "postgres"
    )
    return [
        f"- processor: {_first('/proc/cpuinfo', 'model name')} ({platform.machine()}), "
        f"{os.cpu_count()} cores",
        f"- memory: {memory}",
        f"- system: {_first('/etc/os-release', 'PRETTY_NAME').strip(chr(34))}, "
        f"kernel {platform.release()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"PostgreSQL {postgres.split()[0] if postgres != 'unknown' else postgres} "
        "(local, trust auth, default settings)",
    ]


def start(out: Path) -> None:
    commit = _command("git", "rev-parse", "--short", "HEAD")
    (out / "run.txt").write_text(f"{_now()}\n{commit}\n{_loadavg()}\n")


def write(out: Path, target: Path, scale: float) -> None:
    started, commit, load_before = (out / "run.txt").read_text().splitlines()[:3]
    lines = [
        "# Benchmark baseline (`make bench`)",
        "",
        "Written by `bench/collect.py` from `bench/out/`; every figure below is what the",
        "scripts printed in this one run. Medians unless said otherwise.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Run",
        "",
        f"- commit {commit}; started {started}, finished {_now()}",
        f"- load average (1, 5, 15 min) before: {load_before}; after: {_loadavg()}",
        f"- generated volume: scale {scale:g} (100,000 contacts, 20,000 cases, 500,000 entries "
        "× scale) for the statistics and load tests; the routing, policy and audit scripts "
        "generate the sizes their issues name (see their output)",
        "",
    ]
    for database in ("sqlite", "postgres"):
        lines += [f"## {'SQLite' if database == 'sqlite' else 'PostgreSQL'}", ""]
        for name in [*ORDER, "audit-lock"]:
            path = out / f"{name}-{database}.txt"
            if path.exists():
                text = path.read_text().strip()
                lines += [f"### {TITLES[name]}", "", "```", text, "```", ""]
    for name in [
        *(
            f"load{kind}-{database}"
            for kind in ("", "-think")
            for database in ("sqlite", "postgres")
        ),
        "load-postgres-2servers",  # beside load-postgres: the same load through HAProxy
    ]:
        path = out / f"{name}.md"
        if path.exists():
            text = path.read_text().strip().replace("\n# ", "\n### ")
            if text.startswith("# "):
                text = "##" + text[1:]
            lines += [text, ""]
    target.write_text("\n".join(lines))
    print(f"wrote {target}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["start", "write"])
    parser.add_argument("out", type=Path)
    parser.add_argument("target", type=Path, nargs="?")
    parser.add_argument("--scale", type=float, default=1)
    args = parser.parse_args()
    if args.action == "start":
        start(args.out)
    else:
        if args.target is None:
            parser.error("write needs the results file")
        write(args.out, args.target, args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
