"""The attacker of DESIGN.md invariant 7, written apart from the product.

It knows what an outsider knows: every published figure as a sum of unknown, non-negative
finest counts, the relations between populations, and — the worst case — that every hidden
figure whose true value is not zero is at least 1. For every hidden figure whose true value
is small (1..k−1) it asks scipy's HiGHS (``linprog``, not the product's ``highspy``
programme) for the tightest lower and upper bound. A figure is pinned when that interval is
narrower than k: the attacker could then tell "small" from "zero" or from "at least k".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_array


@dataclass
class Pinned:
    cells: frozenset
    value: int
    low: float
    high: float


@dataclass
class Attacker:
    """Collects published and hidden figures over named variables, then solves."""

    k: int
    names: dict = field(default_factory=dict)  # variable name -> column
    published: dict = field(default_factory=dict)  # frozenset of names -> value
    hidden: dict = field(default_factory=dict)  # frozenset of names -> true value
    equal: list = field(default_factory=list)  # (plus names, minus names)
    at_least: list = field(default_factory=list)  # (plus names, minus names): plus >= minus

    def column(self, name) -> int:
        return self.names.setdefault(name, len(self.names))

    def see(self, cells, value: int | None, truth: int) -> None:
        """One figure as the persona sees it: ``value`` None when hidden."""
        cells = frozenset(cells)
        for name in cells:
            self.column(name)
        if value is None:
            known = self.hidden.setdefault(cells, truth)
            assert known == truth, f"two true values for one figure: {sorted(cells)}"
        else:
            assert value == truth, f"published {value}, true {truth}: {sorted(cells)}"
            known = self.published.setdefault(cells, value)
            assert known == value, f"one figure published as {known} and {value}"

    def _programme(self):
        # a figure hidden in one table but published in another is published
        hidden = {cells: n for cells, n in self.hidden.items() if cells not in self.published}
        equalities, inequalities = _Rows(self.names), _Rows(self.names)
        for cells, value in self.published.items():
            equalities.add(cells, (), value)
        for plus, minus in self.equal:
            equalities.add(plus, minus, 0)
        for plus, minus in self.at_least:
            inequalities.add(minus, plus, 0)  # minus - plus <= 0
        for cells, truth in hidden.items():
            if truth > 0:  # the worst case: the attacker knows it is not zero
                inequalities.add((), cells, -1)  # -sum <= -1
        return hidden, (equalities, inequalities)

    def bounds(self, cells) -> tuple[float, float]:
        _hidden, programme = self._programme()
        return self._bounds(frozenset(cells), programme)

    def _bounds(self, cells, programme) -> tuple[float, float]:
        equalities, inequalities = programme
        objective = np.zeros(len(self.names))
        for name in cells:
            objective[self.names[name]] = 1
        kwargs = {
            "A_eq": equalities.matrix(),
            "b_eq": equalities.values or None,
            "A_ub": inequalities.matrix(),
            "b_ub": inequalities.values or None,
            "bounds": (0, None),
            "method": "highs",
        }
        low = linprog(objective, **kwargs)
        high = linprog(-objective, **kwargs)
        assert low.status == 0, f"the attacker's programme is infeasible: {low.message}"
        assert high.status in (0, 3), high.message  # 3: unbounded above
        return low.fun, (float("inf") if high.status == 3 else -high.fun)

    def pinned(self) -> tuple[list[Pinned], int]:
        """Every small hidden figure bounded narrower than k, and how many were checked."""
        hidden, programme = self._programme()
        found, checked = [], 0
        for cells, truth in hidden.items():
            if not 0 < truth < self.k:
                continue
            checked += 1
            low, high = self._bounds(cells, programme)
            assert low - 1e-6 <= truth <= high + 1e-6, (
                f"the model is wrong: {truth} outside [{low}, {high}] for {sorted(cells)}"
            )
            if high - low < self.k - 1e-6:
                found.append(Pinned(cells, truth, low, high))
        return found, checked


class _Rows:
    """Sparse rows ``sum(plus) - sum(minus)`` with their right-hand sides."""

    def __init__(self, names: dict):
        self.names = names
        self.entries: dict[tuple[int, int], int] = {}
        self.values: list[int] = []

    def add(self, plus, minus, value: int) -> None:
        row = len(self.values)
        for name, sign in [(name, 1) for name in plus] + [(name, -1) for name in minus]:
            key = (row, self.names[name])
            self.entries[key] = self.entries.get(key, 0) + sign
        self.values.append(value)

    def matrix(self):
        if not self.values:
            return None
        keys = list(self.entries)
        data = [self.entries[key] for key in keys]
        rows = [row for row, _column in keys]
        columns = [column for _row, column in keys]
        shape = (len(self.values), len(self.names))
        return csr_array((data, (rows, columns)), shape=shape)
