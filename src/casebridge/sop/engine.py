"""The SOP engine: check protocols for contradictions and gaps, and work out who must or may
inform whom about what, by when, on which legal basis — for a case and an event.

Everything here is pure: it takes plain data (a parsed protocol, the model's vocabulary,
the facts of a case) and returns findings or outcomes, so ``sop check``, ``sop simulate``,
the obligations of real events and role-play training all use the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from casebridge.labels import pick_label
from casebridge.sop.events import EVENTS, HOTLINE_EVENTS, IMMINENCE, LIKELIHOOD

OVERRIDING_KINDS = ("duty", "emergency", "child_welfare")


@dataclass(frozen=True)
class Vocabulary:
    """What a protocol may refer to: the cooperation model's codes."""

    categories: frozenset[str]
    legal_bases: dict[str, str]  # code -> kind
    roles: frozenset[str]
    organisation_types: dict[str, str]  # code -> sector
    sectors: frozenset[str]


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"rule {self.rule}: " if self.rule else ""
        return f"{self.level}: {where}{self.message}"


def _recipient_types(recipient, vocab: Vocabulary) -> set[str] | None:
    """Organisation types a recipient can stand for; None means 'depends on the case' (a role)."""
    if recipient.all:
        return set(vocab.organisation_types)
    if recipient.organisation_type:
        return {recipient.organisation_type}
    if recipient.sector:
        return {t for t, s in vocab.organisation_types.items() if s == recipient.sector}
    return None


def _recipients_overlap(a, b, vocab: Vocabulary) -> bool:
    if a.all or b.all:
        return True
    if a.role and b.role:
        return a.role == b.role
    types_a, types_b = _recipient_types(a, vocab), _recipient_types(b, vocab)
    if types_a is None or types_b is None:  # a role against a type: may meet in a case
        return True
    return bool(types_a & types_b)


def check(protocol, vocab: Vocabulary) -> list[Finding]:
    """Unknown references and contradictions are errors; gaps are warnings."""
    findings: list[Finding] = []

    def error(rule, message):
        findings.append(Finding("error", rule, message))

    codes = [r.code for r in protocol.rules]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        error(code, _('rule code "%(code)s" is used twice') % {"code": code})
    for party in protocol.parties:
        if party not in vocab.organisation_types:
            error("", _('party "%(code)s" is not a known organisation type') % {"code": party})
    for rule in protocol.rules:
        if rule.event not in EVENTS and rule.event not in HOTLINE_EVENTS:
            error(rule.code, _('event "%(code)s" is not known') % {"code": rule.event})
        for category in rule.categories:
            if category not in vocab.categories:
                error(
                    rule.code,
                    _('information category "%(code)s" is not known') % {"code": category},
                )
        if rule.legal_basis not in vocab.legal_bases:
            error(rule.code, _('legal basis "%(code)s" is not known') % {"code": rule.legal_basis})
        recipient = rule.recipient
        given = [
            bool(recipient.role),
            bool(recipient.organisation_type),
            bool(recipient.sector),
            recipient.all,
        ]
        if sum(given) != 1:
            error(
                rule.code, _("name exactly one recipient: role, organisation_type, sector or all")
            )
        if recipient.role and recipient.role not in vocab.roles:
            error(rule.code, _('case role "%(code)s" is not known') % {"code": recipient.role})
        if (
            recipient.organisation_type
            and recipient.organisation_type not in vocab.organisation_types
        ):
            error(
                rule.code,
                _('organisation type "%(code)s" is not known')
                % {"code": recipient.organisation_type},
            )
        if recipient.sector and recipient.sector not in vocab.sectors:
            error(rule.code, _('sector "%(code)s" is not known') % {"code": recipient.sector})
        if rule.sender is not None:
            findings += _sender_findings(rule, vocab)
        if rule.event in HOTLINE_EVENTS and (recipient.role or recipient.all):
            error(
                rule.code,
                _(
                    "a hotline event has no case and no participants: name the recipient by "
                    "organisation_type or sector"
                ),
            )
        conditional = rule.condition.min_likelihood or rule.condition.min_imminence
        if conditional and rule.event != "risk_judgement_recorded":
            error(rule.code, _("a likelihood or imminence condition needs a risk judgement event"))
        if rule.deadline.startswith("days_before_event") and rule.event != "release_scheduled":
            error(rule.code, _("days_before_event needs an event with a date (release_scheduled)"))
        if rule.obligation == "must_not_share" and rule.overrides:
            error(rule.code, _("a must_not_share rule cannot override other rules"))
        for target in rule.overrides:
            if target not in codes:
                error(rule.code, _('overrides unknown rule "%(code)s"') % {"code": target})
        if rule.overrides and vocab.legal_bases.get(rule.legal_basis) not in OVERRIDING_KINDS:
            error(
                rule.code,
                _(
                    "only a duty, an emergency or child protection overrides a barrier; "
                    "%(basis)s does not"
                )
                % {"basis": rule.legal_basis},
            )
    findings += _contradictions(protocol, vocab)
    findings += _gaps(protocol, vocab)
    return findings


def _sender_findings(rule, vocab: Vocabulary) -> list[Finding]:
    """A sender names one party of the case: a case role, an organisation type or a sector."""
    found = []
    sender = rule.sender

    def error(message):
        found.append(Finding("error", rule.code, message))

    if rule.event in HOTLINE_EVENTS:
        error(
            _(
                "a hotline event has no case and no participants: the hotline informs, so the "
                "rule names no sender"
            )
        )
    if sender.all:
        error(
            _(
                "a sender is one party of the case, not all: name a role, organisation_type "
                "or sector"
            )
        )
    given = [bool(sender.role), bool(sender.organisation_type), bool(sender.sector)]
    if sum(given) != 1 and not (sender.all and sum(given) == 0):
        error(_("name exactly one sender: role, organisation_type or sector"))
    if sender.role and sender.role not in vocab.roles:
        error(_('case role "%(code)s" of the sender is not known') % {"code": sender.role})
    if sender.organisation_type and sender.organisation_type not in vocab.organisation_types:
        error(
            _('organisation type "%(code)s" of the sender is not known')
            % {"code": sender.organisation_type}
        )
    if sender.sector and sender.sector not in vocab.sectors:
        error(_('sector "%(code)s" of the sender is not known') % {"code": sender.sector})
    return found


def _contradictions(protocol, vocab: Vocabulary) -> list[Finding]:
    found = []
    barriers = [r for r in protocol.rules if r.obligation == "must_not_share"]
    for rule in protocol.rules:
        if rule.obligation != "must_inform":
            continue
        for barrier in barriers:
            if barrier.code in rule.overrides:
                continue
            if barrier.event not in ("always", rule.event):
                continue
            common = sorted(set(rule.categories) & set(barrier.categories))
            if common and _recipients_overlap(rule.recipient, barrier.recipient, vocab):
                found.append(
                    Finding(
                        "error",
                        rule.code,
                        _(
                            'obliges informing about %(categories)s what rule "%(barrier)s" '
                            'forbids sharing; resolve it or declare overrides = ["%(barrier)s"] '
                            "with a legal duty"
                        )
                        % {"categories": ", ".join(common), "barrier": barrier.code},
                    )
                )
    return found


def _gaps(protocol, vocab: Vocabulary) -> list[Finding]:
    """An event the protocol reacts to, but not for every party: say which party is left out."""
    found = []
    by_event: dict[str, list] = {}
    for rule in protocol.rules:
        by_event.setdefault(rule.event, []).append(rule)
    for event, rules in sorted(by_event.items()):
        if event == "always" or event in HOTLINE_EVENTS:
            # a hotline event informs an outside organisation, never the parties as such
            continue
        covered: set[str] = set()
        open_ended = False
        for rule in rules:
            types = _recipient_types(rule.recipient, vocab)
            if types is None:
                open_ended = True  # a role: filled by whichever party takes it
            else:
                covered |= types
        missing = [p for p in protocol.parties if p not in covered]
        if missing and not open_ended:
            found.append(
                Finding(
                    "warning",
                    "",
                    _("event %(event)s has no rule for %(parties)s")
                    % {"event": event, "parties": ", ".join(missing)},
                )
            )
    return found


# --- the engine --------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """A participant of a case as the engine sees it."""

    participant_id: int
    organisation: str
    organisation_type: str
    sector: str
    role: str
    lead: bool


@dataclass
class Outcome:
    rule: str
    label: str
    obligation: str
    recipient: str  # who, in words
    recipient_participant_id: int | None
    categories: list[str]
    due: datetime | None
    legal_basis: str
    consent_required: bool
    second_approval: bool
    overridden_by: list[str] = field(default_factory=list)
    # Who informs, in words: the rule's sender, or the case's lead when it names none
    sender: str = ""
    # the participant who informs, when a party of the case is the sender (the lead for a
    # rule without a sender); None when no party of the case matches
    sender_participant_id: int | None = None


def _matches(recipient, party: Party) -> bool:
    if recipient.all:
        return not party.lead
    if recipient.role:
        return party.role == recipient.role
    if recipient.organisation_type:
        return party.organisation_type == recipient.organisation_type
    return party.sector == recipient.sector


def matches(spec, party: Party) -> bool:
    """Whether ``party`` is who a rule's recipient or sender names."""
    return _matches(spec, party)


def _describe(recipient) -> str:
    if recipient.all:
        return _("every other participant")
    return recipient.role or recipient.organisation_type or recipient.sector


def sender_of(rule, parties: list[Party]) -> Party | None:
    """The party who informs under ``rule``: the first matching its sender, or the lead
    when it names none. None when no party of the case is the sender."""
    if rule.sender is None:
        return next((p for p in parties if p.lead), None)
    return next((p for p in parties if _matches(rule.sender, p)), None)


def _sender_words(rule, party: Party | None) -> str:
    if party is not None:
        return party.organisation
    if rule.sender is None:
        return _("the case's lead")
    return _("%(who)s (not yet taking part)") % {"who": _describe(rule.sender)}


def _triggered(rule, event: str, likelihood: str, imminence: str) -> bool:
    if rule.event not in (event, "always"):
        return False
    condition = rule.condition
    if condition.min_likelihood and (
        not likelihood or LIKELIHOOD.index(likelihood) < LIKELIHOOD.index(condition.min_likelihood)
    ):
        return False
    return not (
        condition.min_imminence
        and (not imminence or IMMINENCE.index(imminence) < IMMINENCE.index(condition.min_imminence))
    )


def due_at(deadline: str, now: datetime, event_date: date | None = None) -> datetime | None:
    kind, _sep, amount = deadline.partition(":")
    if kind == "without_delay":
        return now + timedelta(hours=4)  # "without delay": same working day
    if kind == "within_hours":
        return now + timedelta(hours=int(amount))
    if kind == "within_days":
        return now + timedelta(days=int(amount))
    if kind == "days_before_event" and event_date is not None:
        day = event_date - timedelta(days=int(amount))
        return datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo)
    return None


def evaluate(
    rules,
    parties: list[Party],
    event: str,
    *,
    now: datetime,
    likelihood: str = "",
    imminence: str = "",
    event_date: date | None = None,
) -> list[Outcome]:
    """Who must or may inform whom about what for ``event`` — and what must not be shared."""
    triggered = [r for r in rules if _triggered(r, event, likelihood, imminence)]
    overriding = {}
    for rule in triggered:
        for target in rule.overrides:
            overriding.setdefault(target, []).append(rule.code)
    outcomes = []
    for rule in triggered:
        if rule.event == "always" and rule.obligation != "must_not_share":
            continue
        sender = sender_of(rule, parties)
        if rule.recipient.all and rule.sender is not None:
            # "every other participant" of a rule with a sender: all but the sender
            targets = [p for p in parties if p != sender]
        else:
            targets = [p for p in parties if _matches(rule.recipient, p)]
        for party in targets or [None]:
            label = pick_label(rule.label, fallback=rule.code)
            outcomes.append(
                Outcome(
                    rule=rule.code,
                    label=label,
                    obligation=rule.obligation,
                    recipient=party.organisation
                    if party
                    else _("%(who)s (not yet taking part)") % {"who": _describe(rule.recipient)},
                    recipient_participant_id=party.participant_id if party else None,
                    categories=list(rule.categories),
                    due=due_at(rule.deadline, now, event_date)
                    if rule.obligation != "must_not_share"
                    else None,
                    legal_basis=rule.legal_basis,
                    consent_required=rule.consent_required,
                    second_approval=rule.second_approval,
                    overridden_by=overriding.get(rule.code, []),
                    sender=_sender_words(rule, sender),
                    sender_participant_id=sender.participant_id if sender else None,
                )
            )
    order = {"must_inform": 0, "may_inform": 1, "must_not_share": 2}
    outcomes.sort(key=lambda o: (order[o.obligation], o.rule, o.recipient))
    return outcomes
