"""Disclosure control for count tables (DESIGN.md invariant 7). Pure Python, no Django.

A ``Table`` is rows × columns of counts with their margins: row totals (when there is more
than one column), column totals (when there is more than one row) and the grand total. A
one-dimensional table is a table with one column; it has only the grand total as margin.

``protect(table, k)`` decides what may be published:

1. **Primary suppression**: every count ``0 < n < k`` — cells and margins alike — is hidden.
   Zeros are published: a zero describes nobody, and hiding every zero would hide most of a
   sparse table while protecting no one. (Zeros can still be hidden as secondary cells.)
2. **Secondary suppression**: the table's additivity is a set of linear equations (each row
   sums to its total, each column to its total, the totals to the grand total). A hidden
   value is *derivable* when it is fixed by those equations and the published values —
   exactly when its unit vector lies in the row space of the equations restricted to the
   hidden values. The heuristic first makes sure no equation has exactly one hidden value
   (hiding, in that equation, the smallest non-zero cell, else its smallest margin, else
   a zero), then checks exactly with fraction-free Gaussian elimination and, while a hidden
   value is still derivable, hides one more value in one of its equations. Hiding
   everything is always safe, so the loop ends.

The same result serves the pages, the exports, the API and the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import gcd
from typing import Literal

Status = Literal["published", "primary", "secondary"]
# a value in the table: ("cell", i, j), ("row", i), ("col", j) or ("total",)
Key = tuple


@dataclass(frozen=True)
class Table:
    """Counts by row and column labels; ``cells[i][j]`` is the count of row i, column j."""

    rows: list[str]
    columns: list[str]
    cells: list[list[int]]

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
            for j in range(len(self.columns)):
                found[("col", j)] = sum(line[j] for line in self.cells)
        found[("total",)] = sum(sum(line) for line in self.cells)
        return found

    def margin_key(self, kind: str, index: int) -> Key:
        """Return the key of a row or column total; in a single row or column it is the total."""
        if kind == "row":
            return ("row", index) if self.has_column_totals else ("total",)
        return ("col", index) if self.has_row_totals else ("total",)

    def equations(self) -> list[dict[Key, int]]:
        """Return the additivity equations: each maps keys to coefficients, summing to 0."""
        rows, columns = range(len(self.rows)), range(len(self.columns))
        found: list[dict[Key, int]] = []
        if self.has_row_totals:
            for i in rows:
                found.append(
                    {**{("cell", i, j): 1 for j in columns}, self.margin_key("row", i): -1}
                )
        if self.has_column_totals:
            for j in columns:
                found.append({**{("cell", i, j): 1 for i in rows}, self.margin_key("col", j): -1})
        if self.has_row_totals and self.has_column_totals:
            found.append({**{("row", i): 1 for i in rows}, ("total",): -1})
            found.append({**{("col", j): 1 for j in columns}, ("total",): -1})
        if not self.has_row_totals and not self.has_column_totals:
            found.append({("cell", 0, 0): 1, ("total",): -1})
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
    total: Value
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
        if not self.total.suppressed:
            found[("total",)] = self.total.value
        return found

    @property
    def suppressed_count(self) -> int:
        return sum(1 for status in self.statuses.values() if status != "published")


def protect(table: Table, k: int) -> ProtectedTable:
    """Apply primary and secondary suppression with threshold ``k``; see the module text."""
    if k < 1:
        raise ValueError("k must be at least 1")
    values = table.values()
    equations = table.equations()
    hidden: dict[Key, Status] = {key: "primary" for key, n in values.items() if 0 < n < k}
    while True:
        _close_single_lines(values, equations, hidden)
        leaks = derivable(equations, values, set(hidden))
        if not leaks:
            break
        target = sorted(leaks)[0]
        options = [
            key
            for equation in equations
            if target in equation
            for key in equation
            if key not in hidden
        ]
        if not options:  # every neighbour is hidden yet the value leaks: hide anything left
            options = [key for key in values if key not in hidden]
        hidden[min(options, key=lambda key: _cost(key, values, equations, hidden))] = "secondary"
    return _result(table, k, values, hidden)


def _cost(key: Key, values: dict[Key, int], equations, hidden) -> tuple:
    """Order candidates for secondary suppression.

    Small non-zero cells first, then margins, then zeros (hiding a zero protects little and
    confuses readers). Within each, prefer a value whose other equations already hold a
    hidden value: hiding it closes two lines at once instead of opening a new one.
    """
    opens = sum(
        1
        for equation in equations
        if key in equation and not any(other in hidden for other in equation)
    )
    n = values[key]
    if key[0] == "cell" and n > 0:
        return (0, opens, n, key)
    if key[0] != "cell":
        return (1, opens, n, key)
    return (2, opens, 0, key)


def _close_single_lines(values, equations, hidden) -> None:
    """Hide a second value in every equation that has exactly one hidden value."""
    changed = True
    while changed:
        changed = False
        for equation in equations:
            inside = [key for key in equation if key in hidden]
            if len(inside) == 1:
                options = [key for key in equation if key not in hidden]
                choice = min(options, key=lambda key: _cost(key, values, equations, hidden))
                hidden[choice] = "secondary"
                changed = True


def derivable(equations: list[dict[Key, int]], values: dict[Key, int], hidden: set) -> set:
    """Return the hidden keys whose value the equations and the published values fix.

    Restricted to the hidden keys, the equations form a matrix A (published values move to
    the right-hand side). A hidden value x_v is fixed iff e_v lies in the row space of A.
    In the reduced row echelon form of A that holds iff v is a pivot column whose row has
    no other non-zero entry.
    """
    unknowns = sorted(hidden)
    if not unknowns:
        return set()
    position = {key: index for index, key in enumerate(unknowns)}
    matrix = []
    for equation in equations:
        row = [0] * len(unknowns)
        touched = False
        for key, coefficient in equation.items():
            if key in position:
                row[position[key]] = coefficient
                touched = True
        if touched:
            matrix.append(row)
    pivots = _rref(matrix, len(unknowns))
    found = set()
    for row_index, column in pivots:
        if all(x == 0 for c, x in enumerate(matrix[row_index]) if c != column):
            found.add(unknowns[column])
    return found


def _rref(matrix: list[list[int]], width: int) -> list[tuple[int, int]]:
    """Bring ``matrix`` to reduced row echelon form in place; return (row, pivot column).

    Exact and fraction-free: rows stay whole numbers (eliminating with the cross product of
    the two leading entries, then dividing by the row's gcd), so each row is a non-zero
    multiple of the rational RREF row and has the same zeros — all ``derivable`` needs.
    Integers instead of ``Fraction`` decide the same, five to ten times faster.
    """
    pivots = []
    row = 0
    for column in range(width):
        pivot = next((r for r in range(row, len(matrix)) if matrix[r][column] != 0), None)
        if pivot is None:
            continue
        matrix[row], matrix[pivot] = matrix[pivot], matrix[row]
        lead = matrix[row][column]
        for other in range(len(matrix)):
            factor = matrix[other][column]
            if other != row and factor != 0:
                combined = [
                    lead * a - factor * b for a, b in zip(matrix[other], matrix[row], strict=True)
                ]
                divisor = gcd(*combined)
                matrix[other] = [x // divisor for x in combined] if divisor > 1 else combined
        pivots.append((row, column))
        row += 1
        if row == len(matrix):
            break
    return pivots


def _result(table: Table, k: int, values, hidden) -> ProtectedTable:
    def value(key: Key) -> Value:
        status = hidden.get(key, "published")
        return Value(None if status != "published" else values[key], status)

    rows, columns = range(len(table.rows)), range(len(table.columns))
    both = table.has_row_totals and table.has_column_totals
    return ProtectedTable(
        rows=list(table.rows),
        columns=list(table.columns),
        k=k,
        cells=[[value(("cell", i, j)) for j in columns] for i in rows],
        row_totals=[value(("row", i)) for i in rows] if both else None,
        column_totals=[value(("col", j)) for j in columns] if both else None,
        total=value(("total",)),
        statuses={key: hidden.get(key, "published") for key in values},
    )
