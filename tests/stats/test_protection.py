"""Suppression across linked tables (stats.protection), checked by the independent attacker.

The systems here are what the product publishes in miniature: one-dimensional indicators
of one population, each for every state filter and for the whole network, sharing their
totals. The attacker (tests/stats/attacker.py) solves its own linear programmes with scipy.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casebridge.stats.protection import Figure, Relation, protect
from tests.stats.attacker import Attacker

K = 5


def _system(counts):
    """``counts[i][slot][r]``: indicator i, slot (0 = no state, never filtered on), row r.

    Returns (variable names, figures as name sets with values, relations as name pairs):
    per filter (the network, then each state slot) each indicator's cells and the
    population total (the first indicator's cells, so that all share one figure).
    """
    slots = range(len(counts[0]))
    filters = [list(slots)] + [[slot] for slot in slots if slot]
    figures = []
    for chosen in filters:
        total = {(0, slot, r) for slot in chosen for r in range(len(counts[0][slot]))}
        figures.append((frozenset(total), sum(sum(counts[0][slot]) for slot in chosen)))
        for i, indicator in enumerate(counts):
            for r in range(len(indicator[0])):
                cells = frozenset((i, slot, r) for slot in chosen)
                figures.append((cells, sum(indicator[slot][r] for slot in chosen)))
    relations = []
    for i in range(1, len(counts)):
        for slot in slots:
            plus = [(i, slot, r) for r in range(len(counts[i][slot]))]
            minus = [(0, slot, r) for r in range(len(counts[0][slot]))]
            relations.append((plus, minus))
    names = sorted({name for cells, _n in figures for name in cells})
    return names, figures, relations


def _protect(counts, k=K):
    names, figures, relations = _system(counts)
    column = {name: index for index, name in enumerate(names)}
    outcome = protect(
        [Figure(frozenset(column[n] for n in cells), value) for cells, value in figures],
        k,
        variables=len(names),
        relations=[
            Relation.equal([column[n] for n in plus], [column[n] for n in minus])
            for plus, minus in relations
        ],
    )
    hidden = {frozenset(names[i] for i in cells) for cells in outcome.hidden}
    return figures, relations, hidden


def _attack(figures, relations, hidden, k=K):
    attacker = Attacker(k)
    for cells, value in figures:
        attacker.see(cells, None if cells in hidden else value, value)
    attacker.equal.extend(relations)
    return attacker.pinned()


def test_the_issue_example_is_pinned_table_by_table_and_not_any_more():
    """German 16, five languages with 1 each, total 21: 21 − 16 = 5 over five hidden cells
    of at least 1 each pins every one of them to 1 — the attack of issue 14."""
    languages = [16, 1, 1, 1, 1, 1]
    # what the old design published: German and the total, the five small cells hidden
    attacker = Attacker(K)
    for index, n in enumerate(languages):
        attacker.see({index}, n if index == 0 else None, n)
    attacker.see(set(range(6)), 21, 21)
    pinned, _checked = attacker.pinned()
    assert len(pinned) == 5 and all(p.high - p.low == 0 for p in pinned)

    figures, relations, hidden = _protect([[languages]])
    assert _attack(figures, relations, hidden) == ([], 5)


def test_a_state_cell_cannot_be_worked_out_from_the_network_and_the_other_states():
    # three states; the small cell of state 1 would be the network's minus the others'
    counts = [[[0, 0], [3, 40], [20, 30], [25, 11]]]
    figures, relations, hidden = _protect(counts)
    pinned, checked = _attack(figures, relations, hidden)
    assert checked >= 1 and pinned == []


def test_one_table_at_a_time_leaks_across_state_filters():
    """The attacker has teeth: protecting each table on its own (the old design, here with
    the new engine but one table at a time) leaves a cell that the linked system pins."""
    counts = [[[0, 0, 0], [2, 30, 9], [6, 25, 12], [8, 14, 20]]]
    figures, relations, _ = _protect(counts)
    hidden = set()
    slots = range(len(counts[0]))
    for chosen in [list(slots)] + [[s] for s in slots if s]:
        rows = [sum(counts[0][s][r] for s in chosen) for r in range(3)]
        one_table = [Figure(frozenset({r}), n) for r, n in enumerate(rows)]
        one_table.append(Figure(frozenset(range(3)), sum(rows)))
        for cells in protect(one_table, K, variables=3).hidden:
            hidden.add(frozenset((0, s, r) for s in chosen for r in cells))
    pinned, _checked = _attack(figures, relations, hidden)
    assert pinned, "the per-table design should leak here"
    assert _attack(figures, relations, _protect(counts)[2])[0] == []


def test_two_indicators_sharing_their_state_totals():
    # contacts by language and by channel: equal totals in every state
    language = [[0, 1, 0], [30, 2, 1], [12, 0, 4], [9, 3, 0]]
    channel = [[1, 0], [20, 13], [10, 6], [6, 6]]
    figures, relations, hidden = _protect([language, channel])
    pinned, checked = _attack(figures, relations, hidden)
    assert checked >= 4 and pinned == []


def test_nothing_small_nothing_hidden():
    _figures, _relations, hidden = _protect([[[0, 0], [5, 9], [0, 12]]])
    assert hidden == set()


def test_relations_that_bound_from_one_side_are_respected():
    """x ≤ y with y published as 5 would pin a hidden x in [1, 5]: the protection hides
    more (here y's neighbours) so that the attacker's interval stays k wide."""
    # variables 0..3: x = v0 (2, small), y = v1 + v2 (5 = 5 + 0), z = v3 (9)
    figures = [
        Figure(frozenset({0}), 2),
        Figure(frozenset({0, 3}), 11),
        Figure(frozenset({1, 2}), 5),
        Figure(frozenset({1}), 5),
        Figure(frozenset({2}), 0),
        Figure(frozenset({3}), 9),
    ]
    relation = Relation.at_least([1, 2], [0])
    outcome = protect(figures, K, variables=4, relations=[relation])
    attacker = Attacker(K)
    for figure in figures:
        hidden = figure.cells in outcome.hidden
        attacker.see(figure.cells, None if hidden else figure.value, figure.value)
    attacker.at_least.append(([1, 2], [0]))
    assert attacker.pinned()[0] == []


def test_k_must_be_positive():
    with pytest.raises(ValueError):
        protect([Figure(frozenset({0}), 1)], 0, variables=1)


def test_one_set_of_cells_cannot_have_two_values():
    with pytest.raises(ValueError):
        protect([Figure(frozenset({0}), 1), Figure(frozenset({0}), 2)], K, variables=1)


small_counts = st.integers(min_value=0, max_value=12)


@st.composite
def linked_systems(draw):
    slots = draw(st.integers(min_value=2, max_value=5))
    indicators = draw(st.integers(min_value=1, max_value=3))
    totals = [draw(st.integers(min_value=0, max_value=30)) for _slot in range(slots)]
    counts = []
    for _i in range(indicators):
        width = draw(st.integers(min_value=1, max_value=4))
        indicator = []
        for total in totals:
            # split the state's total over the rows, so all indicators share it
            cuts = sorted(draw(st.integers(0, total)) for _r in range(width - 1))
            edges = [0, *cuts, total]
            indicator.append([edges[r + 1] - edges[r] for r in range(width)])
        counts.append(indicator)
    return counts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linked_systems(), st.sampled_from([3, 5]))
def test_no_small_hidden_figure_is_ever_pinned(counts, k):
    figures, relations, hidden = _protect(counts, k)
    pinned, _checked = _attack(figures, relations, hidden, k)
    assert pinned == []
