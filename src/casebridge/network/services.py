"""Writes for the network directory; each audited in its transaction."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casebridge.accounts.models import Role
from casebridge.accounts.permissions import active_roles
from casebridge.audit.services import audit_record
from casebridge.changes import assign_changes
from casebridge.network.models import (
    ActionItem,
    ContactPoint,
    Decision,
    Invitation,
    Lesson,
    LessonTag,
    Meeting,
    Organisation,
)
from casebridge.network.selectors import (
    PostcodeError,
    can_manage_meeting,
    invitable_users,
    region_for_postcode,
)

ORGANISATION_FIELDS = (
    "name",
    "short_name",
    "type",
    "governance",
    "description",
    "street",
    "postcode",
    "city",
    "phone",
    "email",
    "website",
    "active",
)


def _locate(organisation: Organisation) -> None:
    """Derive region and coordinates from the postcode; name the field when it fails."""
    try:
        place = region_for_postcode(organisation.postcode)
    except PostcodeError as exc:
        raise ValidationError({"postcode": str(exc)}) from None
    organisation.region = place.region
    if place.latitude is not None:
        organisation.latitude, organisation.longitude = place.latitude, place.longitude


def _unique_code(name: str) -> str:
    base = slugify(name)[:56] or "organisation"
    code, number = base, 1
    while Organisation.objects.filter(code=code).exists():
        number += 1
        code = f"{base}-{number}"
    return code


@transaction.atomic
def organisation_create(*, actor, **fields) -> Organisation:
    """Add an organisation to the network (one not declared in the model file)."""
    values = {name: fields[name] for name in ORGANISATION_FIELDS if name in fields}
    organisation = Organisation(**values)
    _locate(organisation)
    organisation.code = _unique_code(organisation.name)
    organisation.full_clean()
    organisation.save()
    audit_record(actor=actor, action="network.organisation.create", obj=organisation)
    return organisation


@transaction.atomic
def organisation_update(*, actor, organisation: Organisation, **fields) -> Organisation:
    """Change an organisation's details; only the given fields, only if they differ."""
    changed = assign_changes(organisation, fields, allowed=ORGANISATION_FIELDS)
    if not changed:
        return organisation
    if "postcode" in changed:
        _locate(organisation)
        changed += ["region", "latitude", "longitude"]
    organisation.full_clean()
    organisation.save(update_fields=changed)
    audit_record(
        actor=actor,
        action="network.organisation.update",
        obj=organisation,
        details={"fields": sorted(set(changed))},
    )
    return organisation


@transaction.atomic
def contact_point_create(
    *, actor, organisation: Organisation, function: str, person=None, name="", phone="", email=""
) -> ContactPoint:
    """Name the contact person an organisation offers for this work."""
    if person is None and not name.strip():
        raise ValidationError({"person": _("Choose a person or enter a name.")})
    if (
        person is not None
        and not person.memberships.active().filter(organisation=organisation).exists()
    ):
        raise ValidationError({"person": _("This person does not work for the organisation.")})
    point = ContactPoint(
        organisation=organisation,
        function=function.strip(),
        person=person,
        name="" if person else name.strip(),
        phone=phone.strip(),
        email=email.strip(),
    )
    point.full_clean()
    point.save()
    audit_record(
        actor=actor,
        action="network.contact_point.create",
        obj=point,
        details={"organisation": organisation.pk},
    )
    return point


@transaction.atomic
def contact_point_end(*, actor, point: ContactPoint) -> ContactPoint:
    """End a contact point today (the person left or the function moved)."""
    if point.until is not None:
        raise ValidationError({"until": _("This contact point has already ended.")})
    point.until = timezone.localdate()
    point.save(update_fields=["until"])
    audit_record(actor=actor, action="network.contact_point.end", obj=point)
    return point


# --- meetings and action items (issue 8) -------------------------------------------------

MEETING_FIELDS = (
    "title",
    "kind",
    "starts_at",
    "ends_at",
    "location",
    "agenda",
    "minutes",
    "status",
)


def _require_member(actor) -> None:

    if not active_roles(actor):
        raise PermissionDenied(_("Only members of the network organise meetings."))


def _require_manager(actor, meeting) -> None:

    if not can_manage_meeting(actor, meeting):
        raise PermissionDenied(_("Only the organiser or a coordinator changes this meeting."))


def _check_times(meeting) -> None:
    if meeting.starts_at and meeting.ends_at and meeting.ends_at <= meeting.starts_at:
        raise ValidationError({"ends_at": _("The meeting must end after it starts.")})


def _check_invitees(invitees) -> None:

    allowed = set(
        invitable_users().filter(pk__in=[u.pk for u in invitees]).values_list("pk", flat=True)
    )
    if any(u.pk not in allowed for u in invitees):
        raise ValidationError({"invitees": _("Invite only people with a role in the network.")})


@transaction.atomic
def meeting_create(
    *,
    actor,
    title: str,
    kind: str,
    starts_at,
    ends_at,
    location: str = "",
    agenda: str = "",
    invitees=(),
) -> Meeting:
    """Plan a meeting and invite people (the organiser is invited too)."""
    _require_member(actor)
    meeting = Meeting(
        title=title.strip(),
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location.strip(),
        agenda=agenda.strip(),
        organiser=actor,
    )
    _check_times(meeting)
    meeting.full_clean(exclude=["organiser"])
    invitees = list(invitees)
    _check_invitees(invitees)
    meeting.save()
    people = {u.pk: u for u in [actor, *invitees]}
    Invitation.objects.bulk_create(
        [
            Invitation(
                meeting=meeting,
                user=user,
                response=Invitation.Response.ACCEPTED if user.pk == actor.pk else "pending",
            )
            for user in people.values()
        ]
    )
    audit_record(
        actor=actor,
        action="network.meeting.create",
        obj=meeting,
        details={"kind": kind, "invited": len(people)},
    )
    return meeting


@transaction.atomic
def meeting_update(*, actor, meeting: Meeting, invitees=None, **fields) -> Meeting:
    """Change a meeting's details, agenda, minutes or status; add invitees."""
    _require_manager(actor, meeting)
    for name in ("title", "location", "agenda", "minutes"):
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].strip()
    changed = assign_changes(meeting, fields, allowed=MEETING_FIELDS)
    added = []
    if invitees is not None:
        invitees = list(invitees)
        _check_invitees(invitees)
        present = set(meeting.invitations.values_list("user_id", flat=True))
        added = [u for u in invitees if u.pk not in present]
    if not changed and not added:
        return meeting
    _check_times(meeting)
    meeting.full_clean()
    if changed:
        meeting.sequence += 1
        meeting.save(update_fields=[*changed, "sequence"])
    Invitation.objects.bulk_create([Invitation(meeting=meeting, user=u) for u in added])
    audit_record(
        actor=actor,
        action="network.meeting.update",
        obj=meeting,
        details={"fields": sorted(changed), "invited": len(added)},
    )
    return meeting


@transaction.atomic
def invitation_respond(*, actor, meeting: Meeting, response: str) -> Invitation:
    """Accept or decline an invitation."""
    if response not in (Invitation.Response.ACCEPTED, Invitation.Response.DECLINED):
        raise ValidationError({"response": _("Accept or decline.")})
    invitation = Invitation.objects.filter(meeting=meeting, user=actor).first()
    if invitation is None:
        raise ValidationError({"response": _("You are not invited to this meeting.")})
    if invitation.response == response:
        return invitation
    invitation.response = response
    invitation.save(update_fields=["response"])
    audit_record(
        actor=actor,
        action="network.meeting.respond",
        obj=meeting,
        details={"response": response},
    )
    return invitation


@transaction.atomic
def attendance_record(*, actor, meeting: Meeting, present: set[int]) -> Meeting:
    """Record who attended (the invited people; everybody else was absent)."""
    _require_manager(actor, meeting)
    if meeting.starts_at > timezone.now():
        raise ValidationError({"attended": _("Record attendance once the meeting has begun.")})
    invitations = list(meeting.invitations.all())
    unknown = present - {i.user_id for i in invitations}
    if unknown:
        raise ValidationError({"attended": _("Only invited people can be recorded as present.")})
    if meeting.status != Meeting.Status.PLANNED and all(
        invitation.attended == (invitation.user_id in present) for invitation in invitations
    ):
        return meeting  # recorded so before: nothing changes
    for invitation in invitations:
        invitation.attended = invitation.user_id in present
    Invitation.objects.bulk_update(invitations, ["attended"])
    if meeting.status == Meeting.Status.PLANNED:
        meeting.status = Meeting.Status.HELD
        meeting.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="network.meeting.attendance",
        obj=meeting,
        details={"present": len(present), "invited": len(invitations)},
    )
    return meeting


@transaction.atomic
def decision_add(*, actor, meeting: Meeting, text: str) -> Decision:
    _require_manager(actor, meeting)
    if not text.strip():
        raise ValidationError({"text": _("Write the decision.")})
    decision = Decision(meeting=meeting, text=text.strip())
    decision.full_clean()
    decision.save()
    audit_record(
        actor=actor,
        action="network.meeting.decision",
        obj=meeting,
        details={"decision": decision.pk},
    )
    return decision


@transaction.atomic
def action_item_add(*, actor, meeting: Meeting, title: str, owner, due_on) -> ActionItem:
    """Agree an action with an owner and a due date; it appears in the owner's tasks."""

    _require_manager(actor, meeting)
    if not title.strip():
        raise ValidationError({"title": _("Say what is to be done.")})
    if owner is None or not invitable_users().filter(pk=owner.pk).exists():
        raise ValidationError({"owner": _("Choose an owner with a role in the network.")})
    if due_on is None:
        raise ValidationError({"due_on": _("Give a due date.")})
    item = ActionItem(meeting=meeting, title=title.strip(), owner=owner, due_on=due_on)
    item.full_clean()
    item.save()
    audit_record(
        actor=actor,
        action="network.action_item.create",
        obj=item,
        details={"meeting": meeting.pk, "owner": owner.pk},
    )
    return item


@transaction.atomic
def action_item_done(*, actor, item: ActionItem) -> ActionItem:
    """The owner (or the meeting's organiser or a coordinator) marks an action done."""

    if item.owner_id != actor.pk and not can_manage_meeting(actor, item.meeting):
        raise PermissionDenied(_("Only the owner marks this action done."))
    if item.done_at is not None:
        raise ValidationError({"done": _("This action is already done.")})
    item.done_at = timezone.now()
    item.save(update_fields=["done_at"])
    audit_record(actor=actor, action="network.action_item.done", obj=item)
    return item


# --- lessons learned (issue 8) -----------------------------------------------------------

LESSON_TEXT_FIELDS = ("title", "what_happened", "what_we_learned", "what_we_change")
# What would let a reader follow a lesson back to a case or a person: case numbers
# ("HH-2026-0042") and contact references ("HL-2026-00017"), e-mail addresses, phone numbers.
IDENTIFYING_PATTERNS = (
    # (pattern, what it is, digits a match needs at least: years and counts pass)
    (
        re.compile(r"\b[A-Z]{2}-\d{4}-\d{3,6}\b"),
        gettext_lazy("a case number or contact reference"),
        0,
    ),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), gettext_lazy("an e-mail address"), 0),
    (re.compile(r"(?<![\w.-])\+?\d[\d /()-]{6,}\d\b"), gettext_lazy("a phone number"), 8),
)


def identifying_references(text: str) -> list[str]:
    """What in ``text`` could identify a case or a person (kinds, not the matches)."""
    return [
        str(kind)
        for pattern, kind, digits in IDENTIFYING_PATTERNS
        if any(
            sum(c.isdigit() for c in m) >= digits and not _only_years(m)
            for m in pattern.findall(text or "")
        )
    ]


def _only_years(match: str) -> bool:
    groups = re.findall(r"\d+", match)
    return bool(groups) and all(len(g) == 4 and g[:2] in ("19", "20") for g in groups)


def _tags(raw) -> list[str]:
    if isinstance(raw, str):
        raw = re.split(r"[,;\n]+", raw)
    tags = sorted({slugify(t)[:40] for t in raw if t and t.strip()})
    return [t for t in tags if t]


@transaction.atomic
def lesson_create(
    *,
    actor,
    title: str,
    outcome: str,
    what_happened: str,
    what_we_learned: str,
    what_we_change: str,
    tags=(),
    show_author: bool = False,
) -> Lesson:
    """Write a lesson learned; refuse anything that points to a case or a person."""
    _require_member(actor)
    values = {
        "title": title.strip(),
        "what_happened": what_happened.strip(),
        "what_we_learned": what_we_learned.strip(),
        "what_we_change": what_we_change.strip(),
    }
    errors: dict[str, list[str]] = {}
    for name, text in values.items():
        found = identifying_references(text)
        if found:
            errors[name] = [
                _(
                    "This text contains %(what)s. Lessons learned are anonymous: leave out "
                    "case numbers, contact references, names and contact details."
                )
                % {"what": ", ".join(found)}
            ]
    tag_names = _tags(tags)
    if len(tag_names) > 10:
        errors["tags"] = [_("Give at most 10 tags.")]
    if errors:
        raise ValidationError(errors)
    lesson = Lesson(outcome=outcome, author=actor, show_author=show_author, **values)
    lesson.full_clean(exclude=["author"])
    lesson.save()
    lesson.tags.set([LessonTag.objects.get_or_create(name=name)[0] for name in tag_names])
    audit_record(
        actor=actor,
        action="network.lesson.create",
        obj=lesson,
        details={"outcome": outcome, "tags": len(tag_names)},
    )
    return lesson


# --- organisations proposed by case workers, confirmed by a coordinator ------------------------

PROPOSING_ROLES = frozenset({Role.PARTNER_COUNSELLOR, Role.SECURITY_LIAISON, Role.COORDINATOR})
PROPOSAL_FIELDS = ("name", "type", "governance", "street", "postcode", "city", "phone", "email")


@transaction.atomic
def organisation_propose(*, actor, reason: str, **fields) -> Organisation:
    """A case worker proposes an organisation the directory lacks (an outside professional's
    practice, a clinic): it stays inactive — nobody can be invited from it, it is not
    listed — until a coordinator confirms it."""
    if not active_roles(actor) & PROPOSING_ROLES:
        raise PermissionDenied(_("Only case workers propose organisations."))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the network needs this organisation.")]})
    if len(reason) > 300:
        raise ValidationError({"reason": [_("At most %(n)d characters.") % {"n": 300}]})
    values = {name: fields[name] for name in PROPOSAL_FIELDS if name in fields}
    organisation = Organisation(**values, active=False)
    _locate(organisation)
    organisation.code = _unique_code(organisation.name)
    organisation.proposed_by, organisation.proposed_at = actor, timezone.now()
    organisation.proposal_reason = reason
    organisation.full_clean()
    organisation.save()
    audit_record(
        actor=actor,
        action="network.organisation.propose",
        obj=organisation,
        details={"type": organisation.type.code},
    )
    return organisation


@transaction.atomic
def organisation_proposal_decide(*, actor, organisation: Organisation, confirm: bool):
    """A coordinator confirms a proposed organisation (it joins the directory) or refuses it
    (it stays inactive, with who refused it and when)."""
    if Role.COORDINATOR not in active_roles(actor):
        raise PermissionDenied(_("Only a coordinator confirms proposed organisations."))
    if organisation.proposed_by_id is None and organisation.proposed_at is None:
        raise ValidationError({"organisation": [_("This organisation was not proposed.")]})
    if organisation.reviewed_at is not None:
        raise ValidationError({"organisation": [_("This proposal was decided already.")]})
    organisation.reviewed_by, organisation.reviewed_at = actor, timezone.now()
    organisation.active = confirm
    organisation.save(update_fields=["reviewed_by", "reviewed_at", "active"])
    audit_record(
        actor=actor,
        action="network.organisation." + ("confirm" if confirm else "refuse"),
        obj=organisation,
    )
    return organisation
