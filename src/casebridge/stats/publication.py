"""Everything one scope publishes for one calendar year, protected as one system.

A persona can ask for every indicator of its scope, for the whole network and for each
federal state, for any calendar year. Within a year and a scope these tables are linked:
a state's table is a slice of the network's, indicators of one population share their
totals, and populations are related (``indicators.RELATIONS``). ``publish()`` describes
all of them to ``protection.protect()`` at once and keeps the answer, so the table for a
state filter and the table for the whole network can never be subtracted from each other
to reveal a hidden count. Different years count different contacts and disclosures; the
case populations of two years overlap, but no published figure spans two years. An
indicator published for the whole network only (``Indicator.by_state`` False) has one
table, whose finest counts are the network's; its relations with the others hold for the
network's totals.

Medians are published only where at least k values stand behind them and the table they
belong to hides nothing (a median withheld for lack of values would otherwise say that a
hidden count is small) — or, for a median that names them, the values that count it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from casebridge.stats.disclosure import ProtectedTable, Table, publish_table
from casebridge.stats.indicators import SLOT_NONE, Counts, Indicator, Part
from casebridge.stats.protection import Figure, Outcome, Relation, protect

Key = tuple  # a value of a table: ("cell", i, j), ("row", i), ("col", j), ("total",)


@dataclass
class PublishedMedian:
    label: str
    value: float | None  # None: withheld


@dataclass
class Publication:
    """The protected tables of one scope and year, for every state filter."""

    k: int
    states: list[tuple[int, str, str]]  # (slot id, code, label) of every federal state
    indicators: list[Indicator]
    counts: dict[str, Counts]
    hidden: set[frozenset[int]] = field(default_factory=set)
    expressions: dict[tuple[str, int | None], dict[Key, frozenset[int]]] = field(
        default_factory=dict
    )
    tables: dict[tuple[str, int | None], Table] = field(default_factory=dict)
    outcome: Outcome | None = None  # what protect() found, when it ran for this one

    def table(self, code: str, state: int | None) -> ProtectedTable:
        """The indicator's table for a state (None: the whole network), protected."""
        expressions = self.expressions[(code, state)]
        hidden = {key for key, cells in expressions.items() if cells in self.hidden}
        return publish_table(self.tables[(code, state)], self.k, hidden)

    def medians(self, code: str, state: int | None) -> list[PublishedMedian]:
        """A median is shown when at least k values stand behind it and what counts them is
        published: the values of the table the median names (``Counts.medians``), else the
        whole table. Withholding it then tells nothing a published count does not. A median
        that names its values is left out when they are published zeros."""
        counts = self.counts[code]
        expressions = self.expressions[(code, state)]
        complete = not any(cells in self.hidden for cells in expressions.values())
        found = []
        table = self.tables[(code, state)].values()
        for label, value, n, *behind in counts.medians(state):
            if behind:
                known = not any(expressions[key] in self.hidden for key in behind[0])
                if known and not any(table[key] for key in behind[0]):
                    continue  # nothing behind it, and the zeros say so already
            else:
                known = complete
            shown = known and value is not None and n >= self.k
            found.append(PublishedMedian(label, round(value, 1) if shown else None))
        return found


def _slots(states, state: int | None) -> list[int]:
    """The slots a filter sums: one state, or every state and "no state"."""
    return [state] if state is not None else [slot for slot, _c, _l in states] + [SLOT_NONE]


# the one slot of an indicator published for the whole network only (``by_state`` False):
# its finest counts are the network's, summed over every state and "no state"
NETWORK = "network"


class _Builder:
    """Numbers the finest counts (indicator, slot, row, column) and writes every value
    of every table as the set of them it sums."""

    def __init__(self, publication: Publication):
        self.publication = publication
        self.slots = _slots(publication.states, None)
        self.index: dict[tuple, int] = {}
        self.canonical: dict[str, Indicator] = {}
        self.by_state: dict[str, bool] = {}
        for indicator in publication.indicators:
            if indicator.rows_are_states:
                continue
            self.by_state[indicator.code] = indicator.by_state
            # a population's totals are those of its first indicator published per state
            # (every state filter has it), else of its first one
            known = self.canonical.get(indicator.population)
            if known is None or (indicator.by_state and not known.by_state):
                self.canonical[indicator.population] = indicator
            counts = publication.counts[indicator.code]
            for slot in self.slots if indicator.by_state else [NETWORK]:
                for r in range(len(counts.rows)):
                    for c in range(len(counts.columns)):
                        self.index[(indicator.code, slot, r, c)] = len(self.index)

    def _own(self, code: str, slots) -> list:
        """The indicator's slots that ``slots`` sum: for one published for the whole
        network only, its one slot, and only when every slot is asked for."""
        if self.by_state[code]:
            return list(slots)
        if set(slots) != set(self.slots):
            raise ValueError(f"{code} is published for the whole network only")
        return [NETWORK]

    def cells(self, code: str, slots, rows=None, columns=None) -> frozenset[int]:
        counts = self.publication.counts[code]
        rows = range(len(counts.rows)) if rows is None else rows
        columns = range(len(counts.columns)) if columns is None else columns
        return frozenset(
            self.index[(code, slot, r, c)]
            for slot in self._own(code, slots)
            for r in rows
            for c in columns
        )

    def total(self, population: str, slots) -> frozenset[int]:
        return self.cells(self.canonical[population].code, slots)

    def part(self, part: Part, slots) -> frozenset[int]:
        if part.indicator is None:
            return self.total(part.population, slots)
        rows = None if part.row is None else [part.row]
        columns = None if part.column is None else [part.column]
        return self.cells(part.indicator, slots, rows=rows, columns=columns)

    def _per_slot(self, codes) -> list[list]:
        """The slot sets a relation between these indicators holds for: each slot when
        all are published per state, else the whole network once."""
        if all(self.by_state[code] for code in codes):
            return [[slot] for slot in self.slots]
        return [self.slots]

    def table(self, indicator: Indicator, state: int | None):
        """The table shown for a filter and the cells behind each of its values."""
        counts = self.publication.counts[indicator.code]
        slots = _slots(self.publication.states, state)
        if indicator.rows_are_states:
            # one row per state (and "not recorded" for the whole network)
            shown = slots
            rows = [self._slot_label(slot, counts) for slot in shown]
            totals = [sum(n for line in counts.cells([slot]) for n in line) for slot in shown]
            table = Table(rows, [""], [[n] for n in totals])
            total = self.total(indicator.population, slots)
            expressions = {
                key: self.total(indicator.population, [shown[key[1]]])
                if key[0] == "cell"
                else total
                for key in table.values()
            }
            return table, expressions
        table = Table(counts.rows, counts.columns, counts.cells(slots), indicator.column_margins)
        expressions = {}
        row_totals, column_totals = indicator.row_totals_are, indicator.column_totals_are
        if column_totals is not None and column_totals[0] not in self.publication.counts:
            column_totals = None
        for key in table.values():
            if key[0] == "cell":
                expressions[key] = self.cells(indicator.code, slots, [key[1]], [key[2]])
            elif key[0] == "row" and row_totals is not None:
                # the same number as the population's total, so the same figure
                expressions[key] = self.total(row_totals, slots)
            elif key[0] == "row":
                expressions[key] = self.cells(indicator.code, slots, rows=[key[1]])
            elif key[0] == "col" and column_totals is not None:
                code, row = column_totals
                expressions[key] = self.cells(code, slots, [row], [key[1]])
            elif key[0] == "col":
                expressions[key] = self.cells(indicator.code, slots, columns=[key[1]])
            else:
                expressions[key] = self.total(indicator.population, slots)
        return table, expressions

    def _slot_label(self, slot: int, counts: Counts) -> str:
        if slot == SLOT_NONE:
            return counts.rows[-1]
        return next(label for state, _code, label in self.publication.states if state == slot)

    def relations(self, relations) -> list[tuple[Relation, frozenset, frozenset, str]]:
        found = []
        for indicator in self.publication.indicators:
            canonical = self.canonical.get(indicator.population)
            if indicator.rows_are_states or canonical is indicator:
                continue
            for slots in self._per_slot([indicator.code, canonical.code]):
                plus = self.cells(indicator.code, slots)
                minus = self.cells(canonical.code, slots)
                found.append((Relation.equal(plus, minus), plus, minus, "equal"))
        present = set(self.canonical)
        offered = {indicator.code for indicator in self.publication.indicators}
        for kind, plus_parts, minus_parts in relations:
            parts = plus_parts + minus_parts
            if (
                not {part.population for part in parts} <= present
                or not {part.indicator for part in parts if part.indicator} <= offered
            ):
                continue
            codes = [part.indicator or self.canonical[part.population].code for part in parts]
            for slots in self._per_slot(codes):
                plus = [cell for part in plus_parts for cell in self.part(part, slots)]
                minus = [cell for part in minus_parts for cell in self.part(part, slots)]
                make = Relation.equal if kind == "equal" else Relation.at_least
                found.append((make(plus, minus), frozenset(plus), frozenset(minus), kind))
        return found

    def values(self) -> list[int]:
        found = [0] * len(self.index)
        network: dict[str, list[list[int]]] = {}
        for (code, slot, r, c), position in self.index.items():
            counts = self.publication.counts[code]
            if slot == NETWORK:
                if code not in network:
                    network[code] = counts.cells(self.slots)
                found[position] = network[code][r][c]
                continue
            cells = counts.slots.get(slot)
            found[position] = cells[r][c] if cells else 0
        return found


def publish(
    indicators: list[Indicator],
    counts: dict[str, Counts],
    states: list[tuple[int, str, str]],
    k: int,
    relations=(),
    store: Decisions | None = None,
) -> Publication:
    """Protect every table of ``indicators`` for the network and for each state at once
    (or take the decision made before for the same counts, from this process or
    ``store``)."""
    publication = Publication(k, states, indicators, counts)
    builder = _Builder(publication)
    figures = []
    for indicator in indicators:
        filters = (
            [None, *(slot for slot, _code, _label in states)] if indicator.by_state else [None]
        )
        for state in filters:
            table, expressions = builder.table(indicator, state)
            publication.tables[(indicator.code, state)] = table
            publication.expressions[(indicator.code, state)] = expressions
            values = table.values()
            figures += [Figure(cells, values[key]) for key, cells in expressions.items()]
    values = builder.values()
    kept = []
    for relation, plus, minus, kind in builder.relations(relations):
        # a relation the data do not satisfy is no knowledge an attacker has
        difference = sum(values[i] for i in plus) - sum(values[i] for i in minus)
        if difference == 0 or (kind == "at_least" and difference > 0):
            kept.append(relation)
    shapes = tuple(
        (i.code, len(counts[i.code].rows), len(counts[i.code].columns), i.by_state)
        for i in indicators
    )
    key = (k, shapes, tuple(slot for slot, _c, _l in states), tuple(values), tuple(kept))
    digest = hashlib.sha256(repr(key).encode()).hexdigest()
    hidden = _DECIDED.get(digest)
    if hidden is None and store is not None:
        hidden = store.get(digest)
    if hidden is None:
        outcome = protect(figures, k, variables=len(builder.index), relations=kept, truth=values)
        publication.outcome = outcome
        hidden = frozenset(outcome.hidden)
        if store is not None:
            store.put(digest, hidden)
    _DECIDED[digest] = hidden
    while len(_DECIDED) > DECIDED_KEPT:
        _DECIDED.pop(next(iter(_DECIDED)))
    publication.hidden = set(hidden)
    return publication


class Decisions(Protocol):
    """Where decisions are kept beyond this process (``selectors`` keeps them in the
    database, so that app servers and the worker share them)."""

    def get(self, digest: str) -> frozenset[frozenset[int]] | None: ...

    def put(self, digest: str, hidden: frozenset[frozenset[int]]) -> None: ...


# What protect() decided, by the digest of everything it depends on: the same counts
# always give the same answer, so a dashboard shown again (or its export) need not solve
# again. Shared by everyone who may see the scope, and exact — nothing of one scope's
# answer can reach another's, whose digest differs.
_DECIDED: dict[str, frozenset] = {}
DECIDED_KEPT = 64


def forget_kept_decisions() -> None:
    """Drop what this process kept (tests and the benchmark measure a first decision)."""
    _DECIDED.clear()
