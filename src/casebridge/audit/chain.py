# ruff: noqa: S608 - the SQL is built from constants (table and column names), never input
"""The chain's hash format, sealing, and the fast walk that verifies it.

An event's hash is ``SHA-256(prev_hash US sequence US content)`` where US is the ASCII unit
separator (0x1F) and ``content`` is the event's stored fields in a fixed order, joined by US
and built by the database itself (``content_sql``): the time as ``YYYY-MM-DD
HH:MM:SS.ffffff`` in UTC, the actor's id (empty when none), actor label, action, object
type, object id, outcome, purpose, remote address (empty when none) and ``details`` as the
canonical JSON text it was stored as. Writers remove US from text fields and JSON escapes it,
so an event's content always holds exactly ``CONTENT_SEPARATORS`` of them; verify checks that
count, so no character can move from one field to the next without breaking the hash.

Sealing and verifying read the same SQL expression, so both hash exactly what is stored,
and verify needs no model instances and no per-field conversion (see docs/development.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from django.db import connection, transaction

SEPARATOR = "\x1f"
GENESIS = "0" * 64
CONTENT_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "purpose",
    "remote_addr",
    "details",
)
CONTENT_SEPARATORS = len(CONTENT_FIELDS) - 1
TABLE = "audit_auditevent"
HEAD_TABLE = "audit_chainhead"


def digest(prev_hash: str, sequence: int, content: str) -> str:
    return hashlib.sha256(
        f"{prev_hash}{SEPARATOR}{sequence}{SEPARATOR}{content}".encode()
    ).hexdigest()


def clean(text: str) -> str:
    """A text field as the chain accepts it: without the field separator."""
    return text.replace(SEPARATOR, " ") if SEPARATOR in text else text


def content_sql(vendor: str) -> str:
    """The SQL expression that yields an event's content string on this database."""
    if vendor == "postgresql":
        parts = [
            "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
            "COALESCE(CAST(actor_id AS TEXT), '')",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "outcome",
            "purpose",
            "COALESCE(host(remote_addr), '')",
            "details",
        ]
        separator = " || chr(31) || "
    elif vendor == "sqlite":
        # Django stores "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC): the fraction is left out at 0.
        parts = [
            "CASE WHEN length(occurred_at) = 19 THEN occurred_at || '.000000' ELSE occurred_at END",
            "COALESCE(CAST(actor_id AS TEXT), '')",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "outcome",
            "purpose",
            "COALESCE(remote_addr, '')",
            "details",
        ]
        separator = " || char(31) || "
    else:  # pragma: no cover - settings allow only these two
        raise NotImplementedError(vendor)
    return separator.join(parts)


def seal_batch(limit: int, *, wait: bool = True, look_first: bool = True) -> int | None:
    """Chain up to ``limit`` pending events in id order; return how many were sealed.

    Holds the chain head's lock only for this short transaction: one read of the pending
    rows, their hashes computed in memory, one batched update. With ``wait=False`` it
    returns None at once when another sealer holds the lock (PostgreSQL; SQLite serialises
    writers itself): that sealer looks for pending events again after it lets go
    (``services.seal_pending``), so whatever was committed before this call is sealed.
    ``look_first=False`` skips the cheap check for pending events before the transaction
    (the caller has just committed one).

    Round trips count on a loaded server, so PostgreSQL folds the WAL setting into the lock
    query and the event and head updates into one statement. The lock and the read of the
    pending rows stay two statements: in READ COMMITTED the read must take its snapshot
    after the lock is held, or it could see events another sealer has just chained.
    """
    if look_first:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {TABLE} WHERE sequence IS NULL LIMIT 1")
            if cursor.fetchone() is None:
                return 0
    postgresql = connection.vendor == "postgresql"
    if postgresql:  # one statement with 4 parameters per event: stay below 65,535
        limit = min(limit, 10000)
    with transaction.atomic(), connection.cursor() as cursor:
        head = lock_head(cursor, wait=wait, seal=True)
        if head is None:
            return None
        sequence, prev = head
        cursor.execute(
            f"SELECT id, {content_sql(connection.vendor)} FROM {TABLE} "
            f"WHERE sequence IS NULL ORDER BY id LIMIT %s",
            [limit],
        )
        rows = cursor.fetchall()
        if not rows:
            return 0
        updates = []
        for event_id, content in rows:
            sequence += 1
            current = digest(prev, sequence, content)
            updates.append((sequence, prev, current, event_id))
            prev = current
        if postgresql:
            values = ", ".join(["(%s::bigint, %s, %s, %s::bigint)"] * len(updates))
            cursor.execute(
                f"WITH sealed (sequence, prev_hash, hash, id) AS (VALUES {values}), "
                f"events AS (UPDATE {TABLE} AS e SET sequence = sealed.sequence, "
                f"prev_hash = sealed.prev_hash, hash = sealed.hash FROM sealed "
                f"WHERE e.id = sealed.id) "
                f"UPDATE {HEAD_TABLE} SET sequence = %s, hash = %s WHERE id = 1",
                [value for update in updates for value in update] + [sequence, prev],
            )
        else:
            cursor.executemany(
                f"UPDATE {TABLE} SET sequence = %s, prev_hash = %s, hash = %s WHERE id = %s",
                updates,
            )
            cursor.execute(
                f"UPDATE {HEAD_TABLE} SET sequence = %s, hash = %s WHERE id = 1", [sequence, prev]
            )
        return len(rows)


def lock_head(cursor, *, wait: bool = True, seal: bool = False) -> tuple[int, str] | None:
    """Lock the chain head (created at genesis when missing); return its sequence and hash.

    Without ``wait``, None when another transaction holds the lock (PostgreSQL only).
    ``seal``: the transaction only seals, so its commit need not wait for a WAL flush.
    """
    lock, columns = "", "sequence, hash"
    if connection.features.has_select_for_update:
        skip = not wait and connection.features.has_select_for_update_skip_locked
        lock = " FOR UPDATE SKIP LOCKED" if skip else " FOR UPDATE"
    if seal and connection.vendor == "postgresql":
        # No WAL flush for the seal: the events are already durable, a seal lost in a crash
        # is redone from them, and a checkpoint's own (synchronous) commit flushes every
        # seal it signed. Saves one fsync per request; set here (SET LOCAL, for this
        # transaction only) to save a round trip. Never for pruning, which deletes events.
        columns += ", set_config('synchronous_commit', 'off', true)"
    cursor.execute(f"SELECT {columns} FROM {HEAD_TABLE} WHERE id = 1{lock}")
    row = cursor.fetchone()
    if row is None:
        cursor.execute(f"SELECT 1 FROM {HEAD_TABLE} WHERE id = 1")
        if cursor.fetchone() is not None:
            return None  # skipped: someone else is sealing
        cursor.execute(
            f"INSERT INTO {HEAD_TABLE} (id, sequence, hash) VALUES (1, 0, %s) "
            "ON CONFLICT (id) DO NOTHING",
            [GENESIS],
        )
        cursor.execute(f"SELECT sequence, hash FROM {HEAD_TABLE} WHERE id = 1{lock}")
        row = cursor.fetchone()
        if row is None:
            return None
    return int(row[0]), row[1]


def iter_sealed(after: int, batch_size: int) -> Iterator[list[tuple[int, str, str, str]]]:
    """Sealed events after ``after`` in sequence order, as (sequence, prev_hash, hash, content)
    tuples in chunks (keyset pagination: each chunk is one indexed range read)."""
    sql = (
        f"SELECT sequence, prev_hash, hash, {content_sql(connection.vendor)} FROM {TABLE} "
        f"WHERE sequence > %s ORDER BY sequence LIMIT %s"
    )
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [after, batch_size])
            rows = cursor.fetchall()
            if not rows:
                return
            yield rows
            after = rows[-1][0]


def walk(
    rows: list[tuple[int, str, str, str]], expected: int, expected_prev: str
) -> tuple[int, str, tuple[int, str] | None]:
    """Check ``iter_sealed`` rows that should continue the chain at event ``expected`` after
    the hash ``expected_prev``: each sequence follows the one before, each ``prev_hash`` is
    the hash before it, each hash is recomputed from the row and its content holds exactly
    ``CONTENT_SEPARATORS`` separators.

    Returns the next expected sequence, the last good hash and the first break (its
    sequence and problem) or None. This loop is the whole cost of verify besides reading
    the rows, so it is written for speed: local names, the digest inlined, no objects per
    row. (Whole-chunk comparisons with ``map`` measured slower: bench/results.md.)
    """
    sha256 = hashlib.sha256
    separator, separators = SEPARATOR, CONTENT_SEPARATORS
    for sequence, prev_hash, hash_, content in rows:
        if sequence != expected:
            return expected, expected_prev, (expected, f"event {expected} is missing")
        if prev_hash != expected_prev:
            return expected, expected_prev, (sequence, "link to the previous event is broken")
        if (
            content is None
            or sha256(f"{prev_hash}{separator}{sequence}{separator}{content}".encode()).hexdigest()
            != hash_
            or content.count(separator) != separators
        ):
            return expected, expected_prev, (sequence, "content does not match its hash")
        expected_prev = hash_
        expected += 1
    return expected, expected_prev, None
