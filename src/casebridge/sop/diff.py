"""What changes between two versions of a protocol, in words a counsellor understands
(issue 19): rules added, removed, and changed field by field — "the youth welfare office
is now informed within 24 hours instead of 72 hours".

Pure, like the engine: it takes parsed rules and a ``Words`` that names the model's codes
(the caller builds it from the vocabulary in the reader's language).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from casebridge.labels import pick_label
from casebridge.sop.events import EVENTS, HOTLINE_EVENTS, Imminence, RiskLevel


@dataclass(frozen=True)
class Words:
    """How to name a code for a reader: ``name(kind, code)`` with kind one of event,
    category, legal_basis, role, organisation_type, sector."""

    name: Callable[[str, str], str]


def plain_words() -> Words:
    """Codes as they are, events and scales by their labels (for the command line)."""
    labels = {**EVENTS, **HOTLINE_EVENTS}
    return Words(lambda kind, code: str(labels.get(code, code)) if kind == "event" else code)


@dataclass
class FieldChange:
    field: str  # the rule's field in words, e.g. "deadline"
    before: str  # in words
    after: str
    key: str = ""  # the rule's field as its code, e.g. "deadline" or "sender"


@dataclass
class RuleChange:
    kind: str  # added | removed | changed
    rule: str  # the rule's code
    label: str  # the rule's label (the newer one's, for a change)
    fields: list[FieldChange] = field(default_factory=list)
    summary: str = ""  # one sentence


def deadline_words(deadline: str) -> str:
    kind, _sep, amount = deadline.partition(":")
    if kind == "without_delay":
        return _("without delay")
    if kind == "within_hours":
        return _("within %(n)s hours") % {"n": amount}
    if kind == "within_days":
        return _("within %(n)s days") % {"n": amount}
    if kind == "days_before_event":
        return _("%(n)s days before the event") % {"n": amount}
    return deadline


OBLIGATIONS = {
    "must_inform": lambda: _("must inform"),
    "may_inform": lambda: _("may inform"),
    "must_not_share": lambda: _("must not share"),
}


def recipient_words(recipient, words: Words) -> str:
    if recipient.all:
        return _("every other participant")
    if recipient.role:
        return words.name("role", recipient.role)
    if recipient.organisation_type:
        return words.name("organisation_type", recipient.organisation_type)
    return words.name("sector", recipient.sector or "")


def sender_words(sender, words: Words) -> str:
    """Who informs: the rule's sender, or the case's lead when it names none."""
    if sender is None:
        return _("the case's lead")
    if sender.role:
        return words.name("role", sender.role)
    if sender.organisation_type:
        return words.name("organisation_type", sender.organisation_type)
    return words.name("sector", sender.sector or "")


def _condition_words(condition) -> str:
    parts = []
    if condition.min_likelihood:
        parts.append(
            _("likelihood at least %(level)s")
            % {"level": RiskLevel(condition.min_likelihood).label}
        )
    if condition.min_imminence:
        parts.append(
            _("imminence at least %(level)s") % {"level": Imminence(condition.min_imminence).label}
        )
    return ", ".join(str(p) for p in parts) or _("none")


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def _fields(rule, words: Words) -> dict[str, tuple[str, str]]:
    """Each field of a rule: (its name in words, its value in words)."""
    return {
        "event": (_("event"), words.name("event", rule.event)),
        "condition": (_("condition"), _condition_words(rule.condition)),
        "obligation": (_("obligation"), OBLIGATIONS[rule.obligation]()),
        "sender": (_("who informs"), sender_words(rule.sender, words)),
        "recipient": (_("recipient"), recipient_words(rule.recipient, words)),
        "categories": (
            _("information"),
            ", ".join(words.name("category", c) for c in rule.categories),
        ),
        "deadline": (_("deadline"), deadline_words(rule.deadline)),
        "legal_basis": (_("legal basis"), words.name("legal_basis", rule.legal_basis)),
        "consent_required": (_("consent required"), _yes_no(rule.consent_required)),
        "second_approval": (_("second person approves"), _yes_no(rule.second_approval)),
        "overrides": (_("overrides"), ", ".join(rule.overrides) or _("nothing")),
    }


def _label(rule) -> str:
    return pick_label(rule.label, fallback=rule.code)


def compare(old_rules, new_rules, words: Words | None = None) -> list[RuleChange]:
    """The changes from ``old_rules`` to ``new_rules`` (parsed ``RuleEntry`` lists), by
    rule code: removed first, then changed, then added, each in the rules' order."""
    words = words or plain_words()
    old = {rule.code: rule for rule in old_rules}
    new = {rule.code: rule for rule in new_rules}
    changes: list[RuleChange] = []
    for code, rule in old.items():
        if code not in new:
            changes.append(
                RuleChange(
                    "removed",
                    code,
                    _label(rule),
                    summary=_("No longer: %(rule)s") % {"rule": _sentence(rule, words)},
                )
            )
    for code, rule in new.items():
        before = old.get(code)
        if before is None or before == rule:
            continue
        old_fields, new_fields = _fields(before, words), _fields(rule, words)
        fields = [
            FieldChange(name, old_fields[key][1], value, key)
            for key, (name, value) in new_fields.items()
            if old_fields[key][1] != value
        ]
        if not fields and _label(before) != _label(rule):
            fields = [FieldChange(_("label"), _label(before), _label(rule), "label")]
        changes.append(
            RuleChange(
                "changed",
                code,
                _label(rule),
                fields,
                summary="; ".join(_change_words(f) for f in fields),
            )
        )
    for code, rule in new.items():
        if code not in old:
            changes.append(
                RuleChange(
                    "added",
                    code,
                    _label(rule),
                    summary=_("New: %(rule)s") % {"rule": _sentence(rule, words)},
                )
            )
    return changes


def _change_words(change: FieldChange) -> str:
    if change.key == "sender":
        return _("now %(after)s informs instead of %(before)s") % {
            "after": change.after,
            "before": change.before,
        }
    return _("%(field)s now %(after)s instead of %(before)s") % {
        "field": change.field,
        "after": change.after,
        "before": change.before,
    }


def _sentence(rule, words: Words) -> str:
    """A rule in one sentence: "at <event>: must inform <recipient> about <information>,
    <deadline>, on <basis>" — with "<sender> must inform" where the rule names who informs."""
    fields = _fields(rule, words)
    values = {
        "event": fields["event"][1],
        "sender": fields["sender"][1],
        "obligation": fields["obligation"][1],
        "recipient": fields["recipient"][1],
        "information": fields["categories"][1],
        "deadline": fields["deadline"][1],
        "basis": fields["legal_basis"][1],
    }
    if rule.sender is not None:
        return (
            _(
                "at %(event)s: %(sender)s %(obligation)s %(recipient)s about %(information)s, "
                "%(deadline)s, on %(basis)s."
            )
            % values
        )
    return (
        _(
            "at %(event)s: %(obligation)s %(recipient)s about %(information)s, %(deadline)s, "
            "on %(basis)s."
        )
        % values
    )


def rule_fields(rule, words: Words | None = None) -> list[tuple[str, str]]:
    """Each field of a rule as (its name, its value) in words, for a page that shows it."""
    return list(_fields(rule, words or plain_words()).values())
