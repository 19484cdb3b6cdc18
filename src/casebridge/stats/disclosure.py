"""Tables of counts and what of them may be published (DESIGN.md invariant 7). Pure.

A ``Table`` is rows × columns of counts with their margins: row totals (when there is more
than one column), column totals (when there is more than one row) and the grand total. A
one-dimensional table is a table with one column; it has only the grand total as margin.

Which values are hidden is decided for all linked tables at once by ``protection.py``
(through ``publication.py``); ``publish_table()`` applies that decision to one table.
A hidden value is only "suppressed": whether it was hidden for being small or to protect
another is never told, since that alone would say which hidden values are small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["published", "suppressed"]
# a value in the table: ("cell", i, j), ("row", i), ("col", j) or ("total",)
Key = tuple


@dataclass(frozen=True)
class Table:
    """Counts by row and column labels; ``cells[i][j]`` is the count of row i, column j."""

    rows: list[str]
    columns: list[str]
    cells: list[list[int]]
    # column totals and the grand total; False for a table whose every row is a whole of
    # its own (the outcomes per dimension: each row counts every closed case), where a sum
    # down the rows counts nothing
    column_margins: bool = True

    def __post_init__(self):
        if not self.rows or not self.columns:
            raise ValueError("a table needs at least one row and one column")
        if len(self.cells) != len(self.rows) or any(
            len(line) != len(self.columns) for line in self.cells
        ):
            raise ValueError("cells do not match the labels")
        if any(n < 0 or int(n) != n for line in self.cells for n in line):
            raise ValueError("counts must be whole numbers, not negative")

    @classmethod
    def one_dimensional(cls, counts: dict[str, int], column: str = "") -> Table:
        return cls(list(counts), [column], [[int(n)] for n in counts.values()])

    @property
    def has_row_totals(self) -> bool:
        return len(self.columns) > 1

    @property
    def has_column_totals(self) -> bool:
        return len(self.rows) > 1

    def values(self) -> dict[Key, int]:
        """Return every value of the table (cells and margins) by key."""
        found: dict[Key, int] = {}
        for i, line in enumerate(self.cells):
            for j, n in enumerate(line):
                found[("cell", i, j)] = n
        if self.has_row_totals and self.has_column_totals:
            for i, line in enumerate(self.cells):
                found[("row", i)] = sum(line)
            if self.column_margins:
                for j in range(len(self.columns)):
                    found[("col", j)] = sum(line[j] for line in self.cells)
        if self.column_margins:
            found[("total",)] = sum(sum(line) for line in self.cells)
        return found


@dataclass(frozen=True)
class Value:
    """One published or hidden number: ``value`` is None when it is suppressed."""

    value: int | None
    status: Status = "published"

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass
class ProtectedTable:
    """What may leave the system: the table with hidden values removed."""

    rows: list[str]
    columns: list[str]
    k: int
    cells: list[list[Value]]
    row_totals: list[Value] | None
    column_totals: list[Value] | None
    total: Value | None  # None: the table has no column margins (``Table.column_margins``)
    statuses: dict[Key, Status] = field(default_factory=dict, repr=False)

    @property
    def one_dimensional(self) -> bool:
        return len(self.columns) == 1

    def published(self) -> dict[Key, int]:
        """Return every published value by key (what an intruder sees)."""
        found = {}
        for i, line in enumerate(self.cells):
            for j, cell in enumerate(line):
                if not cell.suppressed:
                    found[("cell", i, j)] = cell.value
        for kind, margins in (("row", self.row_totals), ("col", self.column_totals)):
            for index, margin in enumerate(margins or []):
                if not margin.suppressed:
                    found[(kind, index)] = margin.value
        if self.total is not None and not self.total.suppressed:
            found[("total",)] = self.total.value
        return found

    @property
    def suppressed_count(self) -> int:
        return sum(1 for status in self.statuses.values() if status != "published")

    def without_zero_rows(self) -> ProtectedTable:
        """The table without the rows whose every value is a published zero: for tables
        of many fixed rows (every pair of sectors, every organisation) of which few hold
        anything. It shows nothing the full table does not: a published zero is a zero
        there too, and a row holding a hidden value stays. Margins stay as they are."""
        keep = [
            i
            for i, line in enumerate(self.cells)
            if any(cell.suppressed or cell.value for cell in line)
        ]
        return ProtectedTable(
            rows=[self.rows[i] for i in keep],
            columns=list(self.columns),
            k=self.k,
            cells=[self.cells[i] for i in keep],
            row_totals=[self.row_totals[i] for i in keep] if self.row_totals else None,
            column_totals=self.column_totals,
            total=self.total,
            statuses=self.statuses,
        )


def publish_table(table: Table, k: int, hidden: set[Key]) -> ProtectedTable:
    """The table with the values at ``hidden`` keys suppressed."""
    values = table.values()

    def value(key: Key) -> Value:
        if key in hidden:
            return Value(None, "suppressed")
        return Value(values[key])

    rows, columns = range(len(table.rows)), range(len(table.columns))
    both = table.has_row_totals and table.has_column_totals
    return ProtectedTable(
        rows=list(table.rows),
        columns=list(table.columns),
        k=k,
        cells=[[value(("cell", i, j)) for j in columns] for i in rows],
        row_totals=[value(("row", i)) for i in rows] if both else None,
        column_totals=[value(("col", j)) for j in columns]
        if both and table.column_margins
        else None,
        total=value(("total",)) if table.column_margins else None,
        statuses={key: "suppressed" if key in hidden else "published" for key in values},
    )
