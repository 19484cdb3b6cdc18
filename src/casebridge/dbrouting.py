"""Reading statistics from a standby database (issue 21).

An installation may name a PostgreSQL streaming-replication standby of its database in
``DATABASE_REPLICA_URL`` (``DATABASES["replica"]``). Statistics — the dashboard, its CSV,
XLSX and PDF files, the API and the annual report — read their counts from it, so that a
coordinator's year of figures does not compete with the counsellors' writes; nothing else
does. Everything stays on the primary ("default") that must: the need-to-know decision,
audit events, sessions, sign-in, the disclosure-control decisions, and every write.

The switch is explicit and narrow. ``choose()`` decides, once per request for figures,
whether the standby may serve them; ``reads_from(source, labels)`` then routes reads of
the named models (the statistics' ``registry.READABLE``) there for the length of a
``with`` block, through a context variable that ``StandbyRouter`` reads. Outside such a
block every read and write goes to "default", whatever a model instance says.

**Never stale, never silent.** The standby serves only when it has replayed everything
the primary had written at the moment of the request (after the monthly counts were
brought up to date): ``choose()`` asks the primary for its WAL position and gives the
standby up to ``REPLICA_CATCH_UP_SECONDS`` to reach it. The figures are then as of that
moment, which pages, files and the API show ("as of"). A standby that is unreachable,
not in recovery (promoted, or misconfigured) or behind answers with the primary's figures,
and the reader is told so. Mixing a lagging standby's monthly aggregates with counts from
another moment could make two published tables disagree, which disclosure control must
not allow; see docs/operations.md, "A standby database".
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

REPLICA = "replica"
log = logging.getLogger(__name__)

# (alias, model labels) while a ``reads_from`` block runs; None outside
_routing: ContextVar[tuple[str, frozenset[str]] | None] = ContextVar(
    "casebridge_reads_from", default=None
)


@dataclass(frozen=True)
class ReadFrom:
    """Where figures were read from and as of when; ``note`` says why the primary served
    although a standby is configured (empty otherwise)."""

    alias: str
    as_of: datetime
    note: str = ""

    @property
    def standby(self) -> bool:
        return self.alias == REPLICA

    @property
    def database(self) -> str:
        """ "standby" or "primary", for audit details and the API."""
        return "standby" if self.standby else "primary"


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _primary_position() -> tuple[str | None, datetime]:
    """The primary's WAL insert position (None off PostgreSQL) and its clock: every
    transaction committed before lies at or before it, also with synchronous_commit off
    (where the write position may still lag behind a commit)."""
    primary = connections[DEFAULT_DB_ALIAS]
    if primary.vendor != "postgresql":
        return None, timezone.now()
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text, clock_timestamp()")
        lsn, now = cursor.fetchone()
    return lsn, now


def _standby_behind(lsn: str) -> tuple[bool, float | None]:
    """(in recovery, bytes of WAL the standby has still to replay to reach ``lsn``)."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())",
            [lsn],
        )
        recovering, behind = cursor.fetchone()
    return bool(recovering), None if behind is None else float(behind)


def choose() -> ReadFrom:
    """Where the figures asked for now are read: the standby if one is configured and has
    caught up with the primary (waiting up to ``REPLICA_CATCH_UP_SECONDS``), else the
    primary, with the reason."""
    if not replica_configured():
        return ReadFrom(DEFAULT_DB_ALIAS, timezone.now())  # no query: pages keep their count
    lsn, now = _primary_position()
    if lsn is None:
        return ReadFrom(DEFAULT_DB_ALIAS, now)
    deadline = time.monotonic() + settings.REPLICA_CATCH_UP_SECONDS
    try:
        while True:
            recovering, behind = _standby_behind(lsn)
            if not recovering or behind is None:
                log.warning("standby database: not in recovery; the primary serves statistics")
                return ReadFrom(
                    DEFAULT_DB_ALIAS, now, str(_("the standby database is not a standby"))
                )
            if behind <= 0:
                return ReadFrom(REPLICA, now)
            if time.monotonic() >= deadline:
                log.warning(
                    "standby database: %d bytes behind after %s s; the primary serves statistics",
                    behind,
                    settings.REPLICA_CATCH_UP_SECONDS,
                )
                return ReadFrom(
                    DEFAULT_DB_ALIAS, now, str(_("the standby database is behind the primary"))
                )
            time.sleep(0.02)
    except (OperationalError, InterfaceError) as error:
        # the error names the server and the failure (no personal data); the broken
        # connection is closed so that the next request connects afresh
        log.warning("standby database not reachable: %s", str(error).strip().splitlines()[0])
        _forget_standby_connection()
        return ReadFrom(DEFAULT_DB_ALIAS, now, str(_("the standby database is not reachable")))


def _forget_standby_connection() -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may fail again
        connections[REPLICA].close()


@contextlib.contextmanager
def reads_from(source: ReadFrom, labels: Iterable[str]) -> Iterator[ReadFrom]:
    """Route reads of the models ``labels`` (``app_label.ModelName``) to ``source``'s
    database inside the block; everything else, and every write, stays on "default"."""
    token = _routing.set((source.alias, frozenset(labels)))
    try:
        yield source
    finally:
        _routing.reset(token)


@contextlib.contextmanager
def _primary_only() -> Iterator[None]:
    token = _routing.set(None)
    try:
        yield
    finally:
        _routing.reset(token)


def on_primary(function):
    """Run ``function`` with every read on the primary, even when called inside a
    ``reads_from`` block: the need-to-know decision and audit events."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with _primary_only():
            return function(*args, **kwargs)

    return wrapper


def read_alias(model) -> str:
    """The database a read of ``model`` goes to right now (for raw SQL and transactions)."""
    routing = _routing.get()
    if routing is not None and model._meta.label in routing[1]:
        return routing[0]
    return DEFAULT_DB_ALIAS


class StandbyRouter:
    """Reads of the models a ``reads_from`` block names go to its database; every other
    read, every write and every migration to "default". Explicit answers (never None), so
    that an object read from the standby is saved, and its relations read, on the primary."""

    def db_for_read(self, model, **hints) -> str:
        return read_alias(model)

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the standby holds the primary's rows

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS
