"""Reads of the SOP as an agreement: the versions a user may see, a draft's findings per
rule, who signs, the difference between two versions, and the replay of past events.

Procedures are no personal data: every member of the network reads the versions in force
and the past ones. A draft is read by the coordinators, the data protection officer and
the people named to sign it, until it is in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.accounts.models import Membership, Role, User
from casebridge.accounts.permissions import active_roles
from casebridge.audit.services import audit_record
from casebridge.cooperation_models.models import Term
from casebridge.labels import pick_label
from casebridge.network.models import Lesson, Organisation, OrganisationType, Sector
from casebridge.procedures.models import ProtocolComment, ProtocolSignatory
from casebridge.procedures.services import findings, missing_signatures
from casebridge.sharing.models import Protocol
from casebridge.sharing.replay import replay_period
from casebridge.sharing.selectors import stored_vocabulary
from casebridge.sop import diff as sop_diff
from casebridge.sop import events as sop_events

DRAFT_READERS = {Role.COORDINATOR, Role.DATA_PROTECTION_OFFICER}


def may_draft(user) -> bool:
    return Role.COORDINATOR in active_roles(user)


def _drafts_visible(user):
    """The drafts ``user`` may read: all for coordinators and the DPO, else the ones they
    are named to sign."""
    if active_roles(user) & DRAFT_READERS:
        return Protocol.objects.filter(status=Protocol.Status.DRAFT)
    return Protocol.objects.filter(status=Protocol.Status.DRAFT, signatories__person=user)


def visible_protocols(user):
    """Every version in force or past for a member of the network (an invited guest sees
    none), and the drafts of ``_drafts_visible``."""
    if not active_roles(user):
        return Protocol.objects.none()
    drafts = _drafts_visible(user).values("pk")
    return Protocol.objects.exclude(status=Protocol.Status.DRAFT) | Protocol.objects.filter(
        pk__in=drafts
    )


def protocol_for_reader(user, protocol_id: int) -> Protocol:
    """The version if ``user`` may read it; else 404 (a draft's existence is not told)."""
    protocol = visible_protocols(user).filter(pk=protocol_id).select_related("lesson").first()
    if protocol is None:
        raise Http404
    return protocol


def state(protocol: Protocol, today=None) -> str:
    """draft, scheduled (signed, in force later), in_force, ended or retired."""
    today = today or timezone.localdate()
    if protocol.status == Protocol.Status.ACTIVE:
        if protocol.effective_from > today:
            return "scheduled"
        if protocol.effective_until and protocol.effective_until < today:
            return "ended"
        return "in_force"
    return protocol.status


@dataclass
class Row:
    protocol: Protocol
    state: str
    errors: int
    warnings: int


def protocol_rows(user) -> list[Row]:
    today = timezone.localdate()
    vocabulary = stored_vocabulary()
    rows = []
    for protocol in visible_protocols(user).order_by("code", "-effective_from", "-created_at"):
        found = findings(protocol, vocabulary=vocabulary)
        rows.append(
            Row(
                protocol,
                state(protocol, today),
                sum(f.level == "error" for f in found),
                sum(f.level == "warning" for f in found),
            )
        )
    return rows


@dataclass
class RuleView:
    rule: object
    label: str
    fields: list  # (name, value) in words
    findings: list
    comments: list


def rule_views(protocol: Protocol) -> tuple[list[RuleView], list, list]:
    """Each rule with the findings and comments at it; the findings and comments of the
    whole version."""
    found = findings(protocol)
    comments = list(
        ProtocolComment.objects.filter(protocol=protocol).select_related("author", "organisation")
    )
    words = protocol_words()
    views = [
        RuleView(
            rule,
            pick_label(rule.label, fallback=rule.code),
            sop_diff.rule_fields(rule, words),
            [f for f in found if f.rule == rule.code],
            [c for c in comments if c.rule == rule.code],
        )
        for rule in protocol.parsed_rules()
    ]
    codes = {r.code for r in protocol.parsed_rules()}
    general = [f for f in found if f.rule not in codes]
    return views, general, [c for c in comments if c.rule not in codes]


def signatories(protocol: Protocol) -> list[ProtocolSignatory]:
    current = protocol.content_hash
    rows = list(
        ProtocolSignatory.objects.filter(protocol=protocol).select_related("organisation", "person")
    )
    for row in rows:
        row.current = row.signed(current)
        row.outdated = row.signed_at is not None and not row.current
    return rows


def my_signatory(user, protocol: Protocol) -> ProtocolSignatory | None:
    return ProtocolSignatory.objects.filter(protocol=protocol, person=user).first()


def still_missing(protocol: Protocol) -> list[str]:
    return missing_signatures(protocol)


def signing_choices(protocol: Protocol) -> dict[str, list[tuple[str, str]]]:
    """For each party type: "organisation id:person id" choices of the people who work
    for an active organisation of that type; and the legal reviewers ("" key)."""
    memberships = (
        Membership.objects.active()
        .exclude(role=Role.GUEST)
        .filter(user__is_active=True)
        .select_related("user", "organisation__type")
        .order_by("organisation__name", "user__last_name", "user__first_name")
    )
    choices: dict[str, list[tuple[str, str]]] = {party: [] for party in protocol.parties}
    people: dict[int, User] = {}
    for membership in memberships:
        code = membership.organisation.type.code
        if code in choices and membership.organisation.active:
            value = f"{membership.organisation_id}:{membership.user_id}"
            label = f"{membership.organisation.name} — {membership.user.picker_label}"
            if (value, label) not in choices[code]:
                choices[code].append((value, label))
        people.setdefault(membership.user_id, membership.user)
    choices[""] = [
        (str(user.pk), user.picker_label)
        for user in sorted(people.values(), key=lambda u: (u.last_name, u.first_name, u.pk))
    ]
    return choices


def signing_pair(value: str):
    """The organisation and person a "organisation id:person id" choice stands for."""
    org_id, _sep, user_id = value.partition(":")
    if not (org_id.isdigit() and user_id.isdigit()):
        return None, None
    return (
        Organisation.objects.filter(pk=int(org_id)).select_related("type").first(),
        User.objects.filter(pk=int(user_id)).first(),
    )


def organisation_type_codes() -> set[str]:
    return set(OrganisationType.objects.filter(active=True).values_list("code", flat=True))


def person(user_id: int | None) -> User | None:
    return User.objects.filter(pk=user_id).first() if user_id else None


def lesson(lesson_id) -> Lesson | None:
    return Lesson.objects.filter(pk=lesson_id).first() if str(lesson_id).isdigit() else None


def version_in_force(code: str) -> Protocol | None:
    today = timezone.localdate()
    for protocol in Protocol.objects.filter(code=code, status=Protocol.Status.ACTIVE):
        if protocol.in_force(today):
            return protocol
    return None


# --- the difference between two versions -----------------------------------------------------


def protocol_words() -> sop_diff.Words:
    """The model's codes named in the reader's language, for a protocol's difference."""
    terms = {(t.kind, t.code): t.label for t in Term.objects.all()}
    types = {t.code: t.label for t in OrganisationType.objects.all()}
    sectors = {s.code: s.label for s in Sector.objects.all()}
    events = {**sop_events.EVENTS, **sop_events.HOTLINE_EVENTS}
    kinds = {"category": "information_category", "legal_basis": "legal_basis", "role": "case_role"}

    def name(kind: str, code: str) -> str:
        if kind == "event":
            return str(events.get(code, code))
        if kind == "organisation_type":
            return types.get(code, code)
        if kind == "sector":
            return sectors.get(code, code)
        return terms.get((kinds.get(kind, kind), code), code)

    return sop_diff.Words(name)


def protocol_versions(user) -> list:
    return list(visible_protocols(user).order_by("code", "effective_from", "version"))


def protocol_difference(user, old_id: int, new_id: int):
    """The two versions and what changes from the first to the second, in words."""
    old = protocol_for_reader(user, old_id)
    new = protocol_for_reader(user, new_id)
    return old, new, sop_diff.compare(old.parsed_rules(), new.parsed_rules(), protocol_words())


# --- replay: a period's past events through two versions --------------------------------------


def may_replay(user) -> bool:
    """Coordinators and the DPO: the replay counts events across the whole network."""
    return bool(active_roles(user) & DRAFT_READERS)


def replay_default_period() -> dict:
    end = timezone.localdate()
    return {"start": end.replace(year=end.year - 1) + timedelta(days=1), "end": end}


def replay_baseline(protocol: Protocol) -> Protocol | None:
    """What ``protocol`` is compared with: the version in force of the same procedure, or,
    for that version itself, the one it was drafted from."""
    current = version_in_force(protocol.code)
    if current is not None and current.pk != protocol.pk:
        return current
    return protocol.based_on


# A replay reads every event of its period in memory: at most three years at once.
MAX_REPLAY_DAYS = 3 * 366


def replay(*, actor, draft: Protocol, baseline: Protocol, start, end):
    """The replay's report; audited (who replayed which versions over which days)."""
    if end < start:
        raise ValidationError({"end": [_("The end lies before the start.")]})
    if (end - start).days + 1 > MAX_REPLAY_DAYS:
        raise ValidationError(
            {"end": [_("Replay at most %(days)s days at once.") % {"days": MAX_REPLAY_DAYS}]}
        )
    report = replay_period(baseline=baseline, draft=draft, start=start, end=end)
    audit_record(
        actor=actor,
        action="procedures.protocol.replay",
        obj=draft,
        details={
            "baseline": str(baseline),
            "draft": str(draft),
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    return report
