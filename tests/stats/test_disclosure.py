"""Disclosure control: textbook cases and a property test over random tables.

The property test checks derivability independently of the engine: it rebuilds the
additivity equations from the raw counts and compares matrix ranks with exact fractions.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebridge.stats.disclosure import Table, derivable, protect


def _rank(matrix: list[list[Fraction]]) -> int:
    rows = [list(row) for row in matrix]
    rank = 0
    width = len(rows[0]) if rows else 0
    for column in range(width):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(len(rows)):
            if r != rank and rows[r][column] != 0:
                factor = rows[r][column] / rows[rank][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


def _intruder_view(cells: list[list[int]], result) -> tuple[list, list]:
    """Return (unknown names, equations over the unknowns) as an intruder would set them up.

    Names: ("c", i, j) cells, ("r", i) row totals, ("k", j) column totals, ("t",) total;
    the published numbers are constants and drop out of the coefficient matrix.
    """
    R, C = len(cells), len(cells[0])
    hidden = set()
    for i in range(R):
        for j in range(C):
            if result.cells[i][j].suppressed:
                hidden.add(("c", i, j))
    if result.row_totals is not None:
        hidden |= {("r", i) for i, v in enumerate(result.row_totals) if v.suppressed}
        hidden |= {("k", j) for j, v in enumerate(result.column_totals) if v.suppressed}
    if result.total.suppressed:
        hidden.add(("t",))
    # row and column sums; in a single column the row total is the cell itself
    lines = []
    if C > 1:
        for i in range(R):
            lines.append([("c", i, j) for j in range(C)] + [("-", ("r", i) if R > 1 else ("t",))])
    if R > 1:
        for j in range(C):
            lines.append([("c", i, j) for i in range(R)] + [("-", ("k", j) if C > 1 else ("t",))])
    if R > 1 and C > 1:
        lines.append([("r", i) for i in range(R)] + [("-", ("t",))])
        lines.append([("k", j) for j in range(C)] + [("-", ("t",))])
    if R == 1 and C == 1:
        lines.append([("c", 0, 0), ("-", ("t",))])
    unknowns = sorted(hidden)
    matrix = []
    for line in lines:
        row = [Fraction(0)] * len(unknowns)
        for term in line:
            sign, name = (-1, term[1]) if term[0] == "-" else (1, term)
            if name in hidden:
                row[unknowns.index(name)] += sign
        if any(row):
            matrix.append(row)
    return unknowns, matrix


def _determined(cells, result) -> set:
    unknowns, matrix = _intruder_view(cells, result)
    found = set()
    base = _rank(matrix) if matrix else 0
    for index, name in enumerate(unknowns):
        unit = [Fraction(int(c == index)) for c in range(len(unknowns))]
        if _rank([*matrix, unit]) == base:
            found.add(name)
    return found


counts = st.one_of(st.integers(0, 6), st.integers(0, 40))
tables = st.integers(1, 5).flatmap(
    lambda R: st.integers(1, 5).flatmap(
        lambda C: st.lists(st.lists(counts, min_size=C, max_size=C), min_size=R, max_size=R)
    )
)


@settings(max_examples=300, deadline=None)
@given(cells=tables, k=st.integers(2, 10))
def test_random_tables_publish_no_small_count_and_reveal_no_hidden_one(cells, k):
    table = Table(
        [f"r{i}" for i in range(len(cells))], [f"c{j}" for j in range(len(cells[0]))], cells
    )
    result = protect(table, k)
    for value in result.published().values():
        assert value == 0 or value >= k
    for i, line in enumerate(result.cells):
        for j, cell in enumerate(line):
            if not cell.suppressed:
                assert cell.value == cells[i][j]
    assert _determined(cells, result) == set()


def test_textbook_two_by_two_hides_the_whole_rectangle():
    # One small cell in a 2 x 2 table: its row, column and the opposite cell must go.
    result = protect(Table(["a", "b"], ["x", "y"], [[2, 30], [40, 50]]), 5)
    assert [[c.value for c in line] for line in result.cells] == [[None, None], [None, None]]
    assert [v.value for v in result.row_totals] == [32, 90]
    assert [v.value for v in result.column_totals] == [42, 80]
    assert result.total.value == 122
    assert result.cells[0][0].status == "primary"
    assert {result.cells[0][1].status, result.cells[1][0].status} == {"secondary"}


def test_textbook_three_by_three_hides_four_cells_in_a_rectangle():
    cells = [[3, 10, 12], [8, 9, 20], [15, 6, 7]]
    result = protect(Table(["a", "b", "c"], ["x", "y", "z"], cells), 5)
    hidden = {(i, j) for i in range(3) for j in range(3) if result.cells[i][j].suppressed}
    assert hidden == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert _determined(cells, result) == set()


def test_one_dimensional_small_count_takes_the_next_smallest_with_it():
    result = protect(Table.one_dimensional({"a": 3, "b": 10, "c": 0, "d": 40}), 5)
    assert [line[0].value for line in result.cells] == [None, None, 0, 40]
    assert [line[0].status for line in result.cells] == [
        "primary",
        "secondary",
        "published",
        "published",
    ]
    assert result.total.value == 53


def test_a_small_total_is_hidden_with_its_cells():
    result = protect(Table.one_dimensional({"a": 3, "b": 0}), 5)
    assert result.total.suppressed and result.total.status == "primary"
    assert result.cells[1][0].value == 0


def test_a_row_of_one_small_cell_and_zeros_hides_the_row_total():
    cells = [[3, 0, 0], [10, 20, 30], [12, 8, 9]]
    result = protect(Table(["a", "b", "c"], ["x", "y", "z"], cells), 5)
    assert result.cells[0][0].status == "primary"
    assert result.row_totals[0].status == "primary"  # 3 itself
    assert all(v.value is not None and v.value >= 5 for v in result.column_totals if v.value)
    assert _determined(cells, result) == set()


def test_zeros_are_published_and_no_count_is_hidden_without_need():
    cells = [[0, 12], [7, 0]]
    result = protect(Table(["a", "b"], ["x", "y"], cells), 5)
    assert result.suppressed_count == 0
    assert result.published()[("cell", 0, 0)] == 0


def test_the_checker_finds_a_cell_revealed_by_its_row_total():
    table = Table(["a", "b"], ["x", "y"], [[3, 30], [40, 50]])
    values = table.values()
    assert derivable(table.equations(), values, {("cell", 0, 0)}) == {("cell", 0, 0)}
    # the rectangle is safe
    rectangle = {("cell", 0, 0), ("cell", 0, 1), ("cell", 1, 0), ("cell", 1, 1)}
    assert derivable(table.equations(), values, rectangle) == set()


def test_a_bridge_between_two_rectangles_is_caught_by_the_exact_check():
    # Two hidden rectangles joined by one more hidden cell: every line holds two hidden
    # values, yet the joining cell is fixed by the equations (it is a bridge).
    table = Table(["a", "b", "c", "d"], ["w", "x", "y", "z"], [[9] * 4 for _ in range(4)])
    hidden = {
        ("cell", 0, 0), ("cell", 0, 1), ("cell", 1, 0), ("cell", 1, 1),
        ("cell", 2, 2), ("cell", 2, 3), ("cell", 3, 2), ("cell", 3, 3),
        ("cell", 1, 2),
    }  # fmt: skip
    assert ("cell", 1, 2) in derivable(table.equations(), table.values(), hidden)


def test_bad_tables_are_refused():
    with pytest.raises(ValueError):
        Table(["a"], ["x"], [[-1]])
    with pytest.raises(ValueError):
        Table(["a", "b"], ["x"], [[1]])
