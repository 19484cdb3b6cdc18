"""The benchmark scripts still run: no test times them, so without this they break unseen
(issue 16 found the load test broken twice, by a move and by a stricter API)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _once_per_ci_run():
    """The scripts make their own SQLite databases (they never read DATABASE_URL): the
    suite's PostgreSQL pass would only repeat them."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("run in the SQLite pass; the scripts do not read DATABASE_URL")


def test_the_page_bench_measures_every_page_at_a_tiny_scale(tmp_path):
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(REPO / "bench" / "pages.py"), "--scale", "0.002", "--repeat", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "CASEBRIDGE_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: a page misses 15 ms
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 11, result.stdout[-3000:]  # the header and eleven pages
    assert rows[1].startswith("| floor (trivial view) |")


LOAD_REPORT = """
import argparse, sys
sys.path[:0] = [sys.argv[1]]
import load

def rows(rate):
    row = {"Type": "GET", "Name": "/cases/", "Request Count": "10", "Failure Count": "0",
           "Requests/s": rate, "50%": "20", "95%": "40", "Max Response Time": "50"}
    return [row, {**row, "Type": "", "Name": "Aggregated"}]

args = argparse.Namespace(database="sqlite", wait="zero", users="2,8", run_time=5,
                          max_requests=0, workers=4, scale=1, servers=1)
runs = [("pages", 2, rows("40.0"), []), ("floor", 2, rows("200.0"), []),
        ("pages", 8, rows("45.0"), [])]
print(load.render(args, runs, 0))
args.database, args.servers, args.workers = "postgres", 2, 2
print(load.render(args, runs, 0))
"""


def test_the_load_report_renders_a_curve_with_its_floor_outside_django(tmp_path):
    """The report is written after the server is gone, in a process without Django set up:
    what it imports must not need the app registry."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", LOAD_REPORT, str(REPO / "bench")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| 2 | 40.0 | 20 | 40 | 0 | 200.0 | 20 | 40 |" in result.stdout
    assert "| 8 | 45.0 | 20 | 40 | 0 | – | – | – |" in result.stdout
    assert "100,000 contacts" in result.stdout
    assert "2 app servers behind HAProxy, each" in result.stdout


def test_the_replay_bench_runs_on_the_demo_year(tmp_path):
    """Issue 19: the replay of a year of the demo network through a draft; both procedures
    replay events and the draft's changes are found."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(REPO / "bench" / "replay.py"), "--repeat", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "CASEBRIDGE_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| de-")]
    assert len(rows) == 2, result.stdout[-3000:]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert int(cells[4]) + int(cells[6]) > 0, row  # events replayed
        assert cells[-1], row  # something found


def test_the_federation_bench_runs_two_installations_at_a_tiny_size(tmp_path):
    """Issue 22: consultations and person matches between two served installations."""
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(REPO / "bench" / "federation.py"),
            *("--consultations", "3", "--cases", "40", "--matches", "2", "--workers", "1"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    assert "consultation round trip A→B→A over loopback HTTP, 3 consultations" in result.stdout
    assert "1 hits, 1 misses; 0 wrong" in result.stdout
