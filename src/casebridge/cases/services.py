"""Writes for cases; each checks the policy, is atomic and audited in its transaction.

Audit details hold case numbers, codes and ids: never names, notes or judgements.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casebridge.access import protocol
from casebridge.access.policy import (
    CASE_WORK_ROLES,
    PARTNER_ROLES,
    Action,
    decide,
    may_contribute,
    may_write,
    organisations_with,
    require,
    seat_participant,
)
from casebridge.accounts.models import Membership, Role, User
from casebridge.audit.services import audit_denied, audit_record
from casebridge.cases import selectors
from casebridge.cases.models import (
    Case,
    CaseVisit,
    Conference,
    ConferenceItem,
    Entry,
    Goal,
    Handover,
    Invitation,
    Participant,
    Phase,
    RelatedPerson,
    SafetyWarning,
    ScopeChange,
    Transfer,
)
from casebridge.cooperation_models.models import Term
from casebridge.crypto.keys import blind_index
from casebridge.dates import local_midnight
from casebridge.network.models import COUNSELLING_SECTORS, Organisation, Region

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def _lead_role() -> Term:
    return Term.objects.of("case_role").get(attributes__lead=True)


def default_scope(role: Term, organisation: Organisation) -> tuple[list[Term], list[Term]]:
    """The role's default scope, without what the organisation's sector gets only by disclosure."""
    never = set(organisation.type.sector.never_by_scope)
    categories = {t.code: t for t in Term.objects.of("information_category")}
    read = [
        categories[c] for c in role.attributes.get("read", []) if c in categories and c not in never
    ]
    write = [
        categories[c]
        for c in role.attributes.get("write", [])
        if c in categories and c not in never
    ]
    return read, write


def _check_scope(organisation: Organisation, read: list[Term], write: list[Term]) -> None:
    errors: dict[str, list[str]] = {}
    never = set(organisation.type.sector.never_by_scope)
    forbidden = sorted({t.code for t in read} & never)
    if forbidden:
        errors["read"] = [
            _("%(categories)s reaches %(sector)s only by a recorded disclosure, never by scope.")
            % {"categories": ", ".join(forbidden), "sector": organisation.type.sector.label}
        ]
    if not {t.pk for t in write} <= {t.pk for t in read}:
        errors["write"] = [_("A participant can only write what it may read.")]
    if errors:
        raise ValidationError(errors)


def _set_scope(
    participant: Participant, read: list[Term], write: list[Term], *, reason: str, actor
) -> None:
    """Give a participant its scope and record the change with its reason."""
    participant.read_categories.set(read)
    participant.write_categories.set(write)
    ScopeChange.objects.create(
        participant=participant,
        read=sorted(t.code for t in read),
        write=sorted(t.code for t in write),
        reason=reason,
        actor=actor,
    )


def _check_people(organisation: Organisation, people) -> None:
    allowed = set(
        Membership.objects.active()
        .filter(organisation=organisation, role__in=CASE_WORK_ROLES, user__is_active=True)
        .values_list("user_id", flat=True)
    )
    strangers = [person for person in people if person.pk not in allowed]
    if strangers:
        raise ValidationError(
            {"members": [_("Only active staff of the participating organisation can be named.")]}
        )


def identity_index(first_name: str, last_name: str, date_of_birth: str) -> str:
    """The blind index of a person; empty unless both names are known."""

    if not (first_name.strip() and last_name.strip()):
        return ""
    return blind_index(first_name, last_name, date_of_birth)


def _next_number(owner: Organisation, year: int) -> str:
    state = next((r for r in owner.region.path() if r.level == "state"), owner.region)
    prefix = f"{state.code.split('-')[-1]}-{year}-"
    last = (
        Case.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return f"{prefix}{(int(last.rsplit('-', 1)[1]) + 1) if last else 1:04d}"


@transaction.atomic
def case_open(
    *,
    actor,
    owner: Organisation,
    pseudonym: str,
    referral=None,
    identity: dict | None = None,
) -> Case:
    """Open a case led by ``owner`` with the actor as lead worker (optionally from a referral)."""
    if (
        owner.pk not in organisations_with(actor, PARTNER_ROLES)
        or owner.type.sector.code not in COUNSELLING_SECTORS
    ):
        raise PermissionDenied(_("denied: cases are opened by staff of a counselling organisation"))
    if not pseudonym.strip():
        raise ValidationError({"pseudonym": [_("Give the person a pseudonym.")]})
    if referral is not None:
        if referral.partner_id != owner.pk or referral.status != "accepted":
            raise ValidationError(
                {"referral": [_("Only an accepted referral to this organisation opens a case.")]}
            )
        if Case.objects.filter(referral=referral).exists():
            raise ValidationError({"referral": [_("This referral has already opened a case.")]})
    identity = {k: v for k, v in (identity or {}).items() if v}
    unknown = set(identity) - set(Case.IDENTITY_FIELDS)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)}")
    now = timezone.now()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                case = Case.objects.create(
                    number=_next_number(owner, now.year),
                    owner=owner,
                    pseudonym=pseudonym.strip(),
                    referral=referral,
                    opened_at=now,
                    identity_index=identity_index(
                        identity.get("first_name", ""),
                        identity.get("last_name", ""),
                        identity.get("date_of_birth", ""),
                    ),
                    **identity,
                )
            break
        except IntegrityError:  # two cases took the same number at once: take the next
            continue
    else:  # pragma: no cover - five collisions in a row
        raise RuntimeError("could not allocate a case number")
    role = _lead_role()
    read, write = default_scope(role, owner)
    participant = Participant.objects.create(
        case=case,
        organisation=owner,
        role=role,
        lead_worker=actor,
        added_by=actor,
        reason=_("opened the case"),
    )
    participant.members.add(actor)
    _set_scope(participant, read, write, reason="default scope of the role", actor=actor)
    protocol.event_raise(actor=actor, case=case, code="case_opened")
    audit_record(
        actor=actor,
        action="cases.case.open",
        obj=case,
        details={"number": case.number, "referral": referral.pk if referral else None},
    )
    return case


@transaction.atomic
def case_update(
    *, actor, case: Case, phase: str | None = None, identity: dict | None = None
) -> Case:
    """The lead changes the phase or the person's identity data."""
    require(decide(actor, Action.CHANGE, case))
    changed = []
    if phase is not None and phase != case.phase:
        if phase not in Phase.values:
            raise ValidationError({"phase": [_("Unknown phase.")]})
        case.phase = phase
        changed.append("phase")
    for name, value in (identity or {}).items():
        if name not in {*Case.IDENTITY_FIELDS, "pseudonym"}:
            raise ValueError(f"cannot set {name}")
        if getattr(case, name) != value:
            setattr(case, name, value)
            changed.append(name)
    if changed:
        if {"first_name", "last_name", "date_of_birth"} & set(changed):
            case.identity_index = identity_index(
                case.first_name, case.last_name, case.date_of_birth
            )
            changed.append("identity_index")
        case.full_clean(exclude=["number"])
        case.save(update_fields=changed)
        audit_record(actor=actor, action="cases.case.update", obj=case, details={"fields": changed})
    return case


@transaction.atomic
def case_close(*, actor, case: Case, closing_reason: Term) -> Case:
    require(decide(actor, Action.CHANGE, case))
    if case.status == Case.Status.CLOSED:
        raise ValidationError({"status": [_("The case is already closed.")]})
    if closing_reason is None or closing_reason.kind != "case_closing_reason":
        raise ValidationError({"closing_reason": [_("Choose why the case is closed.")]})
    case.status, case.phase = Case.Status.CLOSED, Phase.CLOSURE
    case.closing_reason, case.closed_at = closing_reason, timezone.now()
    case.save(update_fields=["status", "phase", "closing_reason", "closed_at"])
    for transfer in Transfer.objects.filter(case=case, status=Transfer.Status.OPEN):
        _transfer_close(transfer, actor, Transfer.Status.WITHDRAWN, "cases.transfer.withdraw")
        _tell_receiving(transfer, *_WITHDRAWN_MAIL)
    audit_record(
        actor=actor, action="cases.case.close", obj=case, details={"reason": closing_reason.code}
    )
    protocol.event_raise(actor=actor, case=case, code="case_closed")
    return case


@transaction.atomic
def participant_add(
    *,
    actor,
    case: Case,
    organisation: Organisation,
    role: Term,
    members: list,
    valid_until: datetime | None = None,
    reason: str = "",
) -> Participant:
    """Bring an organisation into the case, with the role's default scope (a fast, normal step)."""
    require(decide(actor, Action.CHANGE, case))
    errors: dict[str, list[str]] = {}
    if role is None or role.kind != "case_role":
        errors["role"] = [_("Choose the organisation's role in the case.")]
    elif role.attributes.get("lead"):
        errors["role"] = [_("A case has one lead; hand the lead over instead.")]
    if not organisation.active:
        errors["organisation"] = [_("Choose an active organisation.")]
    if valid_until is not None and valid_until <= timezone.now():
        errors["valid_until"] = [_("The end must lie in the future.")]
    if not members:
        errors["members"] = [_("Name at least one person of the organisation.")]
    if Participant.objects.active().filter(case=case, organisation=organisation).exists():
        errors["organisation"] = [_("This organisation already takes part in the case.")]
    if errors:
        raise ValidationError(errors)
    _check_people(organisation, members)
    read, write = default_scope(role, organisation)
    participant = Participant.objects.create(
        case=case,
        organisation=organisation,
        role=role,
        lead_worker=members[0],
        added_by=actor,
        valid_until=valid_until,
        reason=reason.strip(),
    )
    participant.members.set(members)
    _set_scope(participant, read, write, reason="default scope of the role", actor=actor)
    protocol.event_raise(actor=actor, case=case, code="participant_added")
    audit_record(
        actor=actor,
        action="cases.participant.add",
        obj=participant,
        details={
            "case": case.number,
            "organisation": organisation.pk,
            "role": role.code,
            "until": valid_until.isoformat() if valid_until else None,
        },
    )
    return participant


@transaction.atomic
def participant_scope(
    *, actor, participant: Participant, read: list[Term], write: list[Term], reason: str
) -> Participant:
    """Change what a participant may read and write; the reason is recorded."""
    require(decide(actor, Action.CHANGE, participant.case))
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the scope changes.")]})
    if any(t.kind != "information_category" for t in [*read, *write]):
        raise ValidationError({"read": [_("Unknown information category.")]})
    _check_scope(participant.organisation, read, write)
    if set(read) == set(participant.read_categories.all()) and set(write) == set(
        participant.write_categories.all()
    ):
        return participant  # the same scope again: nothing changes, nothing is recorded
    _set_scope(participant, read, write, reason=reason.strip(), actor=actor)
    audit_record(
        actor=actor,
        action="cases.participant.scope",
        obj=participant,
        details={
            "case": participant.case.number,
            "read": sorted(t.code for t in read),
            "write": sorted(t.code for t in write),
        },
    )
    return participant


@transaction.atomic
def participant_end(*, actor, participant: Participant) -> Participant:
    require(decide(actor, Action.CHANGE, participant.case))
    if participant.role.attributes.get("lead"):
        raise ValidationError(
            {"participant": [_("The lead cannot leave; close the case or hand it over.")]}
        )
    if not participant.is_active:
        raise ValidationError({"participant": [_("This participation has already ended.")]})
    participant.valid_until = timezone.now()
    participant.save(update_fields=["valid_until"])
    audit_record(
        actor=actor,
        action="cases.participant.end",
        obj=participant,
        details={"case": participant.case.number},
    )
    return participant


@transaction.atomic
def handover(*, actor, participant: Participant, to_worker, note: str) -> Handover:
    """Hand a role in the case over to a colleague; the note is for them.

    The leaving worker is no longer a named person of the case (need to know).
    """
    lead_case = decide(actor, Action.CHANGE, participant.case)
    if actor.pk != participant.lead_worker_id:
        require(lead_case)
    if not note.strip():
        raise ValidationError({"note": [_("Write a handover note for your colleague.")]})
    if to_worker.pk == participant.lead_worker_id:
        raise ValidationError({"to_worker": [_("Choose somebody else.")]})
    _check_people(participant.organisation, [to_worker])
    record = Handover.objects.create(
        participant=participant,
        from_worker=participant.lead_worker,
        to_worker=to_worker,
        note=note.strip(),
        actor=actor,
    )
    if participant.lead_worker_id:
        participant.members.remove(participant.lead_worker_id)
    participant.members.add(to_worker)
    participant.lead_worker = to_worker
    participant.save(update_fields=["lead_worker"])
    audit_record(
        actor=actor,
        action="cases.participant.handover",
        obj=participant,
        details={
            "case": participant.case.number,
            "from": record.from_worker_id,
            "to": to_worker.pk,
        },
    )
    return record


@dataclass
class EntryData:
    kind: str
    category: Term
    title: str
    text: str = ""
    occurred_on: date | None = None
    likelihood: str = ""
    imminence: str = ""
    document: UploadedFile | None = None


@transaction.atomic
def entry_create(*, actor, case: Case, data: EntryData) -> Entry:
    """Record one piece of case information in exactly one category the actor may write."""
    errors: dict[str, list[str]] = {}
    if data.category is None or data.category.kind != "information_category":
        raise ValidationError({"category": [_("Choose the information category.")]})
    require(may_write(actor, case, data.category))
    if data.kind not in Entry.Kind.values:
        errors["kind"] = [_("Unknown kind of entry.")]
    elif data.kind == Entry.Kind.ASSESSMENT:
        errors["kind"] = [_("Record an outcome assessment in the section Outcomes.")]
    if not data.title.strip():
        errors["title"] = [_("Give the entry a title.")]
    if data.kind == Entry.Kind.RISK:
        if data.category.code != "risk_assessment":
            errors["category"] = [_("A risk judgement belongs to the category risk_assessment.")]
        if not data.likelihood:
            errors["likelihood"] = [_("Judge the likelihood.")]
        if not data.imminence:
            errors["imminence"] = [_("Judge the imminence.")]
        if not data.text.strip():
            errors["text"] = [_("Give the rationale for your judgement.")]
    elif data.likelihood or data.imminence:
        errors["kind"] = [_("Likelihood and imminence belong to a risk judgement.")]
    if data.kind == Entry.Kind.DOCUMENT:
        if data.document is None:
            errors["document"] = [_("Choose the file to upload.")]
        elif data.document.size > MAX_DOCUMENT_BYTES:
            errors["document"] = [_("The file is larger than 20 MB.")]
    elif data.document is not None:
        errors["document"] = [_("Only a document entry carries a file.")]
    if case.status == Case.Status.CLOSED:
        errors["case"] = [_("The case is closed.")]
    if errors:
        raise ValidationError(errors)
    seat_org = (
        Participant.objects.active()
        .filter(case=case, members=actor)
        .values_list("organisation_id", flat=True)
        .first()
    )
    entry = Entry(
        case=case,
        kind=data.kind,
        category=data.category,
        author=actor,
        author_organisation_id=seat_org,
        occurred_on=data.occurred_on or timezone.localdate(),
        title=data.title.strip(),
        text=data.text.strip(),
        likelihood=data.likelihood,
        imminence=data.imminence,
        document_name=(data.document.name[:200] if data.document else ""),
    )
    if data.document is not None:
        # A random name: the file on disk says nothing about the case or the person.
        entry.document.save(secrets.token_hex(16), data.document, save=False)
    entry.full_clean()
    entry.save()
    audit_record(
        actor=actor,
        action="cases.entry.create",
        obj=entry,
        details={"case": case.number, "kind": entry.kind, "category": data.category.code},
    )
    if entry.kind == Entry.Kind.RISK:
        protocol.event_raise(
            actor=actor,
            case=case,
            code="risk_judgement_recorded",
            likelihood=entry.likelihood,
            imminence=entry.imminence,
            entry=entry,
        )
    return entry


@transaction.atomic
def goal_add(
    *,
    actor,
    case: Case,
    horizon: str = "",
    title: str = "",
    target_date: date | None = None,
    template: Term | str | None = None,
) -> Goal:
    """A goal of the case plan; taken from a template, its title and horizon default to the
    template's (a template ties the goal to an outcome dimension)."""
    category = Term.objects.of("information_category").get(code="case_coordination")
    require(may_write(actor, case, category))
    if isinstance(template, str):
        found = Term.objects.of("goal_template").filter(code=template).first() if template else None
        if template and found is None:
            raise ValidationError({"template": [_("Choose one of the goal templates.")]})
        template = found
    elif template is not None and template.kind != "goal_template":
        raise ValidationError({"template": [_("Choose one of the goal templates.")]})
    if template is not None:
        horizon = horizon or template.attributes.get("horizon", "")
        title = title.strip() or template.label
    if horizon not in Goal.Horizon.values:
        raise ValidationError({"horizon": [_("Choose interim or long-term.")]})
    if not title.strip():
        raise ValidationError({"title": [_("Describe the goal.")]})
    goal = Goal.objects.create(
        case=case,
        horizon=horizon,
        title=title.strip(),
        target_date=target_date,
        template=template,
        created_by=actor,
    )
    audit_record(actor=actor, action="cases.goal.add", obj=goal, details={"case": case.number})
    return goal


@transaction.atomic
def goal_status(*, actor, goal: Goal, status: str) -> Goal:
    category = Term.objects.of("information_category").get(code="case_coordination")
    require(may_write(actor, goal.case, category))
    if status not in Goal.Status.values:
        raise ValidationError({"status": [_("Unknown status.")]})
    if goal.status == status:
        return goal
    goal.status = status
    goal.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="cases.goal.status",
        obj=goal,
        details={"case": goal.case.number, "status": status},
    )
    return goal


@transaction.atomic
def related_person_add(
    *, actor, case: Case, relation: Term, name: str, phone: str = "", note: str = ""
):
    identity = Term.objects.of("information_category").get(code="identity")
    require(may_write(actor, case, identity))
    if not name.strip():
        raise ValidationError({"name": [_("Enter the name.")]})
    person = RelatedPerson.objects.create(
        case=case, relation=relation, name=name.strip(), phone=phone.strip(), note=note.strip()
    )
    audit_record(
        actor=actor, action="cases.related_person.add", obj=person, details={"case": case.number}
    )
    return person


@transaction.atomic
def conference_create(
    *, actor, case: Case, held_on: date, title: str, attendees: list[Participant]
) -> Conference:
    require(may_contribute(actor, case))
    if not title.strip():
        raise ValidationError({"title": [_("Give the conference a title.")]})
    if any(p.case_id != case.pk for p in attendees):
        raise ValidationError({"attendees": [_("Only participants of this case attend.")]})
    conference = Conference.objects.create(
        case=case, held_on=held_on, title=title.strip(), created_by=actor
    )
    conference.attendees.set(attendees)
    audit_record(
        actor=actor, action="cases.conference.create", obj=conference, details={"case": case.number}
    )
    return conference


@transaction.atomic
def conference_item_add(
    *,
    actor,
    conference: Conference,
    kind: str,
    category: Term,
    text: str,
    owner=None,
    due_on: date | None = None,
) -> ConferenceItem:
    """Add an agenda point, minute, decision or action item in a category the actor may write."""
    if category is None or category.kind != "information_category":
        raise ValidationError({"category": [_("Choose the information category.")]})
    require(may_write(actor, conference.case, category))
    errors: dict[str, list[str]] = {}
    if kind not in ConferenceItem.Kind.values:
        errors["kind"] = [_("Unknown kind of item.")]
    if not text.strip():
        errors["text"] = [_("Write the item.")]
    if kind == ConferenceItem.Kind.ACTION and owner is None:
        errors["owner"] = [_("An action item needs an owner.")]
    if errors:
        raise ValidationError(errors)
    seat_org = (
        Participant.objects.active()
        .filter(case=conference.case, members=actor)
        .values_list("organisation_id", flat=True)
        .first()
    )
    item = ConferenceItem.objects.create(
        conference=conference,
        kind=kind,
        category=category,
        text=text.strip(),
        owner=owner,
        due_on=due_on,
        author=actor,
        author_organisation_id=seat_org,
    )
    audit_record(
        actor=actor,
        action="cases.conference_item.add",
        obj=item,
        details={"case": conference.case.number, "kind": kind, "category": category.code},
    )
    return item


# --- staff safety -----------------------------------------------------------------------

WARNING_REVIEW_DAYS = (1, 183)  # a warning is reviewed between tomorrow and half a year


def _review_date(review_on: date | None) -> dict[str, list[str]]:
    today = timezone.localdate()
    first, last = (today + timedelta(days=n) for n in WARNING_REVIEW_DAYS)
    if review_on is None or not first <= review_on <= last:
        return {
            "review_on": [
                _("Choose a review date between %(first)s and %(last)s.")
                % {
                    "first": date_format(first, "SHORT_DATE_FORMAT"),
                    "last": date_format(last, "SHORT_DATE_FORMAT"),
                }
            ]
        }
    return {}


@transaction.atomic
def safety_warning_set(
    *, actor, case: Case, kind: str, note: str, reason: str, review_on: date | None
) -> SafetyWarning:
    """Any participant who works on the case (the police liaison too) warns every other:
    the precaution for all, the reason for its own organisation and the lead."""
    require(may_contribute(actor, case))
    participant = seat_participant(actor, case)
    errors = _review_date(review_on)
    if kind not in SafetyWarning.Kind.values:
        errors["kind"] = [_("Choose the precaution.")]
    elif kind == SafetyWarning.Kind.OTHER and not note.strip():
        errors["note"] = [_("Describe the precaution in the note.")]
    if len(note.strip()) > 200:
        errors["note"] = [_("At most 200 characters: the precaution, not what lies behind it.")]
    if not reason.strip():
        errors["reason"] = [_("Give the reason (your organisation and the lead see it).")]
    if errors:
        raise ValidationError(errors)
    warning = SafetyWarning.objects.create(
        case=case,
        kind=kind,
        note=note.strip(),
        reason=reason.strip()[:500],
        participant=participant,
        set_by=actor,
        review_on=review_on,
    )
    audit_record(
        actor=actor,
        action="cases.warning.set",
        obj=warning,
        details={"case": case.number, "kind": kind, "organisation": participant.organisation_id},
    )
    return warning


def _require_manage(actor, warning: SafetyWarning) -> None:
    require(may_contribute(actor, warning.case))  # an emergency access says so
    if not selectors.may_manage_warning(actor, warning):
        raise PermissionDenied(
            _("denied: only the organisation that set the warning or the lead may change it")
        )


@transaction.atomic
def safety_warning_review(
    *, actor, warning: SafetyWarning, review_on: date | None
) -> SafetyWarning:
    """Reviewed: the warning still holds until the next review."""
    _require_manage(actor, warning)
    if warning.ended_at is not None:
        raise ValidationError({"review_on": [_("This warning has ended.")]})
    errors = _review_date(review_on)
    if errors:
        raise ValidationError(errors)
    warning.review_on = review_on
    warning.save(update_fields=["review_on"])
    audit_record(
        actor=actor,
        action="cases.warning.review",
        obj=warning,
        details={"case": warning.case.number, "review_on": review_on.isoformat()},
    )
    return warning


@transaction.atomic
def safety_warning_end(*, actor, warning: SafetyWarning) -> SafetyWarning:
    _require_manage(actor, warning)
    ended = SafetyWarning.objects.filter(pk=warning.pk, ended_at__isnull=True).update(
        ended_at=timezone.now(), ended_by=actor
    )
    if not ended:
        raise ValidationError({"warning": [_("This warning has ended.")]})
    warning.refresh_from_db()
    audit_record(
        actor=actor,
        action="cases.warning.end",
        obj=warning,
        details={"case": warning.case.number, "kind": warning.kind},
    )
    return warning


# --- transfer to another organisation ----------------------------------------------------


def _mail_on_commit(people, subject, body, params: dict) -> None:
    """Mail each person in their own language once the transaction commits. ``subject``
    and ``body`` are lazy texts whose ``params`` name the case number only: a mail carries
    no content and no identity."""
    by_language: dict[str, set[str]] = {}
    for person in people:
        if person.email:
            language = person.language or settings.LANGUAGE_CODE
            by_language.setdefault(language, set()).add(person.email)
    if not by_language:
        return

    def send() -> None:
        for language, addresses in sorted(by_language.items()):
            with translation.override(language):
                send_mail(
                    str(subject) % params,
                    str(body) % params,
                    None,
                    sorted(addresses),
                    fail_silently=True,
                )

    transaction.on_commit(send)


def _receiving_staff(organisation_id: int) -> list:
    """The receiving organisation's partner counsellors and coordinators, active now."""
    return [
        membership.user
        for membership in Membership.objects.active()
        .filter(organisation_id=organisation_id, role__in=PARTNER_ROLES, user__is_active=True)
        .select_related("user")
    ]


def _tell_receiving(transfer: Transfer, subject, body) -> None:
    people = {user.pk: user for user in _receiving_staff(transfer.to_organisation_id)}
    _mail_on_commit(people.values(), subject, body, {"number": transfer.case.number})


_PROPOSED_MAIL = (
    gettext_lazy("casebridge: %(number)s – a case transfer waits for your decision"),
    gettext_lazy(
        "The lead organisation of case %(number)s proposes to transfer the case to your "
        "organisation. Open casebridge (Tasks, then “Case transfers”) to accept or decline it."
    ),
)
_WITHDRAWN_MAIL = (
    gettext_lazy("casebridge: %(number)s – a case transfer was withdrawn"),
    gettext_lazy(
        "The transfer of case %(number)s to your organisation was withdrawn; nothing waits "
        "for your decision any more."
    ),
)
_ACCEPTED_MAIL = (
    gettext_lazy("casebridge: %(number)s – your transfer was accepted"),
    gettext_lazy(
        "The receiving organisation accepted the transfer of case %(number)s and now leads "
        "it. Your organisation keeps a seat in the case until %(until)s for the handover."
    ),
)
_DECLINED_MAIL = (
    gettext_lazy("casebridge: %(number)s – your transfer was declined"),
    gettext_lazy(
        "The receiving organisation declined the transfer of case %(number)s; your "
        "organisation still leads it. Open the case in casebridge to read the reason."
    ),
)


def _one_open_transfer() -> str:
    return _("This case already has an open transfer: withdraw it before proposing another.")


def _handover_role(organisation: Organisation) -> Term:
    """The role the sender keeps during the handover: the model's first non-lead role
    taken by organisations of its sector (co-counselling in the German model)."""
    sector = organisation.type.sector.code
    for role in Term.objects.of("case_role").order_by("position", "pk"):
        if not role.attributes.get("lead") and sector in role.attributes.get("sectors", []):
            return role
    raise ValidationError(
        {"case": [_("The cooperation model has no counselling role to hand a case over in.")]}
    )


@transaction.atomic
def transfer_propose(
    *,
    actor,
    case: Case,
    to_organisation: Organisation | None,
    region: Region | None,
    reason: str,
    consent_note: str = "",
    legal_basis: Term | None = None,
    justification: str = "",
    handover_days: int | None = Transfer.DEFAULT_HANDOVER_DAYS,
) -> Transfer:
    """The lead proposes to move the case to another counselling organisation that serves
    the region where the person now lives, on the person's consent (how it was given) or
    a legal basis with a written justification. Nothing changes hands until the receiving
    organisation accepts; its staff hear by mail that a transfer waits."""
    require(decide(actor, Action.CHANGE, case))
    errors: dict[str, list[str]] = {}
    if case.status == Case.Status.CLOSED:
        errors["case"] = [_("A closed case cannot be transferred.")]
    elif Transfer.objects.filter(case=case, status=Transfer.Status.OPEN).exists():
        errors["case"] = [_one_open_transfer()]
    if to_organisation is None:
        errors["to_organisation"] = [_("Choose the organisation that is to take the case over.")]
    elif to_organisation.pk == case.owner_id:
        errors["to_organisation"] = [_("Your organisation leads this case already.")]
    elif (
        not to_organisation.active
        or to_organisation.is_hotline
        or to_organisation.type.sector.code not in COUNSELLING_SECTORS
    ):
        errors["to_organisation"] = [
            _("A case moves only to an active counselling organisation of the network.")
        ]
    if region is None or not region.active or region.level not in ("state", "district"):
        errors["region"] = [_("Choose the federal state or district where the person now lives.")]
    elif "to_organisation" not in errors and not to_organisation.covers(region):
        errors["to_organisation"] = [
            _(
                "%(organisation)s does not counsel in %(region)s. Choose an organisation that "
                "serves the region where the person now lives."
            )
            % {"organisation": to_organisation.name, "region": region.label}
        ]
    if not reason.strip():
        errors["reason"] = [_("Say why the case moves to another organisation.")]
    if consent_note.strip() and legal_basis is not None:
        errors["legal_basis"] = [
            _("Give either how the person consented or a legal basis, not both.")
        ]
    elif legal_basis is not None:
        if legal_basis.kind != "legal_basis":
            errors["legal_basis"] = [_("Choose a legal basis of the cooperation model.")]
        elif legal_basis.attributes.get("kind") == "consent":
            errors["legal_basis"] = [
                _("A transfer on consent needs the person's consent: say how it was given.")
            ]
        elif not justification.strip():
            errors["justification"] = [
                _("Without consent, write the justification: why the case moves on this basis.")
            ]
    elif not consent_note.strip():
        errors["consent_note"] = [
            _(
                "Say how the person consented to the transfer, or choose a legal basis and "
                "justify it in writing."
            )
        ]
    first, last = Transfer.HANDOVER_DAYS
    if (
        not isinstance(handover_days, int)
        or isinstance(handover_days, bool)
        or not first <= handover_days <= last
    ):
        errors["handover_days"] = [
            _("Choose a handover period between %(first)s and %(last)s days.")
            % {"first": first, "last": last}
        ]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            transfer = Transfer.objects.create(
                case=case,
                from_organisation_id=case.owner_id,
                to_organisation=to_organisation,
                region=region,
                reason=reason.strip()[:500],
                consent_note=consent_note.strip()[:300] if legal_basis is None else "",
                legal_basis=legal_basis,
                justification=justification.strip() if legal_basis is not None else "",
                handover_days=handover_days,
                proposed_by=actor,
            )
    except IntegrityError:  # another transfer of the case was proposed at the same moment
        raise ValidationError({"case": [_one_open_transfer()]}) from None
    audit_record(
        actor=actor,
        action="cases.transfer.propose",
        obj=transfer,
        details={
            "case": case.number,
            "from": case.owner_id,
            "to": to_organisation.pk,
            "legal_basis": legal_basis.pk if legal_basis else None,
            "handover_days": handover_days,
        },
    )
    _tell_receiving(transfer, *_PROPOSED_MAIL)
    return transfer


def _require_transfer(actor, transfer: Transfer, action: str, audit_action: str) -> None:
    """The actor may do ``action`` on the transfer; checked before the write's transaction,
    so that a refusal is recorded (and not rolled back with it)."""
    decision = decide(actor, action, transfer)
    if not decision:
        audit_denied(
            actor=actor,
            action=audit_action,
            object_type="cases.transfer",
            object_id=transfer.pk,
            reason=decision,
        )
    require(decision)


def _transfer_close(transfer: Transfer, actor, status: str, action: str, **values) -> Transfer:
    """Close an open transfer once: a second answer at the same moment finds it closed."""
    now = values.pop("decided_at", None) or timezone.now()
    closed = Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.OPEN).update(
        status=status, decided_by=actor, decided_at=now, **values
    )
    if not closed:
        raise ValidationError({"status": [_("This transfer is no longer open.")]})
    transfer.status, transfer.decided_by, transfer.decided_at = status, actor, now
    for name, value in values.items():
        setattr(transfer, name, value)
    audit_record(
        actor=actor,
        action=action,
        obj=transfer,
        details={
            "case": transfer.case.number,
            "from": transfer.from_organisation_id,
            "to": transfer.to_organisation_id,
        },
    )
    return transfer


def transfer_withdraw(*, actor, transfer: Transfer) -> Transfer:
    """The lead takes an open transfer back; the receiving organisation is told by mail."""
    _require_transfer(actor, transfer, Action.CHANGE, "cases.transfer.withdraw")
    with transaction.atomic():
        _transfer_close(transfer, actor, Transfer.Status.WITHDRAWN, "cases.transfer.withdraw")
        _tell_receiving(transfer, *_WITHDRAWN_MAIL)
    return transfer


def transfer_decline(*, actor, transfer: Transfer, reason: str) -> Transfer:
    """The receiving organisation declines, saying why; the sender still leads the case
    and hears the decision by mail."""
    _require_transfer(actor, transfer, Action.RESPOND, "cases.transfer.decline")
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why your organisation declines the case.")]})
    with transaction.atomic():
        _transfer_close(
            transfer,
            actor,
            Transfer.Status.DECLINED,
            "cases.transfer.decline",
            decline_reason=reason.strip()[:500],
        )
        _mail_on_commit([transfer.proposed_by], *_DECLINED_MAIL, {"number": transfer.case.number})
    return transfer


def _check_lead_worker(organisation: Organisation, lead_worker) -> None:
    try:
        if lead_worker is None:
            raise ValidationError("no lead worker")
        _check_people(organisation, [lead_worker])
    except ValidationError:
        raise ValidationError(
            {"lead_worker": [_("Name the new lead worker among your organisation's active staff.")]}
        ) from None


def transfer_accept(*, actor, transfer: Transfer, lead_worker) -> Transfer:
    """The receiving organisation takes the case over, at once and all or nothing.

    The case keeps its number and its whole history (entries, events, disclosures,
    obligations). The receiving organisation becomes its owner and lead, with the lead
    role's default scope and ``lead_worker`` as the lead worker. The sender's participation
    loses the lead: it keeps the model's counselling role with that role's default scope
    for the handover period, then ends by itself. Open obligations are judged again
    under the receiving organisation's procedure (``protocol.obligations_follow_lead``).
    """
    _require_transfer(actor, transfer, Action.RESPOND, "cases.transfer.accept")
    with transaction.atomic():
        return _transfer_accept(actor, transfer, lead_worker)


def _transfer_accept(actor, transfer: Transfer, lead_worker) -> Transfer:
    case = (
        Case.objects.select_for_update()
        .select_related("owner__type__sector")
        .get(pk=transfer.case_id)
    )
    if transfer.status != Transfer.Status.OPEN:
        raise ValidationError({"status": [_("This transfer is no longer open.")]})
    if case.status == Case.Status.CLOSED or case.owner_id != transfer.from_organisation_id:
        raise ValidationError({"case": [_("The case was closed or handed on meanwhile.")]})
    receiving = transfer.to_organisation
    _check_lead_worker(receiving, lead_worker)
    lead_role = _lead_role()
    sending = (
        Participant.objects.active()
        .filter(case=case, organisation_id=transfer.from_organisation_id, role=lead_role)
        .select_related("organisation__type__sector")
        .order_by("-pk")
        .first()
    )
    now = timezone.now()
    until = now + timedelta(days=transfer.handover_days)
    _transfer_close(
        transfer,
        actor,
        Transfer.Status.ACCEPTED,
        "cases.transfer.accept",
        decided_at=now,
        lead_worker=lead_worker,
    )
    if sending is not None:
        handover_role = _handover_role(sending.organisation)
        sending.role, sending.valid_until = handover_role, until
        sending.save(update_fields=["role", "valid_until"])
        read, write = default_scope(handover_role, sending.organisation)
        _set_scope(sending, read, write, reason="handover after the transfer", actor=actor)
    # a participation the receiving organisation had (co-counselling, say) gives way to
    # the lead: one organisation, one seat
    for earlier in Participant.objects.active().filter(case=case, organisation=receiving):
        if earlier.valid_from < now:
            earlier.valid_until = now
            earlier.save(update_fields=["valid_until"])
    read, write = default_scope(lead_role, receiving)
    lead = Participant.objects.create(
        case=case,
        organisation=receiving,
        role=lead_role,
        lead_worker=lead_worker,
        added_by=actor,
        valid_from=now,
        reason=_("took the case over by transfer")[:300],
    )
    lead.members.add(lead_worker)
    _set_scope(lead, read, write, reason="default scope of the role", actor=actor)
    case.owner = receiving
    case.save(update_fields=["owner"])
    Transfer.objects.filter(pk=transfer.pk).update(from_participant=sending, to_participant=lead)
    transfer.from_participant, transfer.to_participant = sending, lead
    moved, cancelled = protocol.obligations_follow_lead(
        actor=actor, case=case, responsible=lead_worker
    )
    audit_record(
        actor=actor,
        action="cases.case.transfer",
        obj=case,
        details={
            "number": case.number,
            "transfer": transfer.pk,
            "from": transfer.from_organisation_id,
            "to": receiving.pk,
            "lead": lead.pk,
            "handover": sending.pk if sending else None,
            "handover_until": until.isoformat(),
            "obligations_moved": len(moved),
            "obligations_cancelled": len(cancelled),
        },
    )
    # the procedure of the receiving side reacts to the transfer (Germany: the new lead
    # briefs every other participant)
    protocol.event_raise(actor=actor, case=case, code="case_transferred")
    _mail_on_commit(
        [transfer.proposed_by],
        *_ACCEPTED_MAIL,
        {
            "number": case.number,
            # a date in every language (the mail is written in the reader's)
            "until": timezone.localtime(until).date().isoformat(),
        },
    )
    return transfer


# --- outside professionals invited to one case ----------------------------------------------


def _invitation_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(
    *,
    actor,
    case: Case,
    organisation: Organisation | None,
    role: Term | None,
    name: str,
    email: str,
    until: date | None,
    link: str,
) -> Invitation:
    """The lead invites a named outside professional of ``organisation`` to this case until
    ``until``. If the organisation takes part already, the guest is named in its
    participation; otherwise it joins on acceptance in ``role`` (one suited to its type)
    with the role's default scope. ``link`` is the address of the acceptance page without
    the secret; the mail carries link and secret, the database only the secret's digest."""
    require(decide(actor, Action.CHANGE, case))
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if case.status == Case.Status.CLOSED:
        errors["case"] = [_("A closed case takes no new participants.")]
    if organisation is None or not organisation.active:
        errors["organisation"] = [
            _("Choose an active organisation of the directory (or propose a missing one).")
        ]
    existing = (
        Participant.objects.active().filter(case=case, organisation=organisation).first()
        if organisation is not None
        else None
    )
    if existing is None and organisation is not None and organisation.active:
        if role is None or role.kind != "case_role":
            errors["role"] = [_("Choose the organisation's role in the case.")]
        elif role.attributes.get("lead"):
            errors["role"] = [_("A guest never leads a case.")]
        elif role.attributes.get("sectors") and (
            organisation.type.sector.code not in role.attributes["sectors"]
        ):
            errors["role"] = [_("This role is not for an organisation of this kind.")]
    name, email = name.strip(), email.strip().lower()
    if not name:
        errors["name"] = [_("Give the professional's name.")]
    elif len(name) > 200:
        errors["name"] = [_("At most %(n)d characters.") % {"n": 200}]
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [_("Give a valid e-mail address.")]
    if until is None or until <= today:
        errors["until"] = [_("The end must lie in the future.")]
    elif until > today + timedelta(days=Invitation.MAX_DAYS):
        errors["until"] = [
            _("A guest takes part for at most %(days)d days.") % {"days": Invitation.MAX_DAYS}
        ]
    if errors:
        raise ValidationError(errors)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        case=case,
        organisation=organisation,
        role=existing.role if existing else role,
        participant=existing,
        name=name,
        email=email,
        until=until,
        token_digest=_invitation_digest(token),
        link_expires_at=timezone.now() + timedelta(days=Invitation.LINK_DAYS),
        invited_by=actor,
    )
    audit_record(
        actor=actor,
        action="cases.invitation.create",
        obj=invitation,
        details={
            "case": case.number,
            "organisation": organisation.pk,
            "role": invitation.role.code,
            "until": until.isoformat(),
        },
    )
    number, inviter = case.number, organisation.name
    sender = actor.get_full_name() or actor.username
    expires = date_format(timezone.localtime(invitation.link_expires_at), "SHORT_DATETIME_FORMAT")
    address = f"{link}{token}/"
    transaction.on_commit(
        lambda: send_mail(
            f"casebridge: invitation to case {number}",
            f"{sender} invites you, for {inviter}, to take part in case {number} in casebridge "
            f"until {until:%Y-%m-%d}.\n\nOpen this link to set your password and a second "
            f"factor. It works once, until {expires}:\n\n{address}\n\nIf you did not expect "
            "this invitation, ignore this mail.",
            None,
            [email],
            fail_silently=True,
        )
    )
    return invitation


def invitation_open(token: str) -> Invitation:
    """The invitation a link names, while it may still be accepted; a clear error when it was
    used, withdrawn or has expired (the same for a link that never existed)."""
    invitation = (
        Invitation.objects.select_related("case", "organisation__type__sector", "role")
        .filter(token_digest=_invitation_digest(token[:100]))
        .first()
    )
    if invitation is None or not invitation.link_open:
        raise ValidationError(
            {
                "token": [
                    _(
                        "This invitation link was used already, was withdrawn or has expired. "
                        "Ask the person who invited you for a new one."
                    )
                ]
            }
        )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, username: str, password: str, language: str = ""):
    """The professional follows the link once: an account with a password (the second
    factor is set up at the first sign-in, which follows), a guest membership of the
    organisation until the invitation's end, and a name in its participation of the case."""
    invitation = invitation_open(token)
    # one acceptance per link, even when two arrive at once
    if not Invitation.objects.select_for_update().get(pk=invitation.pk).link_open:
        raise ValidationError({"token": [_("This invitation link was used already.")]})
    case = invitation.case
    errors: dict[str, list[str]] = {}
    if case.status == Case.Status.CLOSED or not invitation.organisation.active:
        errors["token"] = [_("The case or the organisation is closed; the invitation lapsed.")]
    username = username.strip()
    user = User(
        username=username,
        # the language the professional read the invitation page in
        language=language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE,
        email=invitation.email,
        first_name=invitation.name.rsplit(" ", 1)[0][:150],
        last_name=invitation.name.rsplit(" ", 1)[-1][:150] if " " in invitation.name else "",
    )
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        for field, messages_ in exc.message_dict.items():
            if field in ("username", "email"):
                errors.setdefault("username" if field == "username" else "token", []).extend(
                    messages_
                )
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    until = local_midnight(invitation.until + timedelta(days=1))  # the end of that day
    Membership.objects.create(
        user=user, organisation=invitation.organisation, role=Role.GUEST, valid_until=until
    )
    participant = (
        Participant.objects.active().filter(case=case, organisation=invitation.organisation).first()
    )
    if participant is None:
        read, write = default_scope(invitation.role, invitation.organisation)
        participant = Participant.objects.create(
            case=case,
            organisation=invitation.organisation,
            role=invitation.role,
            lead_worker=user,
            added_by=invitation.invited_by,
            valid_until=until,
            reason=_("invited professional"),
        )
        _set_scope(
            participant,
            read,
            write,
            reason="default scope of the role",
            actor=invitation.invited_by,
        )
        protocol.event_raise(actor=user, case=case, code="participant_added")
    participant.members.add(user)
    invitation.status, invitation.user = Invitation.Status.ACCEPTED, user
    invitation.participant, invitation.accepted_at = participant, timezone.now()
    invitation.save(update_fields=["status", "user", "participant", "accepted_at"])
    audit_record(
        actor=user,
        action="cases.invitation.accept",
        obj=invitation,
        details={
            "case": case.number,
            "organisation": invitation.organisation_id,
            "participant": participant.pk,
            "invited_by": invitation.invited_by_id,
        },
    )
    return user


@transaction.atomic
def invitation_end(*, actor, invitation: Invitation) -> Invitation:
    """The lead withdraws an invitation not yet accepted, or ends a guest's part in the case
    now: the guest's membership ends, and with it the seat (and the participation, when
    the guest was its only named person)."""
    require(decide(actor, Action.CHANGE, invitation.case))
    now = timezone.now()
    if invitation.status == Invitation.Status.SENT:
        invitation.status = Invitation.Status.REVOKED
    elif invitation.status == Invitation.Status.ACCEPTED:
        invitation.status = Invitation.Status.ENDED
        Membership.objects.active().filter(
            user_id=invitation.user_id, organisation=invitation.organisation, role=Role.GUEST
        ).update(valid_until=now)
        participant = invitation.participant
        if participant is not None:
            participant.members.remove(invitation.user_id)
            # a participation that named only the guest (it came with the invitation) ends
            # with them, rather than stay in the case with nobody behind it
            if participant.is_active and not participant.members.exists():
                participant.valid_until = now
                participant.save(update_fields=["valid_until"])
    else:
        raise ValidationError({"status": [_("This invitation has ended already.")]})
    invitation.ended_at = now
    invitation.save(update_fields=["status", "ended_at"])
    audit_record(
        actor=actor,
        action="cases.invitation.end",
        obj=invitation,
        details={"case": invitation.case.number, "status": invitation.status},
    )
    return invitation


def case_visit(*, actor, case: Case, opened: bool) -> datetime | None:
    """The time the actor had last opened the case before this visit ("new since your last
    visit"). ``opened``: the page is opened now (a full load) — the visit moves on; a
    section swapped in later keeps the same mark. Nothing is audited: no content."""
    if not getattr(actor, "is_authenticated", False):
        return None
    visit = CaseVisit.objects.filter(user=actor, case=case).first()
    if not opened:
        return visit.previous_seen_at if visit else None
    now = timezone.now()
    if visit is None:
        CaseVisit.objects.create(user=actor, case=case, seen_at=now)
        return None
    CaseVisit.objects.filter(pk=visit.pk).update(previous_seen_at=visit.seen_at, seen_at=now)
    return visit.seen_at
