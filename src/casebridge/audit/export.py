"""The data protection officer's audit export as a stream (CSV or JSON Lines), and the check
an auditor runs on an excerpt of it.

Every row holds the event's chain position (``sequence``), the hash before it
(``prev_hash``), its own ``hash`` and the ten content fields exactly as they were hashed
(``chain.CONTENT_FIELDS``; the time in UTC as ``YYYY-MM-DD HH:MM:SS.ffffff``, ``details``
as its canonical JSON text). So ``hash = SHA-256(prev_hash US sequence US content)`` with
``content`` the ten fields joined by US (0x1F) can be recomputed from the row alone, and
rows of consecutive sequences must link (docs/operations.md, "Verifying an excerpt").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.http import StreamingHttpResponse

from casebridge.audit import chain

COLUMNS = ("sequence", "prev_hash", "hash", *chain.CONTENT_FIELDS)
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
# Rows per piece of the response: large enough to keep the overhead low, small enough that
# the first bytes leave at once.
ROWS_PER_PIECE = 500


def _csv_pieces(rows: Iterable[tuple]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for number, row in enumerate(rows, start=1):
        writer.writerow(row)
        if number % ROWS_PER_PIECE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _jsonl_pieces(rows: Iterable[tuple]) -> Iterator[str]:
    lines = []
    for row in rows:
        lines.append(json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False))
        if len(lines) == ROWS_PER_PIECE:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def stream(rows: Iterable[tuple], fmt: str) -> StreamingHttpResponse:
    """The export as a download that is written while the rows are read."""
    pieces = _jsonl_pieces(rows) if fmt == "jsonl" else _csv_pieces(rows)
    response = StreamingHttpResponse(pieces, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="audit.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


# -- verifying an excerpt --------------------------------------------------------------------


@dataclass
class ExcerptCheck:
    rows: int = 0
    links: int = 0  # pairs of consecutive sequences whose link was checked
    problems: list[str] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)  # sequence → hash, to compare

    @property
    def ok(self) -> bool:
        return not self.problems


def read_excerpt(path: Path) -> Iterator[dict]:
    """The rows of an exported file (CSV or JSON Lines, told apart by the first character)."""
    with path.open(encoding="utf-8", newline="") as handle:
        first = handle.read(1)
        handle.seek(0)
        if first == "{":
            for line in handle:
                if line.strip():
                    yield json.loads(line)
        else:
            yield from csv.DictReader(handle)


def check_excerpt(rows: Iterable[dict]) -> ExcerptCheck:
    """Recompute every row's hash from its fields; check the link between rows of
    consecutive sequences. An excerpt of filtered events has gaps: each of its rows is
    still checked on its own."""
    result = ExcerptCheck()
    previous: dict | None = None
    for row in rows:
        result.rows += 1
        try:
            sequence = int(row["sequence"])
            content = chain.SEPARATOR.join(str(row[name]) for name in chain.CONTENT_FIELDS)
            prev_hash, hash_ = row["prev_hash"], row["hash"]
        except (KeyError, TypeError, ValueError):
            result.problems.append(f"row {result.rows}: not an audit export row")
            continue
        if chain.digest(prev_hash, sequence, content) != hash_:
            result.problems.append(f"event {sequence}: content does not match its hash")
        if previous is not None and int(previous["sequence"]) == sequence - 1:
            result.links += 1
            if previous["hash"] != prev_hash:
                result.problems.append(f"event {sequence}: link to the previous event is broken")
        elif previous is not None and int(previous["sequence"]) >= sequence:
            result.problems.append(f"event {sequence}: not in chain order")
        result.hashes[sequence] = hash_
        previous = row
    return result
