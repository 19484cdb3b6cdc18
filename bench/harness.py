"""What every benchmark needs: Django set up against a fresh database of its own."""

from __future__ import annotations

import os
import platform
import tempfile
from collections.abc import Callable


def with_fresh_database(name: str, run: Callable, *, keep: str = "") -> int:
    """Set Django up, create a throwaway database, call ``run(connection)``, drop it.

    SQLite by default; with DATABASE_URL the PostgreSQL database ``casebridge_bench_<name>``,
    never test_casebridge, which a test run may be using at the same time. ``keep`` names a
    PostgreSQL database that is reused (migrated, not emptied) and kept afterwards, for data
    that takes long to generate.
    """
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("CASEBRIDGE_DATA_DIR", tempfile.mkdtemp(prefix="casebridge-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casebridge.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    keepdb = bool(keep) and connection.vendor != "sqlite"
    if connection.vendor != "sqlite":
        connection.settings_dict["TEST"]["NAME"] = keep or f"casebridge_bench_{name}"
    # serialized_aliases=(): never dump a kept database's millions of rows to a string
    old = setup_databases(verbosity=0, interactive=False, keepdb=keepdb, serialized_aliases=())
    try:
        return run(connection)
    finally:
        teardown_databases(old, verbosity=0, keepdb=keepdb)


def machine_line(extra: str = "") -> str:
    line = (
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    return f"{line}{extra}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
