"""Compare a participant's answer at one event with what the SOP engine requires.

Pure: it takes a parsed scenario, the protocol's parsed rules and the model's vocabulary,
asks ``sharing.sop.evaluate`` what the procedure says for the event (the same engine as
``sop simulate`` and real obligations), and lists every difference as codes. The page
turns each difference into an explanation in the reader's language (``explain``).

An answer is a list of flows: recipient (a case role, ``role:<code>``), obligation
(must_inform, may_inform or must_not_share), information categories, legal basis and
deadline. The sender is the player: each player is compared only with the flows their
party sends — the rule's sender, or the case's lead for a rule that names none. What the
other parties must do is shown for information (``Comparison.others``), never scored.
Barriers (must_not_share) bind every player unless the rule names a sender.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils.translation import gettext as _

from casebridge.labels import pick_label
from casebridge.sop import engine as sop
from casebridge.training.scenarios import ScenarioSpec

FLOWS = ("must_inform", "may_inform")
OBLIGATIONS = ("must_inform", "may_inform", "must_not_share")
DEADLINES = (
    "without_delay",
    "within_hours:24",
    "within_days:3",
    "within_days:7",
    "days_before_event:14",
)
# The sender of a flow no party of the scenario sends (the procedure names a party the
# scenario does not have): shown for information to every player, expected of none.
NOT_PLAYED = "-"
# A fixed reference time: deadlines are compared by their codes, not by dates.
REFERENCE_NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Roles:
    """The model's case roles as the comparison needs them."""

    sectors: dict[str, tuple[str, ...]]  # role -> sectors it belongs to
    lead: frozenset[str]


@dataclass(frozen=True)
class Flow:
    recipient: str
    obligation: str
    categories: tuple[str, ...]
    legal_basis: str = ""
    deadline: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> Flow:
        return cls(
            recipient=data["recipient"],
            obligation=data["obligation"],
            categories=tuple(sorted(data.get("categories", []))),
            legal_basis=data.get("legal_basis", ""),
            deadline=data.get("deadline", ""),
        )

    def as_dict(self) -> dict:
        return {
            "recipient": self.recipient,
            "obligation": self.obligation,
            "categories": list(self.categories),
            "legal_basis": self.legal_basis,
            "deadline": self.deadline,
        }


@dataclass(frozen=True)
class Expected(Flow):
    """A flow the procedure requires or permits, with the rule that says so."""

    rule: str = ""
    # the scenario party that sends it (the rule's sender, else the lead); NOT_PLAYED when
    # no party of the scenario is the sender; "" for a barrier that binds every party
    sender: str = ""
    label: dict = field(default_factory=dict, compare=False, hash=False)
    description: dict = field(default_factory=dict, compare=False, hash=False)
    consent_required: bool = False
    second_approval: bool = False
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Difference:
    kind: str  # missing, unexpected, barrier, obligation, categories_missing,
    # categories_extra, legal_basis, deadline, barrier_unknown, other_sender
    recipient: str
    rule: str = ""
    expected: tuple[str, ...] = ()
    answered: tuple[str, ...] = ()
    sender: str = ""  # other_sender: the party whose flow the answer named


@dataclass
class Comparison:
    expected: list[Expected]
    barriers: list[Expected]
    matches: list[tuple[Expected, Flow]]
    differences: list[Difference]
    # what the other parties send at this event: for information, not scored
    others: list[Expected] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return not self.differences


def role_key(role: str) -> str:
    return f"role:{role}"


def parties_at(spec: ScenarioSpec, number: int, vocabulary, roles: Roles) -> list[sop.Party]:
    """The scenario's parties taking part in the case at event ``number`` (1-based)."""
    return [
        sop.Party(
            participant_id=index,
            organisation=party.organisation,
            organisation_type=party.organisation_type,
            sector=vocabulary.organisation_types.get(party.organisation_type, ""),
            role=party.case_role,
            lead=party.case_role in roles.lead,
        )
        for index, party in enumerate(spec.parties, start=1)
        if 1 <= party.joins_at <= number
    ]


def recipient_roles(spec: ScenarioSpec, vocabulary) -> list[str]:
    """Every case role an answer may name: the scenario's parties first, then the others."""
    own = [p.case_role for p in spec.parties]
    return own + sorted(r for r in vocabulary.roles if r not in own)


def _stand_ins(spec: ScenarioSpec, vocabulary, roles: Roles) -> list[sop.Party]:
    """One party per case role, so barriers can be asked about any recipient."""
    by_role = {p.case_role: p for p in spec.parties}
    parties = []
    for index, role in enumerate(recipient_roles(spec, vocabulary), start=1):
        party = by_role.get(role)
        organisation_type = party.organisation_type if party else ""
        sector = (
            vocabulary.organisation_types.get(organisation_type, "")
            if party
            else next(iter(roles.sectors.get(role, ())), "")
        )
        parties.append(sop.Party(index, role, organisation_type, sector, role, role in roles.lead))
    return parties


def _recipient_key(outcome: sop.Outcome, rule, parties: dict[int, sop.Party]) -> str | None:
    if outcome.recipient_participant_id is not None:
        return role_key(parties[outcome.recipient_participant_id].role)
    recipient = rule.recipient
    if recipient.all:
        return None  # "every other participant" when there is none: nobody to inform
    if recipient.role:
        return role_key(recipient.role)
    if recipient.organisation_type:
        return f"type:{recipient.organisation_type}"
    return f"sector:{recipient.sector}"


def _spec_party(spec: ScenarioSpec, index: int, vocabulary, roles: Roles) -> sop.Party:
    party = spec.parties[index - 1]
    return sop.Party(
        participant_id=index,
        organisation=party.organisation,
        organisation_type=party.organisation_type,
        sector=vocabulary.organisation_types.get(party.organisation_type, ""),
        role=party.case_role,
        lead=party.case_role in roles.lead,
    )


def sender_party(
    spec: ScenarioSpec, rule, outcome: sop.Outcome | None, vocabulary, roles: Roles
) -> str:
    """The code of the scenario party that sends under ``rule``: the one the engine found in
    the case, else (not yet in the case, or never) the first party the rule's sender names,
    or the lead party for a rule without a sender. NOT_PLAYED when no party of the scenario
    is it."""
    if outcome is not None and outcome.sender_participant_id is not None:
        return spec.parties[outcome.sender_participant_id - 1].code
    every = [_spec_party(spec, i, vocabulary, roles) for i in range(1, len(spec.parties) + 1)]
    party = sop.sender_of(rule, every)
    return spec.parties[party.participant_id - 1].code if party else NOT_PLAYED


def _as_expected(outcome: sop.Outcome, rule, key: str, sender: str = "") -> Expected:
    return Expected(
        recipient=key,
        obligation=outcome.obligation,
        categories=tuple(sorted(outcome.categories)),
        legal_basis=outcome.legal_basis,
        deadline=rule.deadline if outcome.obligation in FLOWS else "",
        rule=rule.code,
        sender=sender,
        label=dict(rule.label),
        description=dict(rule.description),
        consent_required=outcome.consent_required,
        second_approval=outcome.second_approval,
        overrides=tuple(rule.overrides),
    )


def _evaluate(rules, parties, event, now):
    return sop.evaluate(
        rules,
        parties,
        event.event,
        now=now,
        likelihood=event.likelihood or "",
        imminence=event.imminence or "",
        event_date=(now + timedelta(days=event.days_until)).date()
        if event.days_until is not None
        else None,
    )


def expectation(
    spec: ScenarioSpec, number: int, rules, vocabulary, roles: Roles
) -> tuple[list[Expected], list[Expected]]:
    """What the procedure requires or permits at event ``number``, and the barriers in force.

    Barriers are asked of the engine with a stand-in for every case role, so that a flow
    to a role not (yet) in the case is checked against them too.
    """
    event = spec.events[number - 1]
    by_code = {rule.code: rule for rule in rules}
    parties = parties_at(spec, number, vocabulary, roles)
    by_id = {p.participant_id: p for p in parties}
    flows = []
    for outcome in _evaluate(rules, parties, event, REFERENCE_NOW):
        if outcome.obligation not in FLOWS:
            continue
        rule = by_code[outcome.rule]
        key = _recipient_key(outcome, rule, by_id)
        if key is not None:
            sender = sender_party(spec, rule, outcome, vocabulary, roles)
            flows.append(_as_expected(outcome, rule, key, sender))
    stand_ins = _stand_ins(spec, vocabulary, roles)
    stand_by_id = {p.participant_id: p for p in stand_ins}
    barriers = [
        _as_expected(
            outcome,
            by_code[outcome.rule],
            role_key(stand_by_id[outcome.recipient_participant_id].role),
            # a barrier binds every party, unless the rule names whom it binds
            sender_party(spec, by_code[outcome.rule], None, vocabulary, roles)
            if by_code[outcome.rule].sender is not None
            else "",
        )
        for outcome in _evaluate(rules, stand_ins, event, REFERENCE_NOW)
        if outcome.obligation == "must_not_share"
        and not outcome.overridden_by
        and outcome.recipient_participant_id is not None
    ]
    return flows, barriers


def overriding_rules(spec: ScenarioSpec, number: int, rules) -> dict[str, list[str]]:
    """Barrier code -> the rules triggered at this event that set it aside."""
    event = spec.events[number - 1]
    found: dict[str, list[str]] = {}
    for outcome in _evaluate(rules, [], event, REFERENCE_NOW):
        for target in outcome.overridden_by:
            found.setdefault(outcome.rule, []).append(target)
    return found


def compare(
    spec: ScenarioSpec,
    number: int,
    answer: list[Flow],
    rules,
    vocabulary,
    roles: Roles,
    party: str | None = None,
) -> Comparison:
    """Every difference between the answer of the player of ``party`` and the procedure at
    event ``number``: only the flows that party sends are expected of it. Without a party,
    every flow of the event is expected (the answer of the whole case)."""
    expected, barriers = expectation(spec, number, rules, vocabulary, roles)
    others: list[Expected] = []
    if party is not None:
        others = [e for e in expected if e.sender != party]
        expected = [e for e in expected if e.sender == party]
        barriers = [b for b in barriers if b.sender in ("", party)]
    answered = [f for f in answer if f.obligation in FLOWS]
    declared_barriers = [f for f in answer if f.obligation == "must_not_share"]

    pairs = []
    for i, want in enumerate(expected):
        for j, got in enumerate(answered):
            if want.recipient != got.recipient:
                continue
            score = (
                4 * len(set(want.categories) & set(got.categories))
                + 2 * (want.legal_basis == got.legal_basis)
                + (want.obligation == got.obligation)
            )
            pairs.append((score, i, j))
    taken_e: set[int] = set()
    taken_a: set[int] = set()
    matches: list[tuple[Expected, Flow]] = []
    for _score, i, j in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if i in taken_e or j in taken_a:
            continue
        taken_e.add(i)
        taken_a.add(j)
        matches.append((expected[i], answered[j]))
    matches.sort(key=lambda m: expected.index(m[0]))

    differences: list[Difference] = []

    def barred(recipient: str, categories, overrides=()) -> list[tuple[Expected, tuple]]:
        hits = []
        for barrier in barriers:
            if barrier.recipient != recipient or barrier.rule in overrides:
                continue
            common = tuple(sorted(set(categories) & set(barrier.categories)))
            if common:
                hits.append((barrier, common))
        return hits

    for want, got in matches:
        if want.obligation != got.obligation:
            differences.append(
                Difference(
                    "obligation", want.recipient, want.rule, (want.obligation,), (got.obligation,)
                )
            )
        missing = tuple(c for c in want.categories if c not in got.categories)
        extra = [c for c in got.categories if c not in want.categories]
        if missing:
            differences.append(Difference("categories_missing", want.recipient, want.rule, missing))
        for barrier, common in barred(want.recipient, extra, want.overrides):
            differences.append(Difference("barrier", want.recipient, barrier.rule, (), common))
            extra = [c for c in extra if c not in common]
        if extra:
            differences.append(
                Difference("categories_extra", want.recipient, want.rule, (), tuple(extra))
            )
        if want.legal_basis != got.legal_basis:
            differences.append(
                Difference(
                    "legal_basis",
                    want.recipient,
                    want.rule,
                    (want.legal_basis,),
                    (got.legal_basis,),
                )
            )
        if want.deadline != got.deadline:
            differences.append(
                Difference("deadline", want.recipient, want.rule, (want.deadline,), (got.deadline,))
            )
    for i, want in enumerate(expected):
        if i not in taken_e:
            differences.append(Difference("missing", want.recipient, want.rule, want.categories))
    for j, got in enumerate(answered):
        if j in taken_a:
            continue
        rest = list(got.categories)
        for barrier, common in barred(got.recipient, rest):
            differences.append(Difference("barrier", got.recipient, barrier.rule, (), common))
            rest = [c for c in rest if c not in common]
        theirs = next(
            (o for o in others if o.recipient == got.recipient and set(o.categories) & set(rest)),
            None,
        )
        if theirs is not None:
            differences.append(
                Difference(
                    "other_sender",
                    got.recipient,
                    theirs.rule,
                    theirs.categories,
                    tuple(rest),
                    theirs.sender,
                )
            )
        elif rest:
            differences.append(Difference("unexpected", got.recipient, "", (), tuple(rest)))
    overridden = overriding_rules(spec, number, rules)
    for got in declared_barriers:
        covered = {c for barrier, common in barred(got.recipient, got.categories) for c in common}
        unknown = tuple(c for c in got.categories if c not in covered)
        if unknown:
            setting_aside = next(
                (
                    w.rule
                    for w in expected
                    if w.recipient == got.recipient
                    and set(unknown) & set(w.categories)
                    and any(b in w.overrides for b in overridden)
                ),
                "",
            )
            differences.append(
                Difference("barrier_unknown", got.recipient, setting_aside, (), unknown)
            )
    return Comparison(expected, barriers, matches, differences, others)


# --- explanations ------------------------------------------------------------------------


@dataclass
class Labels:
    """Multilingual labels of the codes an explanation names; picked in the reader's language."""

    roles: dict[str, dict]
    categories: dict[str, dict]
    legal_bases: dict[str, dict]
    rules: dict[str, tuple[dict, dict]]  # code -> (label, description)
    parties: dict[str, dict] = field(default_factory=dict)  # scenario party code -> label

    def party(self, code: str) -> str:
        """Who sends, as players know the party: "NGO counsellor"."""
        if not code or code == NOT_PLAYED:
            return _("a party not played in this scenario")
        return pick_label(self.parties.get(code, {}), fallback=code)

    def role(self, key: str) -> str:
        kind, _sep, code = key.partition(":")
        if kind == "role":
            return pick_label(self.roles.get(code, {}), fallback=code)
        return code

    def categories_of(self, codes) -> str:
        return ", ".join(pick_label(self.categories.get(c, {}), fallback=c) for c in codes)

    def basis(self, code: str) -> str:
        return pick_label(self.legal_bases.get(code, {}), fallback=code or "–")

    def rule(self, code: str) -> str:
        label, _description = self.rules.get(code, ({}, {}))
        return pick_label(label, fallback=code)

    def rule_description(self, code: str) -> str:
        _label, description = self.rules.get(code, ({}, {}))
        return pick_label(description) if description else ""


def obligation_label(code: str) -> str:
    return {
        "must_inform": _("must inform"),
        "may_inform": _("may inform"),
        "must_not_share": _("must not share"),
    }.get(code, code)


def deadline_label(code: str) -> str:
    kind, _sep, amount = code.partition(":")
    if kind == "without_delay":
        return _("without delay")
    if kind == "within_hours":
        return _("within %(hours)s hours") % {"hours": amount}
    if kind == "within_days":
        return _("within %(days)s days") % {"days": amount}
    if kind == "days_before_event":
        return _("%(days)s days before the date of the event") % {"days": amount}
    return "–"


def explain(difference: Difference, labels: Labels) -> str:
    """One difference in words, in the active language, naming the rule and why."""
    d = difference
    values = {
        "rule": labels.rule(d.rule) if d.rule else "",
        "recipient": labels.role(d.recipient),
        "expected": labels.categories_of(d.expected),
        "answered": labels.categories_of(d.answered),
    }
    why = labels.rule_description(d.rule) if d.rule else ""
    if d.kind == "missing":
        text = (
            _(
                "You left out a flow: the rule “%(rule)s” says to inform %(recipient)s about "
                "%(expected)s at this event."
            )
            % values
        )
    elif d.kind == "unexpected":
        text = (
            _(
                "The procedure has no rule for informing %(recipient)s about %(answered)s at this "
                "event. Sharing it anyway would need a recorded disclosure with its own legal "
                "basis, in most cases the person's consent."
            )
            % values
        )
    elif d.kind == "barrier":
        text = (
            _(
                "The rule “%(rule)s” forbids sharing %(answered)s with %(recipient)s, and no duty, "
                "emergency or child protection rule sets it aside at this event."
            )
            % values
        )
    elif d.kind == "obligation":
        text = _(
            "The rule “%(rule)s” says %(recipient)s %(expected_obligation)s, you answered "
            "%(answered_obligation)s."
        ) % {
            **values,
            "expected_obligation": _("must be informed")
            if d.expected[0] == "must_inform"
            else _("may be informed (a decision, not a duty)"),
            "answered_obligation": obligation_label(d.answered[0]),
        }
    elif d.kind == "categories_missing":
        text = (
            _(
                "The rule “%(rule)s” also covers %(expected)s for %(recipient)s; your answer "
                "leaves it out."
            )
            % values
        )
    elif d.kind == "categories_extra":
        text = (
            _(
                "The rule “%(rule)s” does not cover %(answered)s: share only what the case "
                "needs, only with those who need it."
            )
            % values
        )
    elif d.kind == "legal_basis":
        text = _(
            "The rule “%(rule)s” rests on %(expected_basis)s, you named %(answered_basis)s."
        ) % {
            **values,
            "expected_basis": labels.basis(d.expected[0]),
            "answered_basis": labels.basis(d.answered[0]),
        }
    elif d.kind == "deadline":
        text = _(
            "The rule “%(rule)s” sets the deadline %(expected_deadline)s, you answered "
            "%(answered_deadline)s."
        ) % {
            **values,
            "expected_deadline": deadline_label(d.expected[0]),
            "answered_deadline": deadline_label(d.answered[0]),
        }
    elif d.kind == "other_sender":
        text = _(
            "Informing %(recipient)s about %(expected)s is not your role's task: the rule "
            "“%(rule)s” gives it to %(sender)s."
        ) % {**values, "sender": labels.party(d.sender)}
    elif d.kind == "barrier_unknown":
        if d.rule:
            text = (
                _(
                    "No barrier keeps %(answered)s from %(recipient)s at this event: the rule "
                    "“%(rule)s” sets it aside."
                )
                % values
            )
        else:
            text = (
                _(
                    "The procedure forbids nothing about %(answered)s towards %(recipient)s at "
                    "this event."
                )
                % values
            )
    else:  # pragma: no cover - every kind above is produced by compare()
        text = d.kind
    plain = ("barrier_unknown", "other_sender")
    return f"{text} {why}".strip() if why and d.kind not in plain else text


def _sender_label(rule: str, sender: str, labels: Labels) -> str:
    if not rule:
        return ""  # an answer: the player sends it
    if not sender:
        return _("every party")  # a barrier that names nobody binds all
    return labels.party(sender)


def describe(flow: Flow, labels: Labels) -> dict:
    """A flow's codes as labels in the active language, for pages and the API."""
    rule = getattr(flow, "rule", "")
    sender = getattr(flow, "sender", "")
    return {
        "rule": rule,
        "rule_label": labels.rule(rule) if rule else "",
        "sender": sender,
        "sender_label": _sender_label(rule, sender, labels),
        "recipient": flow.recipient,
        "recipient_label": labels.role(flow.recipient),
        "obligation": flow.obligation,
        "obligation_label": obligation_label(flow.obligation),
        "categories": list(flow.categories),
        "categories_label": labels.categories_of(flow.categories),
        "legal_basis": flow.legal_basis,
        "legal_basis_label": labels.basis(flow.legal_basis),
        "deadline": flow.deadline,
        "deadline_label": deadline_label(flow.deadline) if flow.deadline else "–",
        "consent_required": getattr(flow, "consent_required", False),
        "second_approval": getattr(flow, "second_approval", False),
    }
