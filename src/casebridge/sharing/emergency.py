"""Emergency access (break-glass): a coordinator reads a case for a stated reason, for a
bounded time, never writes; the data protection officer reviews every one. The writes
(start, end, close the expired, review) of the sharing app, apart from its other
services because the feature is self-contained."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.access.policy import (
    organisations_with,
    seat_for,
)
from casebridge.accounts.models import Membership, Role
from casebridge.accounts.permissions import has_role
from casebridge.accounts.stepup import EMERGENCY_PURPOSE, demand
from casebridge.audit.services import audit_record
from casebridge.cases.models import Case
from casebridge.sharing.models import (
    EmergencyAccess,
)

APPROVAL_KINDS = ("duty", "emergency")


EMERGENCY_REASON_MIN_LENGTH = 20


@transaction.atomic
def emergency_access_start(*, actor, case: Case, reason: str, hours: int) -> EmergencyAccess:
    """A coordinator opens a case they do not sit in, for ``hours``, with a written reason.

    The start is audited and mailed to the data protection officers (case number only); the
    access lands in their review queue.
    """
    demand("sharing.emergency.start", actor=actor, obj=case)
    coordinating = organisations_with(actor, frozenset({Role.COORDINATOR}))
    organisation = min(coordinating) if coordinating else None
    if organisation is None:
        raise PermissionDenied(_("denied: only network coordinators may use emergency access"))
    errors = {}
    reason = (reason or "").strip()
    if len(reason) < EMERGENCY_REASON_MIN_LENGTH:
        errors["reason"] = [
            _("Describe the emergency in at least %(count)d characters.")
            % {"count": EMERGENCY_REASON_MIN_LENGTH}
        ]
    if hours not in EmergencyAccess.HOURS:
        errors["hours"] = [
            _("Choose one of %(choices)s hours.")
            % {"choices": ", ".join(str(h) for h in EmergencyAccess.HOURS)}
        ]
    seat = seat_for(actor, case.pk)
    if seat is not None and seat.emergency:
        errors["case"] = [_("You already have emergency access to this case.")]
    elif seat is not None:
        errors["case"] = [_("You take part in this case already; no emergency access is needed.")]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    access = EmergencyAccess.objects.create(
        case=case,
        user=actor,
        organisation_id=organisation,
        reason=reason,
        started_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    audit_record(
        actor=actor,
        action="sharing.emergency.start",
        obj=access,
        purpose=EMERGENCY_PURPOSE,
        details={"case": case.number, "hours": hours},
    )
    transaction.on_commit(lambda: _notify_data_protection_officers(access))
    return access


def _notify_data_protection_officers(access: EmergencyAccess) -> None:
    """A mail to every active data protection officer: the case number and times, no content."""

    recipients = sorted(
        set(
            Membership.objects.active()
            .filter(role=Role.DATA_PROTECTION_OFFICER, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if recipients:
        send_mail(
            f"casebridge: emergency access to case {access.case.number}",
            f"A network coordinator opened case {access.case.number} by emergency access at "
            f"{access.started_at:%Y-%m-%d %H:%M} UTC, until {access.expires_at:%H:%M} UTC at the "
            "latest. It waits in your review queue in casebridge.",
            None,
            recipients,
        )


@transaction.atomic
def emergency_access_end(*, actor, access: EmergencyAccess) -> EmergencyAccess:
    """The coordinator ends the access early; the end is audited."""
    if access.user_id != actor.pk:
        raise PermissionDenied(_("denied: only the person who opened an emergency access ends it"))
    if not access.is_active:
        raise ValidationError({"access": [_("This emergency access has already ended.")]})
    access.ended_at, access.ended_by = timezone.now(), actor
    access.save(update_fields=["ended_at", "ended_by"])
    audit_record(
        actor=actor,
        action="sharing.emergency.end",
        obj=access,
        details={"case": access.case.number, "how": "ended"},
    )
    return access


@transaction.atomic
def emergency_access_close_expired(*, now=None) -> int:
    """Record the end of accesses that ran out (they stop working at expiry regardless)."""
    now = now or timezone.now()
    expired = list(
        EmergencyAccess.objects.select_for_update()
        .filter(ended_at__isnull=True, expires_at__lte=now)
        .select_related("case")
    )
    for access in expired:
        access.ended_at = access.expires_at
        access.save(update_fields=["ended_at"])
        audit_record(
            actor=None,
            action="sharing.emergency.end",
            obj=access,
            details={"case": access.case.number, "how": "expired"},
        )
    return len(expired)


@transaction.atomic
def emergency_access_review(
    *, actor, access: EmergencyAccess, outcome: str, note: str
) -> EmergencyAccess:
    """The data protection officer's verdict on an access that has ended."""
    if not has_role(actor, Role.DATA_PROTECTION_OFFICER):
        raise PermissionDenied(_("denied: only data protection officers review emergency access"))
    errors = {}
    note = (note or "").strip()
    if outcome not in EmergencyAccess.Outcome.values:
        errors["outcome"] = [_("Choose whether the access was justified.")]
    elif outcome == EmergencyAccess.Outcome.NOT_JUSTIFIED and not note:
        errors["note"] = [_("Say why the access was not justified and what follows.")]
    if access.is_active:
        errors["access"] = [_("The access is still running; review it when it has ended.")]
    elif access.reviewed_at is not None:
        errors["access"] = [_("This emergency access has been reviewed already.")]
    if errors:
        raise ValidationError(errors)
    access.review_outcome, access.review_note = outcome, note
    access.reviewed_by, access.reviewed_at = actor, timezone.now()
    access.save(update_fields=["review_outcome", "review_note", "reviewed_by", "reviewed_at"])
    audit_record(
        actor=actor,
        action="sharing.emergency.review",
        obj=access,
        details={"case": access.case.number, "outcome": outcome},
    )
    return access
