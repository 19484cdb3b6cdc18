"""The attacker of DESIGN.md invariant 7, written apart from the product.

It knows what an outsider knows: every published figure as a sum of unknown, non-negative
finest counts, the relations between populations, and — the worst case — that every hidden
figure whose true value is not zero is at least 1. For every hidden figure whose true value
is small (1..k−1) it asks scipy's HiGHS (``linprog``, not the product's ``highspy``
programme) for the tightest lower and upper bound. A figure is pinned when that interval is
narrower than k: the attacker could then tell "small" from "zero" or from "at least k".

Most figures need no bound of their own: every point the programme allows (the true
counts, each optimum found) shows a value each figure can take, and a figure seen at two
values k apart cannot be bounded narrower than k. ``pinned()`` gathers such points from
random objectives first, then bounds exactly what they leave (issue 20's outcome tables
gave the attacker some 1,100 small hidden figures in one year; bounding each took minutes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_array

BOX = 1_000_000  # beyond any count: where the random objectives look for points


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
        return self._bounds(frozenset(cells), self._matrices(programme))[:2]

    @staticmethod
    def _matrices(programme) -> dict:
        equalities, inequalities = programme
        return {
            "A_eq": equalities.matrix(),
            "b_eq": equalities.values or None,
            "A_ub": inequalities.matrix(),
            "b_ub": inequalities.values or None,
            "bounds": (0, None),
            "method": "highs",
        }

    def _bounds(self, cells, kwargs) -> tuple[float, float, list]:
        """The least and greatest sum of ``cells``, and the points where they are reached
        (the greatest first: where it is unbounded, the least does not matter)."""
        objective = np.zeros(len(self.names))
        for name in cells:
            objective[self.names[name]] = 1
        high = linprog(-objective, **kwargs)
        assert high.status in (0, 3), high.message  # 3: unbounded above
        if high.status == 3:
            return 0.0, float("inf"), []
        low = linprog(objective, **kwargs)
        assert low.status == 0, f"the attacker's programme is infeasible: {low.message}"
        return low.fun, -high.fun, [low.x, high.x]

    def pinned(self, truth: dict | None = None, seed: int = 0) -> tuple[list[Pinned], int]:
        """Every small hidden figure bounded narrower than k, and how many were checked.

        ``truth`` (variable name -> true count) is a point the programme allows, and so is
        every optimum found: a figure whose sum differs by k or more between two such
        points cannot be bounded narrower than k, and needs no programme of its own. Points
        come from optima of random objectives over the figures not yet so proven (each
        with a random sign, until five rounds in a row prove nothing new), then each figure
        left is bounded by its own two solves — the exact answer."""
        hidden, programme = self._programme()
        kwargs = self._matrices(programme)
        small = [(cells, n) for cells, n in hidden.items() if 0 < n < self.k]
        index = [np.array([self.names[name] for name in cells]) for cells, _n in small]
        low = np.full(len(small), np.inf)
        high = np.full(len(small), -np.inf)

        def see(point) -> None:
            values = np.array([point[columns].sum() for columns in index])
            np.minimum(low, values, out=low)
            np.maximum(high, values, out=high)

        def open_() -> np.ndarray:
            return np.flatnonzero(high - low < self.k - 1e-6)

        if truth is not None and small:
            see(np.array([truth[name] for name in self.names], dtype=float))
        # the random objectives within a box (every count at most BOX): its points are
        # points of the programme too, and a figure without an upper bound reaches the box
        boxed = {**kwargs, "bounds": (0, BOX)}
        rng, idle = np.random.default_rng(seed), 0
        while len(open_()) and idle < 5:
            before = len(open_())
            objective = np.zeros(len(self.names))
            for position in open_():
                objective[index[position]] += rng.choice((-1.0, 1.0))
            result = linprog(objective, **boxed)
            assert result.status == 0, result.message
            see(result.x)
            idle = idle + 1 if len(open_()) == before else 0
        found = []
        for position in open_():
            if high[position] - low[position] >= self.k - 1e-6:
                continue  # proven by the optimum of an earlier figure
            cells, value = small[position]
            low_, high_, optima = self._bounds(cells, kwargs)
            for point in optima:
                see(point)
            assert low_ - 1e-6 <= value <= high_ + 1e-6, (
                f"the model is wrong: {value} outside [{low_}, {high_}] for {sorted(cells)}"
            )
            if high_ - low_ < self.k - 1e-6:
                found.append(Pinned(cells, value, low_, high_))
        return found, len(small)


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
