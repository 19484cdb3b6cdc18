"""A scenario checked against a version of its procedure (issue 19, part 5).

Pure, like the comparison: the expected answer of every event of a scenario, as the SOP
engine computes it from a protocol's rules (``expected_answers``), a digest of it, and the
events whose expected answer differs between two such records, in sentences
(``changes``). The selectors compare the version in force with the latest review; a
scenario whose expected answers changed needs a coordinator's review before it is played.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from casebridge.labels import pick_label
from casebridge.training import compare
from casebridge.training.scenarios import ScenarioSpec


def _row(flow: compare.Expected) -> dict:
    return {
        "rule": flow.rule,
        "sender": flow.sender,
        "recipient": flow.recipient,
        "obligation": flow.obligation,
        "categories": sorted(flow.categories),
        "legal_basis": flow.legal_basis,
        "deadline": flow.deadline,
    }


def _key(row: dict) -> tuple[str, str]:
    return row["rule"], row["recipient"]


def _sorted(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["rule"], r["recipient"], r["sender"]))


def expected_answers(spec: ScenarioSpec, rules, vocabulary, roles: compare.Roles) -> list[dict]:
    """Event by event: the flows the procedure expects (with who sends them) and the
    barriers in force — codes only, in a stable order."""
    answers = []
    for number, event in enumerate(spec.events, start=1):
        flows, barriers = compare.expectation(spec, number, rules, vocabulary, roles)
        answers.append(
            {
                "event": number,
                "code": event.event,
                "flows": _sorted([_row(f) for f in flows]),
                "barriers": _sorted([_row(b) for b in barriers]),
            }
        )
    return answers


def digest(answers: list[dict]) -> str:
    text = json.dumps(answers, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class EventChange:
    """One event of the scenario whose expected answer changed, with the changes in words."""

    number: int
    title: str
    sentences: list[str] = field(default_factory=list)


def _flow_words(row: dict, labels: compare.Labels) -> dict:
    return {
        "rule": labels.rule(row["rule"]),
        "sender": labels.party(row["sender"]) if row["sender"] else _("every party"),
        "obligation": compare.obligation_label(row["obligation"]),
        "recipient": labels.role(row["recipient"]),
        "information": labels.categories_of(row["categories"]),
        "deadline": compare.deadline_label(row["deadline"]) if row["deadline"] else "–",
        "basis": labels.basis(row["legal_basis"]),
    }


def _flow_sentence(row: dict, labels: compare.Labels, *, barrier: bool) -> str:
    words = _flow_words(row, labels)
    if barrier:
        return _("%(information)s must not be shared with %(recipient)s (rule “%(rule)s”)") % words
    return (
        _(
            "%(sender)s %(obligation)s %(recipient)s about %(information)s, %(deadline)s, on "
            "%(basis)s (rule “%(rule)s”)"
        )
        % words
    )


def _field_words(name: str, row: dict, labels: compare.Labels) -> str:
    words = _flow_words(row, labels)
    return {
        "obligation": words["obligation"],
        "categories": words["information"],
        "legal_basis": words["basis"],
        "deadline": words["deadline"],
    }[name]


FIELD_NAMES = {
    "obligation": lambda: _("obligation"),
    "categories": lambda: _("information"),
    "legal_basis": lambda: _("legal basis"),
    "deadline": lambda: _("deadline"),
}


def _event_sentences(before: dict, after: dict, labels: compare.Labels) -> list[str]:
    sentences: list[str] = []
    for kind, barrier in (("flows", False), ("barriers", True)):
        old = {_key(r): r for r in before.get(kind, [])}
        new = {_key(r): r for r in after.get(kind, [])}
        for key, row in old.items():
            if key not in new:
                sentence = _flow_sentence(row, labels, barrier=barrier)
                sentences.append(
                    _("Barrier lifted: %(rule)s.") % {"rule": sentence}
                    if barrier
                    else _("No longer: %(rule)s.") % {"rule": sentence}
                )
        for key, row in new.items():
            was = old.get(key)
            if was is None:
                sentence = _flow_sentence(row, labels, barrier=barrier)
                sentences.append(
                    _("New barrier: %(rule)s.") % {"rule": sentence}
                    if barrier
                    else _("New: %(rule)s.") % {"rule": sentence}
                )
                continue
            words = _flow_words(row, labels)
            if was["sender"] != row["sender"]:
                sentences.append(
                    _("“%(rule)s”: now %(after)s informs %(recipient)s instead of %(before)s.")
                    % {
                        **words,
                        "after": labels.party(row["sender"]),
                        "before": labels.party(was["sender"]),
                    }
                )
            for name, label in FIELD_NAMES.items():
                if was[name] != row[name]:
                    sentences.append(
                        _(
                            "“%(rule)s”, %(recipient)s: %(field)s now %(after)s instead of "
                            "%(before)s."
                        )
                        % {
                            **words,
                            "field": label(),
                            "after": _field_words(name, row, labels),
                            "before": _field_words(name, was, labels),
                        }
                    )
    return sentences


def changes(
    spec: ScenarioSpec, before: list[dict], after: list[dict], labels: compare.Labels
) -> list[EventChange]:
    """The events whose expected answer differs from ``before`` to ``after`` (both from
    ``expected_answers``), each with what changed in sentences."""
    found = []
    old = {e["event"]: e for e in before}
    for number, event in enumerate(spec.events, start=1):
        now = next((e for e in after if e["event"] == number), {"flows": [], "barriers": []})
        was = old.get(number)
        title = pick_label(event.title, fallback=event.event)
        if was is None:
            found.append(EventChange(number, title, [_("This event is new in the scenario.")]))
            continue
        if was.get("code") != now.get("code"):
            found.append(
                EventChange(number, title, [_("The scenario now plays another event here.")])
            )
            continue
        sentences = _event_sentences(was, now, labels)
        if sentences:
            found.append(EventChange(number, title, sentences))
    for number in sorted(n for n in old if n > len(spec.events)):
        found.append(
            EventChange(
                number,
                str(number),
                [_("Event %(number)s is no longer in the scenario.") % {"number": number}],
            )
        )
    return found
