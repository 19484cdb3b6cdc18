"""Cell suppression across linked tables, checked by the attacker's own linear programme.

Pure: no Django. DESIGN.md invariant 7 asks that no hidden small count can be narrowed
down by combining everything a persona may obtain. Everything published for one scope and
one calendar year — every indicator, with and without a state filter — is described here
as one system:

- **Variables** are the finest counts (an indicator's cell in one federal state, or in
  "no state"), unknown to an attacker and never negative.
- **Figures** are the published numbers. Each is the sum of a set of variables (a cell
  under a state filter is one variable, the same cell for the whole network the sum over
  the states, a total the sum over a table). Figures with the same set of variables are
  one figure, published or hidden together.
- **Relations** are what an attacker knows besides: indicators counting the same
  population have equal totals in every state, and a population may be the sum of others
  or bound one (e.g. the cases active in a year are those closed in it and those still
  open at its end).

``protect()`` hides every figure ``0 < n < k`` (primary suppression) and then, for each of
them, asks a linear-programming solver (HiGHS) for the tightest interval an attacker can
prove from the published figures, the relations, non-negativity and — assuming the worst
— the knowledge that every hidden non-zero figure is at least 1. While that interval is
narrower than ``k`` the figure is not protected: one more published figure that bounds it
(a constraint with a non-zero dual value at the optimum, the cheapest such) is hidden and
the interval is computed again. Hiding only ever widens intervals, so a figure protected
once stays protected, and hiding everything is always safe, so the loop ends.

The statistical-agency practice behind it: primary suppression with a threshold, and
secondary suppression verified by an intruder's LP bounds (the "protection interval" or
"sliding protection range" of tau-ARGUS), solved for all linked tables at once rather than
table by table. The published periods are fixed (calendar years) so that no period is the
difference of two others.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import highspy
import numpy as np

TOLERANCE = 1e-6


@dataclass(frozen=True)
class Figure:
    """A published number: the sum of ``cells`` (variable indices), whose true value is
    ``value``."""

    cells: frozenset[int]
    value: int


@dataclass(frozen=True)
class Relation:
    """What an attacker knows besides the figures: ``lower <= sum(c * x) <= upper``."""

    terms: tuple[tuple[int, int], ...]  # (variable, coefficient)
    lower: float
    upper: float = float("inf")

    @classmethod
    def equal(cls, plus: Iterable[int], minus: Iterable[int]) -> Relation:
        """``sum(plus) == sum(minus)``."""
        return cls(_terms(plus, minus), 0.0, 0.0)

    @classmethod
    def at_least(cls, plus: Iterable[int], minus: Iterable[int]) -> Relation:
        """``sum(plus) >= sum(minus)``."""
        return cls(_terms(plus, minus), 0.0)


def _terms(plus: Iterable[int], minus: Iterable[int]) -> tuple[tuple[int, int], ...]:
    coefficients: dict[int, int] = {}
    for variable in plus:
        coefficients[variable] = coefficients.get(variable, 0) + 1
    for variable in minus:
        coefficients[variable] = coefficients.get(variable, 0) - 1
    return tuple(sorted((v, c) for v, c in coefficients.items() if c))


@dataclass
class Outcome:
    """Which figures are hidden, and the interval the attacker can prove for each figure
    that was hidden for being small (``primary``)."""

    hidden: set[frozenset[int]]
    primary: set[frozenset[int]]
    intervals: dict[frozenset[int], tuple[float, float]]
    solves: int


_first_highs = [True]


def new_highs() -> highspy.Highs:
    """A solver. The first one of a process prints HiGHS's banner to standard output
    whatever its options: that would be a line in the server's log that is not JSON
    (docs/operations.md, "Logs"), so it goes to /dev/null."""
    if not _first_highs[0]:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _first_highs[0] = False
    return highs


class _Attacker:
    """The linear programme an attacker solves, kept in one HiGHS instance.

    A figure of one cell is that variable's bounds, not a row (most figures are one
    state's cell; as rows they would make every basis large); a figure of several cells
    is a row. Hiding a figure relaxes its bounds, and each question changes only the
    objective, so every solve starts from the last basis (primal simplex: after a change
    of objective the last optimum is still feasible)."""

    def __init__(self, variables: int, figures: list[Figure], relations: list[Relation]):
        self.highs = new_highs()
        self.highs.silent()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("presolve", "off")
        self.highs.setOptionValue("simplex_strategy", 4)
        inf = highspy.kHighsInf
        lower, upper = np.zeros(variables), np.full(variables, inf)
        # where each figure lives: ("col", variable) or ("row", row)
        self.place: list[tuple[str, int]] = []
        rows = 0
        for figure in figures:
            if len(figure.cells) == 1:
                (cell,) = figure.cells
                lower[cell] = upper[cell] = figure.value
                self.place.append(("col", cell))
            else:
                self.place.append(("row", rows))
                rows += 1
        if variables:
            self.highs.addVars(variables, lower, upper)
        for figure, (kind, _index) in zip(figures, self.place, strict=True):
            if kind == "row":
                indices = np.array(sorted(figure.cells), dtype=np.int32)
                self.highs.addRow(
                    figure.value, figure.value, len(indices), indices, np.ones(len(indices))
                )
        for relation in relations:
            indices = np.array([v for v, _c in relation.terms], dtype=np.int32)
            values = np.array([c for _v, c in relation.terms], dtype=np.float64)
            upper_bound = inf if relation.upper == float("inf") else relation.upper
            self.highs.addRow(relation.lower, upper_bound, len(indices), indices, values)
        self.objective: list[int] = []
        self.solves = 0
        self.is_column = np.array([kind == "col" for kind, _i in self.place], dtype=bool)
        self.index = np.array([index for _kind, index in self.place], dtype=np.int64)

    def hide(self, position: int, value: int) -> None:
        """Figure ``position`` is no longer published: only ``>= 1`` (or ``>= 0`` for a
        zero) is left of it."""
        kind, index = self.place[position]
        change = self.highs.changeColBounds if kind == "col" else self.highs.changeRowBounds
        change(index, 1.0 if value > 0 else 0.0, highspy.kHighsInf)

    def bound(self, objective: dict[int, float], maximise: bool):
        """The attacker's best bound on ``sum(c * x)``, the solution, and the dual value of
        each figure at the optimum (None for both when the sum is unbounded)."""
        if self.objective:
            zeros = np.zeros(len(self.objective))
            self.highs.changeColsCost(
                len(self.objective), np.array(self.objective, dtype=np.int32), zeros
            )
        self.objective = sorted(objective)
        self.highs.changeColsCost(
            len(self.objective),
            np.array(self.objective, dtype=np.int32),
            np.array([objective[i] for i in self.objective], dtype=np.float64),
        )
        sense = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
        self.highs.changeObjectiveSense(sense)
        self.highs.run()
        self.solves += 1
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            value = self.highs.getInfo().objective_function_value
            solution = self.highs.getSolution()
            columns, rows = np.asarray(solution.col_dual), np.asarray(solution.row_dual)
            duals = np.zeros(len(self.place))
            if len(self.place):
                duals[self.is_column] = columns[self.index[self.is_column]]
                if len(rows):
                    duals[~self.is_column] = rows[self.index[~self.is_column]]
            return value, np.asarray(solution.col_value), duals
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return (float("inf") if maximise else 0.0), None, None
        raise RuntimeError(f"the attacker's programme could not be solved: {status}")


class _Witnesses:
    """The least and greatest value of each small figure seen at any point the attacker's
    programme allows. Every optimum found is such a point, and so are the true counts; a
    figure seen at two values k apart cannot be narrowed below k, with no solve of its
    own. Hiding more only widens what is allowed, so a point once allowed stays allowed."""

    def __init__(self, figures: list[Figure], truth: np.ndarray | None):
        cells = [sorted(figure.cells) for figure in figures]
        self.flat = np.array([cell for line in cells for cell in line], dtype=np.int64)
        self.starts = np.cumsum([0] + [len(line) for line in cells[:-1]], dtype=np.int64)
        self.low = np.full(len(figures), np.inf)
        self.high = np.full(len(figures), -np.inf)
        self.see(truth)

    def see(self, point: np.ndarray | None) -> None:
        if point is None or not len(self.flat):
            return
        values = np.add.reduceat(point[self.flat], self.starts)
        np.minimum(self.low, values, out=self.low)
        np.maximum(self.high, values, out=self.high)

    def spread(self, position: int) -> float:
        return self.high[position] - self.low[position]


def _cost(figure: Figure) -> tuple:
    """Order candidates for secondary suppression: non-zero before zero (a hidden zero
    confuses readers and protects little), then the smallest count (the least information
    lost), then the narrowest figure."""
    return (figure.value == 0, figure.value, len(figure.cells))


def protect(
    figures: Iterable[Figure],
    k: int,
    *,
    variables: int,
    relations: Iterable[Relation] = (),
    truth: Sequence[int] | None = None,
) -> Outcome:
    """Decide which figures to hide so that no small one can be bounded narrower than k.

    ``truth``, the true value of every variable, is one point the attacker's programme
    allows; given, it saves solves (see ``_Witnesses``). Figures and relations that share
    no variable are independent programmes and are solved apart."""
    if k < 1:
        raise ValueError("k must be at least 1")
    distinct: dict[frozenset[int], Figure] = {}
    for figure in figures:
        known = distinct.get(figure.cells)
        if known is not None and known.value != figure.value:
            raise ValueError("one set of cells with two values")
        distinct[figure.cells] = figure
    relations = list(relations)
    outcome = Outcome(set(), set(), {}, 0)
    point = None if truth is None else np.asarray(truth, dtype=float)
    for part, linked in _components(variables, list(distinct.values()), relations):
        if any(0 < figure.value < k for figure in part):
            _protect_component(part, linked, k, point, outcome)
    return outcome


def _components(variables: int, figures: list[Figure], relations: list[Relation]):
    """Split figures and relations into groups that share no variable."""
    parent = list(range(variables))

    def root(cell: int) -> int:
        while parent[cell] != cell:
            parent[cell] = parent[parent[cell]]
            cell = parent[cell]
        return cell

    groups = [sorted(figure.cells) for figure in figures]
    groups += [[v for v, _c in relation.terms] for relation in relations]
    for cells in groups:
        for cell in cells[1:]:
            parent[root(cell)] = root(cells[0])
    parts: dict[int, tuple[list, list]] = {}
    for figure in figures:
        parts.setdefault(root(min(figure.cells)), ([], []))[0].append(figure)
    for relation in relations:
        if relation.terms:
            parts.setdefault(root(relation.terms[0][0]), ([], []))[1].append(relation)
    return list(parts.values())


def _protect_component(figures, relations, k: int, truth, outcome: Outcome) -> None:
    """``protect`` for figures and relations that share no variable with any other."""
    cells = sorted({cell for figure in figures for cell in figure.cells})
    cells += sorted({v for r in relations for v, _c in r.terms} - set(cells))
    local = {cell: index for index, cell in enumerate(cells)}
    ordered = [Figure(frozenset(local[c] for c in f.cells), f.value) for f in figures]
    linked = [
        Relation(tuple((local[v], c) for v, c in r.terms), r.lower, r.upper) for r in relations
    ]
    attacker = _Attacker(len(cells), ordered, linked)
    published = np.ones(len(ordered), dtype=bool)
    # candidates for secondary suppression in order of cost: rank[i] is figure i's place
    rank = np.empty(len(ordered), dtype=np.int64)
    rank[sorted(range(len(ordered)), key=lambda i: _cost(ordered[i]))] = np.arange(len(ordered))

    def hide(position: int) -> None:
        published[position] = False
        attacker.hide(position, ordered[position].value)
        outcome.hidden.add(figures[position].cells)

    small = sorted(
        (i for i, figure in enumerate(ordered) if 0 < figure.value < k),
        key=lambda i: _cost(ordered[i]),
    )
    for position in small:
        hide(position)
        outcome.primary.add(figures[position].cells)
    # smallest first: they need the most protection, and what is hidden for them often
    # protects the larger ones too
    witnesses = _Witnesses(
        [ordered[i] for i in small], None if truth is None else truth[np.array(cells)]
    )
    everything = {cell: 1.0 for i in small for cell in ordered[i].cells}
    for maximise in (False, True):  # all small figures down at once, then all up
        witnesses.see(attacker.bound(everything, maximise)[1])
    for seen, position in enumerate(small):
        objective = dict.fromkeys(ordered[position].cells, 1.0)
        while witnesses.spread(seen) < k - TOLERANCE:
            high, point, high_duals = attacker.bound(objective, maximise=True)
            witnesses.see(point)
            if witnesses.spread(seen) >= k - TOLERANCE or high == float("inf"):
                break
            low, point, low_duals = attacker.bound(objective, maximise=False)
            witnesses.see(point)
            if high - low >= k - TOLERANCE:
                break
            candidate = _binding(published, rank, high_duals)
            if candidate is None:
                candidate = _binding(published, rank, low_duals)
            if candidate is None:
                candidate = _neighbour(ordered, published, rank, ordered[position])
            hide(candidate)
        outcome.intervals[figures[position].cells] = (
            float(witnesses.low[seen]),
            float(witnesses.high[seen]),
        )
    outcome.solves += attacker.solves


def _binding(published: np.ndarray, rank: np.ndarray, duals: np.ndarray | None) -> int | None:
    """The cheapest published figure that bounds the optimum (a non-zero dual value)."""
    if duals is None:
        return None
    candidates = np.flatnonzero(published & (np.abs(duals) > TOLERANCE))
    if not len(candidates):
        return None
    return int(candidates[np.argmin(rank[candidates])])


def _neighbour(ordered: list[Figure], published, rank, figure: Figure) -> int:
    """A published figure sharing a cell with ``figure`` (any published one, failing
    that): used when the duals name no published figure (a degenerate optimum)."""
    open_ = [i for i in np.flatnonzero(published)]
    near = [i for i in open_ if ordered[i].cells & figure.cells]
    if not (near or open_):
        raise RuntimeError("everything is hidden and the figure is still not protected")
    return int(min(near or open_, key=lambda i: rank[i]))
