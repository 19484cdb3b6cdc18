"""Writes of the SOP as an agreement (issue 19): drafts started from a version or a file,
rules edited one at a time, the parties' signatories and their signatures, comments, and
activation at a stated date.

Every write is atomic, audited, and refused with a message at the field or rule it
concerns (invariant 10). A draft never gains an error of ``sop.check``: a change that
would introduce one (an unknown code, a rule that contradicts another) is refused and
changes nothing. A signature holds for the exact text signed (``Protocol.content_hash``).
"""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

import tomli_w
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import ValidationError as PydanticError

from casebridge.accounts.models import Role
from casebridge.accounts.permissions import active_roles
from casebridge.accounts.stepup import demand
from casebridge.audit.services import audit_record
from casebridge.cooperation_models.schema import ProtocolEntry, RuleEntry, pydantic_message
from casebridge.network.models import Organisation
from casebridge.network.services import identifying_references
from casebridge.procedures.models import ProtocolComment, ProtocolSignatory
from casebridge.sharing.models import Protocol
from casebridge.sharing.selectors import stored_vocabulary
from casebridge.sop import engine as sop

# A model file may hold many protocols; an exported or imported file holds one.
MAX_IMPORT_BYTES = 512 * 1024


class Checked:
    """A protocol, or a draft of one before it is saved, in the shape ``sop.check`` reads."""

    def __init__(self, protocol: Protocol, rules: list | None = None, parties=None):
        self.code, self.version = protocol.code, protocol.version
        self.parties = list(protocol.parties if parties is None else parties)
        self.rules = protocol.parsed_rules() if rules is None else rules


def findings(protocol: Protocol, *, rules=None, parties=None, vocabulary=None) -> list:
    return sop.check(Checked(protocol, rules, parties), vocabulary or stored_vocabulary())


def errors_of(protocol: Protocol, **kwargs) -> list:
    return [f for f in findings(protocol, **kwargs) if f.level == "error"]


def _is_coordinator(actor) -> bool:
    """The network's coordinators draft and activate. Outside a request (the command
    line) the operator acts with the machine's authority: ``actor`` is None."""
    return actor is None or Role.COORDINATOR in active_roles(actor)


def _require_coordinator(actor) -> None:
    if not _is_coordinator(actor):
        raise PermissionDenied(_("Only a network coordinator may do this."))


def _require_draft(protocol: Protocol) -> None:
    if protocol.status != Protocol.Status.DRAFT:
        raise ValidationError(
            {
                "protocol": [
                    _("Only a draft can be changed; this version is %(status)s.")
                    % {"status": protocol.get_status_display()}
                ]
            }
        )


def _refuse_new_errors(protocol: Protocol, *, rules=None, parties=None, field="rule") -> None:
    """Refuse a change that would give the draft an error it did not have before."""
    before = {str(f) for f in errors_of(protocol)}
    after = [f for f in errors_of(protocol, rules=rules, parties=parties) if str(f) not in before]
    if after:
        raise ValidationError({field: [str(f) for f in after]})


def _unique_version(code: str, version: str, *, exclude: int | None = None) -> None:
    taken = Protocol.objects.filter(code=code, version=version).exclude(pk=exclude).exists()
    if taken:
        raise ValidationError(
            {
                "version": [
                    _("Version %(version)s of this procedure exists already.")
                    % {"version": version}
                ]
            }
        )


# --- drafts ---------------------------------------------------------------------------------


@transaction.atomic
def draft_start(*, actor, based_on: Protocol, version: str, lesson=None) -> Protocol:
    """A new draft with the rules of ``based_on`` (usually the version in force)."""
    _require_coordinator(actor)
    version = version.strip()
    if not version:
        raise ValidationError({"version": [_("Name the new version, e.g. 2027.1.")]})
    _unique_version(based_on.code, version)
    draft = Protocol.objects.create(
        code=based_on.code,
        version=version[:40],
        status=Protocol.Status.DRAFT,
        effective_from=max(based_on.effective_from, timezone.localdate()),
        parties=list(based_on.parties),
        labels=dict(based_on.labels),
        description=dict(based_on.description),
        rules=list(based_on.rules),
        origin="pages",
        based_on=based_on,
        lesson=lesson,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="procedures.draft.start",
        obj=draft,
        details={
            "code": draft.code,
            "version": draft.version,
            "based_on": based_on.version,
            "lesson": lesson.pk if lesson else None,
        },
    )
    return draft


def export_toml(protocol: Protocol) -> str:
    """The version as a model file's ``[[protocols]]`` entry; ``import_toml`` reads it back
    to the same content, and exporting that gives the same text."""
    entry = {"code": protocol.code, "version": protocol.version}
    entry["effective_from"] = protocol.effective_from
    if protocol.effective_until:
        entry["effective_until"] = protocol.effective_until
    content = protocol.content()
    entry["parties"] = content["parties"]
    entry["label"] = content["label"]
    if "description" in content:
        entry["description"] = content["description"]
    entry["rules"] = content["rules"]
    return tomli_w.dumps({"protocols": [entry]})


def parse_toml(text: str) -> ProtocolEntry:
    """One protocol from a file's text, or a ValidationError naming where it is wrong."""
    if len(text.encode()) > MAX_IMPORT_BYTES:
        raise ValidationError(
            {
                "file": [
                    _("The file is larger than %(size)s KB.") % {"size": MAX_IMPORT_BYTES // 1024}
                ]
            }
        )
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(
            {"file": [_("This is not a TOML file: %(error)s") % {"error": exc}]}
        ) from None
    protocols = raw.get("protocols")
    if not isinstance(protocols, list) or len(protocols) != 1:
        raise ValidationError({"file": [_("The file must hold exactly one [[protocols]] entry.")]})
    entry = dict(protocols[0]) if isinstance(protocols[0], dict) else {}
    entry.pop("status", None)  # an imported version is always a draft
    try:
        return ProtocolEntry.model_validate(entry)
    except PydanticError as exc:
        messages = [
            f"{'.'.join(str(part) for part in error['loc'])}: {pydantic_message(error)}"
            for error in exc.errors()
        ]
        raise ValidationError({"file": messages}) from None


@transaction.atomic
def draft_import(*, actor, text: str, lesson=None) -> Protocol:
    """A draft from a file (``export_toml``'s shape); refused with every error it has."""
    _require_coordinator(actor)
    entry = parse_toml(text)
    _unique_version(entry.code, entry.version)
    based_on = (
        Protocol.objects.filter(code=entry.code, status=Protocol.Status.ACTIVE)
        .order_by("-effective_from")
        .first()
    )
    draft = Protocol(
        code=entry.code,
        version=entry.version,
        status=Protocol.Status.DRAFT,
        effective_from=entry.effective_from,
        effective_until=entry.effective_until,
        parties=list(entry.parties),
        labels=dict(entry.label),
        description=dict(entry.description),
        rules=[rule.model_dump(mode="json") for rule in entry.rules],
        origin="pages",
        based_on=based_on,
        lesson=lesson,
        created_by=actor,
    )
    problems = errors_of(draft)
    if problems:
        raise ValidationError({"file": [str(f) for f in problems]})
    draft.save()
    audit_record(
        actor=actor,
        action="procedures.draft.import",
        obj=draft,
        details={"code": draft.code, "version": draft.version, "rules": len(draft.rules)},
    )
    return draft


@transaction.atomic
def draft_update(
    *,
    actor,
    protocol: Protocol,
    version: str,
    effective_from: date,
    parties: list[str],
    labels: dict[str, str],
    description: dict[str, str],
) -> Protocol:
    """The draft's name, version, proposed start and parties."""
    _require_coordinator(actor)
    _require_draft(protocol)
    version = version.strip()
    if not version:
        raise ValidationError({"version": [_("Name the version.")]})
    _unique_version(protocol.code, version, exclude=protocol.pk)
    if effective_from < timezone.localdate():
        raise ValidationError(
            {"effective_from": [_("The date has passed; a procedure cannot start in the past.")]}
        )
    if not parties:
        raise ValidationError({"parties": [_("Name at least one party.")]})
    labels = {k: v.strip() for k, v in labels.items() if v and v.strip()}
    if not labels:
        raise ValidationError({"labels": [_("Give the procedure a name.")]})
    _refuse_new_errors(protocol, parties=parties, field="parties")
    protocol.version, protocol.effective_from = version[:40], effective_from
    protocol.parties, protocol.labels = list(parties), labels
    protocol.description = {k: v.strip() for k, v in description.items() if v and v.strip()}
    protocol.save()
    audit_record(
        actor=actor,
        action="procedures.draft.update",
        obj=protocol,
        details={"code": protocol.code, "version": protocol.version},
    )
    return protocol


def _rule_entry(data: dict) -> RuleEntry:
    try:
        return RuleEntry.model_validate(data)
    except PydanticError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "rule"
            errors.setdefault(field, []).append(pydantic_message(error))
        raise ValidationError(errors) from None


def _with_rule(protocol: Protocol, code: str | None, rule: RuleEntry) -> list:
    """The draft's rules with ``rule`` added (``code`` None) or in the place of ``code``;
    overrides that named a renamed rule follow it."""
    rules = protocol.parsed_rules()
    codes = [r.code for r in rules]
    if code is not None and code not in codes:
        raise ValidationError({"code": [_('There is no rule "%(code)s".') % {"code": code}]})
    if rule.code != code and rule.code in codes:
        raise ValidationError({"code": [_('Rule code "%(code)s" is taken.') % {"code": rule.code}]})
    if code is None:
        return [*rules, rule]
    rules[codes.index(code)] = rule
    if rule.code == code:
        return rules
    return [
        r.model_copy(update={"overrides": [rule.code if o == code else o for o in r.overrides]})
        for r in rules
    ]


def rule_preview(*, protocol: Protocol, code: str | None, data: dict) -> list:
    """What the check would say of the draft with this rule, saving nothing: the errors
    the change brings, then the warnings at the rule (the rule form asks while typing)."""
    rule = _rule_entry(data)
    rules = _with_rule(protocol, code, rule)
    before = {str(f) for f in errors_of(protocol)}
    found = findings(protocol, rules=rules)
    return [f for f in found if f.level == "error" and str(f) not in before] + [
        f for f in found if f.level == "warning" and f.rule == rule.code
    ]


@transaction.atomic
def rule_save(*, actor, protocol: Protocol, code: str | None, data: dict) -> RuleEntry:
    """Add a rule (``code`` None) or replace rule ``code``; a renamed rule keeps its place
    and the overrides that named it follow the new code."""
    _require_coordinator(actor)
    _require_draft(protocol)
    rule = _rule_entry(data)
    rules = _with_rule(protocol, code, rule)
    _refuse_new_errors(protocol, rules=rules)
    protocol.rules = [r.model_dump(mode="json") for r in rules]
    protocol.save(update_fields=["rules"])
    audit_record(
        actor=actor,
        action="procedures.rule.save",
        obj=protocol,
        details={
            "code": protocol.code,
            "version": protocol.version,
            "rule": rule.code,
            "new": code is None,
        },
    )
    return rule


@transaction.atomic
def rule_delete(*, actor, protocol: Protocol, code: str) -> None:
    _require_coordinator(actor)
    _require_draft(protocol)
    rules = protocol.parsed_rules()
    if code not in {r.code for r in rules}:
        raise ValidationError({"rule": [_('There is no rule "%(code)s".') % {"code": code}]})
    rules = [r for r in rules if r.code != code]
    if not rules:
        raise ValidationError({"rule": [_("A procedure keeps at least one rule.")]})
    _refuse_new_errors(protocol, rules=rules)
    protocol.rules = [r.model_dump(mode="json") for r in rules]
    protocol.save(update_fields=["rules"])
    audit_record(
        actor=actor,
        action="procedures.rule.delete",
        obj=protocol,
        details={"code": protocol.code, "version": protocol.version, "rule": code},
    )


# --- agreement ------------------------------------------------------------------------------


def _member_of(person, organisation: Organisation) -> bool:
    return (
        person.memberships.active()
        .filter(organisation=organisation)
        .exclude(role=Role.GUEST)
        .exists()
    )


@transaction.atomic
def signatories_set(
    *, actor, protocol: Protocol, parties: dict, legal_reviewer
) -> list[ProtocolSignatory]:
    """Name who signs: for each party type of the protocol an organisation of that type
    and a person of it (``parties``: type code -> (organisation, person)), and a legal
    reviewer. A signatory that stays the same keeps its signature."""
    _require_coordinator(actor)
    _require_draft(protocol)
    errors: dict[str, list[str]] = {}
    for party in protocol.parties:
        organisation, person = parties.get(party, (None, None))
        field = f"party_{party}"
        if organisation is None or person is None:
            errors.setdefault(field, []).append(
                _("Choose the organisation and the person who sign for this party.")
            )
        elif organisation.type.code != party or not organisation.active:
            errors.setdefault(field, []).append(
                _("%(organisation)s is not an active organisation of this type.")
                % {"organisation": organisation.name}
            )
        elif not _member_of(person, organisation):
            errors.setdefault(field, []).append(
                _("The person who signs must work for %(organisation)s.")
                % {"organisation": organisation.name}
            )
    unknown = sorted(set(parties) - set(protocol.parties))
    if unknown:
        errors.setdefault("parties", []).append(
            _("Not a party of this procedure: %(codes)s") % {"codes": ", ".join(unknown)}
        )
    if legal_reviewer is None or not legal_reviewer.is_active:
        errors.setdefault("legal_reviewer", []).append(_("Choose the legal reviewer."))
    elif not legal_reviewer.memberships.active().exclude(role=Role.GUEST).exists():
        errors.setdefault("legal_reviewer", []).append(
            _("The legal reviewer must be a member of the network.")
        )
    elif any(person == legal_reviewer for _org, person in parties.values()):
        errors.setdefault("legal_reviewer", []).append(
            _("The legal reviewer cannot also sign for a party.")
        )
    if errors:
        raise ValidationError(errors)
    wanted = {party: (ProtocolSignatory.Kind.PARTY, *parties[party]) for party in protocol.parties}
    wanted[""] = (ProtocolSignatory.Kind.LEGAL, None, legal_reviewer)
    ProtocolSignatory.objects.filter(protocol=protocol).exclude(party__in=wanted).delete()
    result = []
    for party, (kind, organisation, person) in wanted.items():
        signatory = ProtocolSignatory.objects.filter(protocol=protocol, party=party).first()
        if signatory and (signatory.organisation, signatory.person) == (organisation, person):
            result.append(signatory)
            continue
        if signatory is None:
            signatory = ProtocolSignatory(protocol=protocol, party=party)
        signatory.kind, signatory.organisation, signatory.person = kind, organisation, person
        signatory.named_by, signatory.signed_at, signatory.signed_hash = actor, None, ""
        signatory.save()
        result.append(signatory)
    audit_record(
        actor=actor,
        action="procedures.signatories.set",
        obj=protocol,
        details={
            "code": protocol.code,
            "version": protocol.version,
            "signatories": [s.pk for s in result],
        },
    )
    return result


@transaction.atomic
def protocol_sign(*, actor, protocol: Protocol, content_hash: str) -> ProtocolSignatory:
    """The named person signs the exact text they read (``content_hash``)."""
    demand("procedures.protocol.sign", actor=actor)
    protocol = Protocol.objects.select_for_update().get(pk=protocol.pk)
    signatory = ProtocolSignatory.objects.filter(protocol=protocol, person=actor).first()
    if signatory is None:
        raise PermissionDenied(_("You are not named to sign this version."))
    # named while they worked there; a person who left (or moved) no longer signs for it
    still_there = (
        _member_of(actor, signatory.organisation)
        if signatory.organisation
        else actor.memberships.active().exclude(role=Role.GUEST).exists()
    )
    if not still_there:
        raise PermissionDenied(_("You are not named to sign this version."))
    _require_draft(protocol)
    if content_hash != protocol.content_hash:
        raise ValidationError(
            {"content_hash": [_("The draft changed since you read it. Read it again, then sign.")]}
        )
    problems = errors_of(protocol)
    if problems:
        raise ValidationError({"protocol": [str(f) for f in problems]})
    signatory.signed_at, signatory.signed_hash = timezone.now(), content_hash
    signatory.save(update_fields=["signed_at", "signed_hash"])
    audit_record(
        actor=actor,
        action="procedures.protocol.sign",
        obj=protocol,
        details={
            "code": protocol.code,
            "version": protocol.version,
            "hash": content_hash,
            "party": signatory.party or "legal",
        },
    )
    return signatory


def missing_signatures(protocol: Protocol) -> list[str]:
    """Who has yet to sign the current text, in words (empty: everyone has)."""
    current = protocol.content_hash
    signatories = {s.party: s for s in protocol.signatories.select_related("person")}
    missing = []
    for party in [*protocol.parties, ""]:
        signatory = signatories.get(party)
        who = party or _("legal review")
        if signatory is None:
            missing.append(_("%(party)s: nobody named") % {"party": who})
        elif not signatory.signed(current):
            missing.append(
                _("%(party)s: %(person)s has not signed this text")
                % {"party": who, "person": signatory.person.get_full_name() or signatory.person}
            )
    return missing


@transaction.atomic
def protocol_activate(
    *, actor, protocol: Protocol, effective_from: date, content_hash: str | None = None
) -> Protocol:
    """Put a fully signed version into force on ``effective_from`` (today or later). The
    version in force stays so until the day before; on that day this one takes over."""
    demand("procedures.protocol.activate", actor=actor)
    _require_coordinator(actor)
    protocol = Protocol.objects.select_for_update().get(pk=protocol.pk)
    _require_draft(protocol)
    if content_hash is not None and content_hash != protocol.content_hash:
        raise ValidationError(
            {"content_hash": [_("The draft changed since you read it. Read it again.")]}
        )
    problems = errors_of(protocol)
    if problems:
        raise ValidationError({"protocol": [str(f) for f in problems]})
    missing = missing_signatures(protocol)
    if missing:
        raise ValidationError(
            {
                "protocol": [
                    _("Every signature is needed first. Missing: %(who)s")
                    % {"who": "; ".join(missing)}
                ]
            }
        )
    today = timezone.localdate()
    if effective_from < today:
        raise ValidationError(
            {"effective_from": [_("The date has passed; choose today or a later day.")]}
        )
    for other in Protocol.objects.select_for_update().filter(
        code=protocol.code, status=Protocol.Status.ACTIVE
    ):
        if other.effective_from >= effective_from:
            # in force from the same day or later (a version scheduled but not begun):
            # replaced before it began
            other.status, other.effective_until = Protocol.Status.RETIRED, None
        else:
            other.effective_until = effective_from - timedelta(days=1)
            if effective_from <= today:
                other.status = Protocol.Status.RETIRED
        other.save(update_fields=["status", "effective_until"])
    protocol.status, protocol.effective_from, protocol.effective_until = (
        Protocol.Status.ACTIVE,
        effective_from,
        None,
    )
    protocol.activated_by, protocol.activated_at = actor, timezone.now()
    protocol.save(
        update_fields=[
            "status",
            "effective_from",
            "effective_until",
            "activated_by",
            "activated_at",
        ]
    )
    audit_record(
        actor=actor,
        action="procedures.protocol.activate",
        obj=protocol,
        details={
            "code": protocol.code,
            "version": protocol.version,
            "hash": protocol.content_hash,
            "effective_from": effective_from.isoformat(),
            "signatures": protocol.signatories.count(),
        },
    )
    return protocol


@transaction.atomic
def retire_ended(*, today: date | None = None) -> int:
    """Versions whose last day has passed are retired (the worker runs this each round)."""
    today = today or timezone.localdate()
    ended = list(
        Protocol.objects.select_for_update().filter(
            status=Protocol.Status.ACTIVE, effective_until__lt=today
        )
    )
    for protocol in ended:
        protocol.status = Protocol.Status.RETIRED
        protocol.save(update_fields=["status"])
        audit_record(
            actor=None,
            action="procedures.protocol.retire",
            obj=protocol,
            details={
                "code": protocol.code,
                "version": protocol.version,
                "last_day": protocol.effective_until.isoformat(),
            },
        )
    return len(ended)


def may_comment(actor, protocol: Protocol) -> bool:
    return _is_coordinator(actor) or protocol.signatories.filter(person=actor).exists()


@transaction.atomic
def comment_add(*, actor, protocol: Protocol, rule: str, text: str) -> ProtocolComment:
    if not may_comment(actor, protocol):
        raise PermissionDenied(_("Only the coordinators and those named to sign may comment."))
    _require_draft(protocol)
    text = text.strip()
    if not text:
        raise ValidationError({"text": [_("Write the comment.")]})
    if len(text) > 2000:
        raise ValidationError({"text": [_("At most 2000 characters.")]})
    found = identifying_references(text)
    if found:  # every party and reviewer reads the comments: they speak of the procedure
        raise ValidationError(
            {
                "text": [
                    _(
                        "This text contains %(what)s. Comments on a procedure speak of the "
                        "procedure: leave out case numbers, contact references and contact "
                        "details."
                    )
                    % {"what": ", ".join(found)}
                ]
            }
        )
    if rule and rule not in {r.code for r in protocol.parsed_rules()}:
        raise ValidationError({"rule": [_('There is no rule "%(code)s".') % {"code": rule}]})
    signatory = protocol.signatories.filter(person=actor).first()
    membership = actor.memberships.active().exclude(role=Role.GUEST).first()
    comment = ProtocolComment.objects.create(
        protocol=protocol,
        rule=rule,
        text=text,
        author=actor,
        organisation=(
            signatory.organisation
            if signatory and signatory.organisation
            else membership.organisation
            if membership
            else None
        ),
    )
    audit_record(
        actor=actor,
        action="procedures.comment.add",
        obj=protocol,
        details={"code": protocol.code, "version": protocol.version, "rule": rule},
    )
    return comment
