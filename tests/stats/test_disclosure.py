"""Disclosure control of a single table: textbook cases and a property test.

A single table is the smallest linked system: its cells are the variables, its margins
figures that sum them. The engine (stats.protection) decides what to hide; the
independent attacker (tests/stats/attacker.py, scipy) checks that no small hidden value
can be bounded narrower than k, even knowing that every hidden non-zero value is ≥ 1.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebridge.stats.disclosure import Table, publish_table
from casebridge.stats.protection import Figure, protect
from tests.stats.attacker import Attacker


def _cells_of(table: Table, key) -> frozenset:
    rows, columns = range(len(table.rows)), range(len(table.columns))
    if key[0] == "cell":
        return frozenset({(key[1], key[2])})
    if key[0] == "row":
        return frozenset((key[1], j) for j in columns)
    if key[0] == "col":
        return frozenset((i, key[1]) for i in rows)
    return frozenset((i, j) for i in rows for j in columns)


def protect_table(table: Table, k: int):
    """One table through the engine, as the product protects a linked system."""
    names = [(i, j) for i in range(len(table.rows)) for j in range(len(table.columns))]
    column = {name: index for index, name in enumerate(names)}
    values = table.values()
    figures = {key: frozenset(column[n] for n in _cells_of(table, key)) for key in values}
    outcome = protect(
        [Figure(cells, values[key]) for key, cells in figures.items()],
        k,
        variables=len(names),
        truth=[table.cells[i][j] for i, j in names],
    )
    hidden = {key for key, cells in figures.items() if cells in outcome.hidden}
    return publish_table(table, k, hidden)


def _pinned(table: Table, result, k: int):
    attacker = Attacker(k)
    values = table.values()
    published = result.published()
    for key, value in values.items():
        attacker.see(_cells_of(table, key), published.get(key), value)
    return attacker.pinned()


counts = st.one_of(st.integers(0, 6), st.integers(0, 40))
tables = st.integers(1, 5).flatmap(
    lambda R: st.integers(1, 5).flatmap(
        lambda C: st.lists(st.lists(counts, min_size=C, max_size=C), min_size=R, max_size=R)
    )
)


@settings(max_examples=150, deadline=None)
@given(cells=tables, k=st.integers(2, 10))
def test_random_tables_publish_no_small_count_and_let_none_be_narrowed(cells, k):
    table = Table(
        [f"r{i}" for i in range(len(cells))], [f"c{j}" for j in range(len(cells[0]))], cells
    )
    result = protect_table(table, k)
    for value in result.published().values():
        assert value == 0 or value >= k
    for i, line in enumerate(result.cells):
        for j, cell in enumerate(line):
            if not cell.suppressed:
                assert cell.value == cells[i][j]
    assert _pinned(table, result, k)[0] == []


def test_textbook_two_by_two_hides_the_whole_rectangle():
    # One small cell in a 2 x 2 table: its row, its column and the opposite cell must go.
    table = Table(["a", "b"], ["x", "y"], [[2, 30], [40, 50]])
    result = protect_table(table, 5)
    assert [[c.value for c in line] for line in result.cells] == [[None, None], [None, None]]
    assert _pinned(table, result, 5) == ([], 1)


def test_a_hidden_value_says_only_suppressed_never_why():
    """Telling 'primary' from 'secondary' would tell which hidden values are small."""
    result = protect_table(Table.one_dimensional({"a": 3, "b": 10, "c": 0, "d": 40}), 5)
    assert {value[0].status for value in result.cells} == {"suppressed", "published"}
    assert set(result.statuses.values()) == {"suppressed", "published"}


def test_one_small_count_beside_one_large_one_needs_more_than_a_pair():
    """3 and 10 hidden over a published total of 53 − 40 = 13: knowing both are ≥ 1, the 3
    lies in [1, 12] — wide enough. The old design hid exactly this pair too, but it did
    not check the width when the pair was small (the issue's 1 + 1 + 1 + 1 + 1 = 5)."""
    table = Table.one_dimensional({"a": 3, "b": 10, "c": 0, "d": 40})
    result = protect_table(table, 5)
    assert [line[0].value for line in result.cells] == [None, None, 0, 40]
    assert _pinned(table, result, 5) == ([], 1)


def test_two_small_counts_summing_to_k_are_not_enough_for_each_other():
    table = Table.one_dimensional({"a": 2, "b": 3, "c": 40})
    result = protect_table(table, 5)
    # 2 and 3 over 45 - 40 = 5 would put each in [1, 4]: the 40 (or the total) goes too
    assert result.cells[2][0].suppressed or result.total.suppressed
    assert _pinned(table, result, 5)[0] == []


def test_a_small_total_is_hidden_with_its_cells():
    result = protect_table(Table.one_dimensional({"a": 3, "b": 0}), 5)
    assert result.total.suppressed
    assert result.cells[1][0].value == 0


def test_zeros_are_published_and_no_count_is_hidden_without_need():
    result = protect_table(Table(["a", "b"], ["x", "y"], [[0, 12], [7, 0]]), 5)
    assert result.suppressed_count == 0
    assert result.published()[("cell", 0, 0)] == 0


def test_a_bridge_between_two_rectangles_is_caught():
    # a table whose small cells sit in two rectangles joined by a third small cell
    cells = [[2, 9, 9, 9], [9, 9, 2, 9], [9, 9, 9, 9], [9, 2, 9, 9]]
    table = Table(["a", "b", "c", "d"], ["w", "x", "y", "z"], cells)
    result = protect_table(table, 5)
    assert _pinned(table, result, 5)[0] == []


def test_the_attacker_finds_a_cell_revealed_by_its_row_total():
    table = Table(["a", "b"], ["x", "y"], [[3, 30], [40, 50]])
    hidden_one = publish_table(table, 5, {("cell", 0, 0)})
    pinned, checked = _pinned(table, hidden_one, 5)
    assert checked == 1 and pinned[0].low == pinned[0].high == 3


def test_bad_tables_are_refused():
    with pytest.raises(ValueError):
        Table(["a"], ["x"], [[-1]])
    with pytest.raises(ValueError):
        Table(["a", "b"], ["x"], [[1]])
