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
import operator
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


def seal_batch(limit: int, *, wait: bool = True) -> int | None:
    """Chain up to ``limit`` pending events in id order; return how many were sealed.

    Holds the chain head's lock only for this short transaction: one read of the pending
    rows, their hashes computed in memory, one batched update. With ``wait=False`` it
    returns None at once when another sealer holds the lock (PostgreSQL; SQLite serialises
    writers itself): that sealer looks for pending events again after it lets go
    (``services.seal_pending``), so whatever was committed before this call is sealed.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {TABLE} WHERE sequence IS NULL LIMIT 1")
        if cursor.fetchone() is None:
            return 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # No WAL flush for the seal: the events are already durable, a seal lost in a
            # crash is redone from them, and a checkpoint's own (synchronous) commit flushes
            # every seal it signed. Saves one fsync per request.
            cursor.execute("SET LOCAL synchronous_commit = off")
        head = lock_head(cursor, wait=wait)
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
        cursor.executemany(
            f"UPDATE {TABLE} SET sequence = %s, prev_hash = %s, hash = %s WHERE id = %s", updates
        )
        cursor.execute(
            f"UPDATE {HEAD_TABLE} SET sequence = %s, hash = %s WHERE id = 1", [sequence, prev]
        )
        return len(rows)


def lock_head(cursor, *, wait: bool = True) -> tuple[int, str] | None:
    """Lock the chain head (created at genesis when missing); return its sequence and hash.

    Without ``wait``, None when another transaction holds the lock (PostgreSQL only).
    """
    lock = ""
    if connection.features.has_select_for_update:
        skip = not wait and connection.features.has_select_for_update_skip_locked
        lock = " FOR UPDATE SKIP LOCKED" if skip else " FOR UPDATE"
    cursor.execute(f"SELECT sequence, hash FROM {HEAD_TABLE} WHERE id = 1{lock}")
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


def preimage_sql(vendor: str) -> str:
    """The SQL expression for the bytes an event's hash is taken over (UTF-8):
    ``prev_hash US sequence US content``, so verify hashes what the database returns as is."""
    if vendor == "postgresql":
        return (
            f"convert_to(prev_hash || chr(31) || sequence || chr(31) || {content_sql(vendor)}, "
            "'UTF8')"
        )
    return f"CAST(prev_hash || char(31) || sequence || char(31) || {content_sql(vendor)} AS BLOB)"


# What verify expects in a preimage: the content's separators plus the two after prev_hash
# and sequence (a UTF-8 byte 0x1F is always the character U+001F itself).
PREIMAGE_SEPARATORS = CONTENT_SEPARATORS + 2
_count_separators = operator.methodcaller("count", SEPARATOR.encode())
_hexdigest = operator.methodcaller("hexdigest")


def iter_sealed(after: int, batch_size: int) -> Iterator[list[tuple[int, str, str, bytes]]]:
    """Sealed events after ``after`` in sequence order, as (sequence, prev_hash, hash,
    preimage) tuples in chunks (keyset pagination: each chunk is one indexed range read)."""
    sql = (
        f"SELECT sequence, prev_hash, hash, {preimage_sql(connection.vendor)} FROM {TABLE} "
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


def chunk_intact(rows: list[tuple], expected: int, expected_prev: str) -> bool:
    """Whether a chunk of ``iter_sealed`` rows continues the chain intact.

    The same checks as the row-by-row walk (sequence without gaps from ``expected``, each
    ``prev_hash`` equal to the hash before it, every hash recomputed, separators counted),
    done as whole-chunk comparisons and ``map`` over the C functions, without a Python
    statement per row. False says only that something in the chunk is wrong: the caller
    walks it row by row to name the first break.
    """
    sequences, prevs, hashes, preimages = zip(*rows, strict=True)
    try:
        return (
            sequences == tuple(range(expected, expected + len(rows)))
            and prevs[0] == expected_prev
            and prevs[1:] == hashes[:-1]
            and tuple(map(_hexdigest, map(hashlib.sha256, preimages))) == hashes
            and set(map(_count_separators, preimages)) == {PREIMAGE_SEPARATORS}
        )
    except TypeError:  # a NULL the schema should not allow: the row walk names the event
        return False


def row_problem(
    row: tuple[int, str | None, str | None, bytes | None], expected: int, expected_prev: str
) -> tuple[int, str] | None:
    """Where and what is wrong with one ``iter_sealed`` row where the chain expects event
    ``expected`` after ``expected_prev``; None when the row continues the chain."""
    sequence, prev_hash, hash_, preimage = row
    if sequence != expected:
        return expected, f"event {expected} is missing"
    if prev_hash != expected_prev:
        return sequence, "link to the previous event is broken"
    if (
        preimage is None
        or hashlib.sha256(preimage).hexdigest() != hash_
        or preimage.count(SEPARATOR.encode()) != PREIMAGE_SEPARATORS
    ):
        return sequence, "content does not match its hash"
    return None
