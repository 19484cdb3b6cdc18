"""Replay before signing (issue 19, part 3): run the stored history of a period through a
draft and through the active version of a procedure, and say per rule what would have
changed — obligations that would have appeared or disappeared, deadlines that would have
been missed, barriers that would have moved, disclosures that would no longer have had a
basis, and for the hotline the disclosures to prepare that would have appeared or gone.

Pure, like the engine: plain frozen dataclasses in (pseudonymised history: case keys,
codes, ids and times, no content and no identities), a report out. Both versions are
evaluated by ``engine.evaluate``, the code that creates real obligations. Nothing is
written anywhere; the caller (``sharing.replay``) reads the history and audits the run.

How each change is counted (per rule code, the union of both versions' rules):

- obligations appearing / disappearing: ``must_inform`` outcomes of an event, per (rule,
  recipient participant — or nobody yet), under the draft and not the baseline, or the
  reverse; one per event;
- deadlines missed / no longer missed: for a real obligation (``PastObligation``, not
  cancelled) of a rule both versions have, the due time each version gives the same event
  and recipient (the baseline's, else the obligation's own), against when it was
  fulfilled — or, still open, against the end of the period;
- barriers appearing / disappearing / overridden / no longer overridden: ``must_not_share``
  outcomes towards a participant of the case (a barrier towards nobody in the case moves
  nothing), per (case, recipient) once however many events showed it;
- disclosures without a basis: an approved disclosure that fulfilled an obligation whose
  rule gave a basis (must or may inform that recipient at that event) under the baseline
  and does not under the draft; or one across a barrier that stands (not overridden)
  under the draft and not under the baseline, sharing a category with the disclosure;
- hotline events (``HOTLINE_EVENTS``; no parties): the must/may inform outcomes, i.e. the
  disclosures the hotline is asked to prepare, appearing or disappearing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils.translation import gettext_lazy as _

from casebridge.labels import pick_label
from casebridge.sop.engine import Outcome, Party, evaluate
from casebridge.sop.events import HOTLINE_EVENTS

EXAMPLES = 5  # examples kept per rule and kind of change
INFORMING = ("must_inform", "may_inform")


# --- what goes in ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReplayEvent:
    """An event as it was recorded: ``case`` is an opaque key (the case's, or for a hotline
    event the contact's), ``parties`` those taking part at ``recorded_at``."""

    id: int
    case: int
    code: str
    likelihood: str = ""
    imminence: str = ""
    event_date: date | None = None
    recorded_at: datetime
    parties: tuple[Party, ...] = ()

    @property
    def hotline(self) -> bool:
        return self.code in HOTLINE_EVENTS


@dataclass(frozen=True, kw_only=True)
class PastObligation:
    """An obligation that really existed, of the event ``event`` (a ``ReplayEvent.id``)."""

    event: int
    rule: str
    recipient: int | None  # participant id; None: nobody of that kind took part yet
    due_at: datetime | None
    fulfilled_at: datetime | None = None
    status: str = "open"  # open | fulfilled | cancelled


@dataclass(frozen=True, kw_only=True)
class PastDisclosure:
    """An approved disclosure: when, to whom, which categories, on which basis, and the
    rule and event of the obligation it fulfilled ("" and None if it fulfilled none)."""

    id: int = 0
    case: int
    at: datetime
    recipient: Party
    categories: frozenset[str] = frozenset()
    legal_basis: str = ""
    rule: str = ""
    event: int | None = None


# --- what comes out ----------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """Where a change would have happened: the case (or contact) key, the event's code and
    who the recipient was, in words as the caller's parties named them; ``detail`` says
    more where a kind has several causes (the overriding rules, or why a disclosure lost
    its basis: "rule" or the barrier's code)."""

    case: int
    event: str
    recipient: str
    detail: str = ""


@dataclass(frozen=True)
class Tally:
    count: int = 0
    examples: tuple[Example, ...] = ()


# The kinds of change, in the order a page shows them, with their heading.
KINDS = {
    "obligations_added": _("obligations that would have appeared"),
    "obligations_removed": _("obligations that would have disappeared"),
    "deadlines_missed": _("deadlines that would have been missed"),
    "deadlines_met": _("deadlines that would no longer have been missed"),
    "barriers_added": _("barriers that would have stood"),
    "barriers_removed": _("barriers that would have fallen away"),
    "barriers_lifted": _("barriers that would have been overridden"),
    "barriers_restored": _("barriers that would no longer have been overridden"),
    "disclosures_without_basis": _("disclosures that would no longer have had a basis"),
    "hotline_added": _("hotline disclosures to prepare that would have appeared"),
    "hotline_removed": _("hotline disclosures to prepare that would have disappeared"),
}
STATUSES = {
    "added": _("new in the draft"),
    "removed": _("removed in the draft"),
    "changed": _("changed in the draft"),
    "same": _("unchanged"),
}


@dataclass(frozen=True)
class RuleReplay:
    """One rule's row: whether the draft adds, removes or changes it, and per kind of
    change how often it would have happened, with the first examples."""

    rule: str
    label: str
    status: str  # added | removed | changed | same (STATUSES)
    obligations_added: Tally = Tally()
    obligations_removed: Tally = Tally()
    deadlines_missed: Tally = Tally()
    deadlines_met: Tally = Tally()
    barriers_added: Tally = Tally()
    barriers_removed: Tally = Tally()
    barriers_lifted: Tally = Tally()
    barriers_restored: Tally = Tally()
    disclosures_without_basis: Tally = Tally()
    hotline_added: Tally = Tally()
    hotline_removed: Tally = Tally()

    @property
    def status_label(self) -> str:
        return str(STATUSES[self.status])

    @property
    def changes(self) -> list[tuple[str, str, Tally]]:
        """(kind, heading, tally) of each kind that would have happened at least once."""
        return [
            (kind, str(heading), getattr(self, kind))
            for kind, heading in KINDS.items()
            if getattr(self, kind).count
        ]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True)
class ReplayReport:
    rows: tuple[RuleReplay, ...]  # by rule code
    events: int  # case events replayed
    cases: int  # cases whose events were replayed
    hotline_events: int
    contacts: int  # contacts whose hotline events were replayed
    obligations: int  # real obligations compared
    disclosures: int  # approved disclosures checked
    cases_changed: int  # cases (and contacts) where anything would have changed
    period_end: datetime
    totals: dict[str, int] = field(default_factory=dict)  # per kind, summed over the rows

    @property
    def changed_rows(self) -> tuple[RuleReplay, ...]:
        return tuple(row for row in self.rows if row.changed)


# --- the replay --------------------------------------------------------------------------


class _Rows:
    """Counts and first examples per (rule, kind) while the replay runs."""

    def __init__(self, limit: int):
        self.limit = limit
        self.counts: Counter = Counter()
        self.examples: dict[tuple[str, str], list[Example]] = {}
        self.seen: set = set()
        self.cases: set[tuple[bool, int]] = set()

    def add(self, rule: str, kind: str, example: Example, *, once=None, hotline=False) -> None:
        if once is not None:
            if (rule, kind, once) in self.seen:
                return
            self.seen.add((rule, kind, once))
        self.counts[rule, kind] += 1
        kept = self.examples.setdefault((rule, kind), [])
        if len(kept) < self.limit:
            kept.append(example)
        self.cases.add((hotline, example.case))

    def tally(self, rule: str, kind: str) -> Tally:
        return Tally(self.counts[rule, kind], tuple(self.examples.get((rule, kind), ())))


def _run(rules, event: ReplayEvent, parties: Sequence[Party], now: datetime) -> list[Outcome]:
    return evaluate(
        rules,
        list(parties),
        event.code,
        now=now,
        likelihood=event.likelihood,
        imminence=event.imminence,
        event_date=event.event_date,
    )


def _who(party: Party | None, outcome: Outcome | None = None) -> str:
    if party is not None:
        return party.organisation or party.organisation_type
    return outcome.recipient if outcome is not None else ""


def _informing(outcomes: list[Outcome], kinds=("must_inform",)) -> dict[tuple, Outcome]:
    return {(o.rule, o.recipient_participant_id): o for o in outcomes if o.obligation in kinds}


def _barriers(outcomes: list[Outcome]) -> dict[tuple, Outcome]:
    """Barriers towards a participant: (rule, participant id) -> outcome."""
    return {
        (o.rule, o.recipient_participant_id): o
        for o in outcomes
        if o.obligation == "must_not_share" and o.recipient_participant_id is not None
    }


def _compare_obligations(rows: _Rows, event: ReplayEvent, base, draft) -> None:
    before, after = _informing(base), _informing(draft)
    parties = {p.participant_id: p for p in event.parties}
    for key, outcome in after.items():
        if key not in before:
            who = _who(parties.get(key[1]), outcome)
            rows.add(key[0], "obligations_added", Example(event.case, event.code, who))
    for key, outcome in before.items():
        if key not in after:
            who = _who(parties.get(key[1]), outcome)
            rows.add(key[0], "obligations_removed", Example(event.case, event.code, who))


def _compare_barriers(rows: _Rows, event: ReplayEvent, base, draft) -> None:
    before, after = _barriers(base), _barriers(draft)
    parties = {p.participant_id: p for p in event.parties}

    def add(key, kind, detail=""):
        rule, participant = key
        example = Example(event.case, event.code, _who(parties.get(participant)), detail)
        rows.add(rule, kind, example, once=(event.case, participant))

    # sorted: a set's order of strings changes from one process to the next
    for key in sorted(after.keys() - before.keys()):
        add(key, "barriers_added")
    for key in sorted(before.keys() - after.keys()):
        add(key, "barriers_removed")
    for key in sorted(after.keys() & before.keys()):
        lifted_before, lifted_after = before[key].overridden_by, after[key].overridden_by
        if lifted_after and not lifted_before:
            add(key, "barriers_lifted", ", ".join(sorted(lifted_after)))
        elif lifted_before and not lifted_after:
            add(key, "barriers_restored", ", ".join(sorted(lifted_before)))


def _compare_hotline(rows: _Rows, event: ReplayEvent, base, draft) -> None:
    def prepared(outcomes):
        return Counter((o.rule, o.recipient) for o in outcomes if o.obligation in INFORMING)

    before, after = prepared(base), prepared(draft)
    for (rule, who), n in sorted((after - before).items()):
        for _n in range(n):
            rows.add(rule, "hotline_added", Example(event.case, event.code, who), hotline=True)
    for (rule, who), n in sorted((before - after).items()):
        for _n in range(n):
            rows.add(rule, "hotline_removed", Example(event.case, event.code, who), hotline=True)


def _missed(due: datetime | None, by: datetime) -> bool:
    return due is not None and due < by


def _compare_deadline(
    rows: _Rows, event: ReplayEvent, obligation: PastObligation, base, draft, period_end
) -> None:
    key = (obligation.rule, obligation.recipient)
    after = _informing(draft).get(key)
    if after is None:
        return  # the draft asks nothing of the kind here: counted as disappearing
    before = _informing(base).get(key)
    base_due = before.due if before is not None else obligation.due_at
    done = obligation.fulfilled_at if obligation.status == "fulfilled" else None
    by = done or period_end
    missed_before, missed_after = _missed(base_due, by), _missed(after.due, by)
    if missed_before == missed_after:
        return
    parties = {p.participant_id: p for p in event.parties}
    example = Example(event.case, event.code, _who(parties.get(obligation.recipient), after))
    rows.add(obligation.rule, "deadlines_missed" if missed_after else "deadlines_met", example)


def _basis_and_barriers(rules, disclosure: PastDisclosure, event: ReplayEvent | None):
    """Whether the disclosure's rule gives a basis to its recipient at its event, and the
    barriers standing towards that recipient for its categories (not overridden)."""
    recipient = disclosure.recipient
    if event is not None:
        outcomes = _run(rules, event, [recipient], disclosure.at)
    else:  # no event behind it: the standing barriers only
        outcomes = evaluate(rules, [recipient], "always", now=disclosure.at)
    basis = any(
        o.rule == disclosure.rule
        and o.obligation in INFORMING
        and o.recipient_participant_id == recipient.participant_id
        for o in outcomes
    )
    barriers = {
        o.rule
        for o in outcomes
        if o.obligation == "must_not_share"
        and not o.overridden_by
        and o.recipient_participant_id == recipient.participant_id
        and disclosure.categories & set(o.categories)
    }
    return basis, barriers


def _check_disclosure(
    rows: _Rows, disclosure: PastDisclosure, event: ReplayEvent | None, base_rules, draft_rules
) -> None:
    base_basis, base_barriers = _basis_and_barriers(base_rules, disclosure, event)
    draft_basis, draft_barriers = _basis_and_barriers(draft_rules, disclosure, event)
    code = event.code if event is not None else ""
    who = _who(disclosure.recipient)
    if disclosure.rule and event is not None and base_basis and not draft_basis:
        rows.add(
            disclosure.rule,
            "disclosures_without_basis",
            Example(disclosure.case, code, who, "rule"),
        )
    for barrier in sorted(draft_barriers - base_barriers):
        rows.add(
            barrier,
            "disclosures_without_basis",
            Example(disclosure.case, code, who, barrier),
        )


def relevant(baseline_rules, draft_rules) -> set[str]:
    """The rules whose outcomes can differ between the two versions: those the draft adds,
    removes or changes, the barriers such a rule overrides (in either version), and every
    rule that overrides one of those barriers (needed to tell whether it is overridden).
    Every other rule gives the same outcomes under both, so evaluating only these finds
    the same changes, faster."""
    before = {r.code: r for r in baseline_rules}
    after = {r.code: r for r in draft_rules}
    differ = {code for code in before.keys() | after.keys() if before.get(code) != after.get(code)}
    everything = [*before.values(), *after.values()]
    barriers = {target for r in everything if r.code in differ for target in r.overrides} | {
        r.code for r in everything if r.code in differ and r.obligation == "must_not_share"
    }
    overriding = {r.code for r in everything if set(r.overrides) & barriers}
    return differ | barriers | overriding


def replay(
    events: Iterable[ReplayEvent],
    obligations: Iterable[PastObligation],
    disclosures: Iterable[PastDisclosure],
    *,
    baseline_rules,
    draft_rules,
    period_end: datetime,
    earlier_events: Iterable[ReplayEvent] = (),
    examples: int = EXAMPLES,
    narrow: bool = True,
) -> ReplayReport:
    """What would have been different in ``events`` (the period's history) had
    ``draft_rules`` been in force instead of ``baseline_rules`` (parsed rules of the two
    versions, as ``Protocol.parsed_rules()`` gives them).

    ``obligations``: the real obligations of those events; ``disclosures``: the approved
    disclosures of the period; ``earlier_events``: events before the period whose
    obligations a disclosure of the period fulfilled (evaluated to judge that disclosure
    only, not counted as replayed). ``period_end``: an obligation still open counts as
    missed where its due time falls before it (pass the end of the period, or now if
    sooner). Changes nothing; deterministic: events in the order they were recorded,
    examples the first met. ``narrow`` evaluates only the rules whose outcomes can
    differ (``relevant``); ``narrow=False`` evaluates every rule, with the same result."""
    baseline_rules, draft_rules = list(baseline_rules), list(draft_rules)
    base_by_code = {r.code: r for r in baseline_rules}
    draft_by_code = {r.code: r for r in draft_rules}
    if narrow:
        codes = relevant(baseline_rules, draft_rules)
        baseline_rules = [r for r in baseline_rules if r.code in codes]
        draft_rules = [r for r in draft_rules if r.code in codes]
    in_both = base_by_code.keys() & draft_by_code.keys()
    rows = _Rows(examples)
    by_id: dict[int, ReplayEvent] = {e.id: e for e in earlier_events if not e.hotline}
    outcomes: dict[int, tuple[list[Outcome], list[Outcome]]] = {}
    cases: set[int] = set()
    contacts: set[int] = set()
    case_events = hotline_events = 0

    for event in sorted(events, key=lambda e: (e.recorded_at, e.id)):
        base = _run(baseline_rules, event, event.parties, event.recorded_at)
        draft = _run(draft_rules, event, event.parties, event.recorded_at)
        if event.hotline:
            hotline_events += 1
            contacts.add(event.case)
            _compare_hotline(rows, event, base, draft)
            continue
        case_events += 1
        cases.add(event.case)
        by_id[event.id] = event
        outcomes[event.id] = (base, draft)
        _compare_obligations(rows, event, base, draft)
        _compare_barriers(rows, event, base, draft)

    compared = 0
    for obligation in sorted(
        obligations,
        key=lambda o: (o.event, o.rule, o.recipient or 0, o.due_at or period_end),
    ):
        if obligation.event not in outcomes:
            continue  # not an event of the period
        compared += 1
        if obligation.status == "cancelled" or obligation.rule not in in_both:
            continue
        base, draft = outcomes[obligation.event]
        _compare_deadline(rows, by_id[obligation.event], obligation, base, draft, period_end)

    checked = 0
    for disclosure in sorted(disclosures, key=lambda d: (d.at, d.id)):
        checked += 1
        event = by_id.get(disclosure.event) if disclosure.event is not None else None
        _check_disclosure(rows, disclosure, event, baseline_rules, draft_rules)

    table = []
    for code in sorted(base_by_code.keys() | draft_by_code.keys()):
        before, after = base_by_code.get(code), draft_by_code.get(code)
        if before is None:
            status = "added"
        elif after is None:
            status = "removed"
        else:
            status = "same" if before == after else "changed"
        rule = after or before
        table.append(
            RuleReplay(
                code,
                pick_label(rule.label, fallback=code),
                status,
                **{kind: rows.tally(code, kind) for kind in KINDS},
            )
        )
    return ReplayReport(
        rows=tuple(table),
        events=case_events,
        cases=len(cases),
        hotline_events=hotline_events,
        contacts=len(contacts),
        obligations=compared,
        disclosures=checked,
        cases_changed=len(rows.cases),
        period_end=period_end,
        totals={kind: sum(getattr(row, kind).count for row in table) for kind in KINDS},
    )
