"""Writes for the hotline: contacts, follow-ups and referrals, each audited in its transaction.

Audit details hold references, codes and counts, never what the caller said or who they are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.access.policy import Action, decide
from casebridge.access.protocol import contact_event_raise
from casebridge.audit.services import audit_record
from casebridge.changes import assign_changes
from casebridge.cooperation_models.models import Term
from casebridge.hotline.models import MODE_REQUIRED, Answer, Contact, Referral, ReferralEvent
from casebridge.hotline.routing import invalidate_capacity
from casebridge.network.models import COUNSELLING_SECTORS, Organisation
from casebridge.network.selectors import PostcodeError, region_for_postcode

IDENTITY_FIELDS = ("caller_name", "caller_phone", "caller_email")
# Vocabulary entries of the cooperation model; each field's name is its term kind.
TERM_FIELDS = (
    "language",
    "caller_category",
    "caller_relation",
    "contact_category",
    "closing_reason",
)
# In the order of a call; the intake form shows them in this order.
CONTACT_FIELDS = (
    "channel",
    "started_at",
    "ended_at",
    "language",
    "interpreter_used",
    "caller_category",
    "caller_relation",
    "caller_postcode",
    "caller_region",
    "anonymous",
    *IDENTITY_FIELDS,
    "person_age_band",
    "person_gender",
    "person_region",
    "first_analysis",
    "summary",
    "advice",
    "contact_category",
    "closing_reason",
    "next_steps",
    "follow_up_on",
    "earlier_contact",
)


@dataclass
class ReferralRequest:
    """A referral to make together with a contact (or later from it)."""

    partner: Organisation
    mode: str
    consent_note: str = ""
    message: str = ""
    services: list[Term] = field(default_factory=list)


def _check_contact(contact: Contact, *, today: date, new_follow_up: bool) -> None:
    errors: dict[str, list[str]] = {}
    if contact.ended_at and contact.ended_at < contact.started_at:
        errors["ended_at"] = [_("The end lies before the start.")]
    if new_follow_up and contact.follow_up_on and contact.follow_up_on < today:
        errors["follow_up_on"] = [_("The follow-up date lies in the past.")]
    if contact.anonymous and any(getattr(contact, name) for name in IDENTITY_FIELDS):
        errors["anonymous"] = [
            _("An anonymous contact has no name, phone or e-mail; untick anonymous to record them.")
        ]
    reasons = Term.objects.of("closing_reason").filter(
        attributes__contact_category=contact.contact_category.code
    )
    if contact.closing_reason_id:
        if not reasons.filter(pk=contact.closing_reason_id).exists():
            errors["closing_reason"] = [
                _("This closing reason belongs to another contact category.")
            ]
    elif reasons.exists():
        errors["closing_reason"] = [_("Choose why the consultation was closed.")]
    if not isinstance(contact.first_analysis, dict):
        errors["first_analysis"] = [_("Answer the points of the first analysis.")]
    else:
        points = set(Term.objects.of("first_analysis").values_list("code", flat=True))
        unknown = sorted(set(contact.first_analysis) - points)
        if unknown:
            errors["first_analysis"] = [
                _("Unknown point of the first analysis: %(codes)s") % {"codes": ", ".join(unknown)}
            ]
        elif any(answer not in Answer.values for answer in contact.first_analysis.values()):
            errors["first_analysis"] = [_("Answer each point with yes, no or unclear.")]
    if (
        contact.earlier_contact_id
        and contact.earlier_contact.organisation_id != contact.organisation_id
    ):
        errors["earlier_contact"] = [_("Unknown earlier contact.")]
    if errors:
        raise ValidationError(errors)


def _locate(contact: Contact) -> None:
    contact.caller_postcode = (contact.caller_postcode or "").strip()
    if not contact.caller_postcode:
        # A caller may name only their region (a state); keep it as given.
        if contact.person_region_id is None and contact.caller_region_id is not None:
            contact.person_region = contact.caller_region
        return
    try:
        place = region_for_postcode(contact.caller_postcode)
    except PostcodeError as exc:
        raise ValidationError({"caller_postcode": [str(exc)]}) from None
    contact.caller_postcode = place.postcode
    contact.caller_region = place.region
    if contact.person_region_id is None:
        contact.person_region = place.state or place.region


# A contact recorded as the call ends has no end yet: it ends now. One that started longer
# ago than a call lasts must say when it ended — "now" would record a call of days.
OPEN_CALL_HOURS = 6


def _with_end(values: dict, now: datetime) -> dict:
    """The values with the end filled in for a call that ends now, or a field error."""
    started = values.get("started_at")
    if values.get("ended_at") is not None or started is None:
        return values
    if now - started > timedelta(hours=OPEN_CALL_HOURS):
        raise ValidationError(
            {
                "ended_at": [
                    _("The contact started more than %(hours)d hours ago: enter when it ended.")
                    % {"hours": OPEN_CALL_HOURS}
                ]
            }
        )
    return {**values, "ended_at": max(now, started)}


@transaction.atomic
def contact_create(
    *,
    actor,
    organisation: Organisation,
    values: dict,
    topics: list[Term] | None = None,
    referral: ReferralRequest | None = None,
) -> Contact:
    """Record a contact (and, in the same transaction, an optional referral).

    Without ``ended_at`` the call ends now, if it started within ``OPEN_CALL_HOURS``.
    """
    unknown = set(values) - set(CONTACT_FIELDS)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)}")
    contact = Contact(
        organisation=organisation,
        counsellor=actor,
        reference=f"tmp-{uuid.uuid4().hex[:14]}",
        **_with_end(values, timezone.now()),
    )
    _locate(contact)
    _check_contact(contact, today=timezone.localdate(), new_follow_up=True)
    contact.full_clean(exclude=["reference"])
    contact.save()
    contact.reference = f"HL-{contact.started_at.year}-{contact.pk:05d}"
    Contact.objects.filter(pk=contact.pk).update(reference=contact.reference)
    if topics:
        contact.concern_topics.set(topics)
    audit_record(
        actor=actor,
        action="hotline.contact.create",
        obj=contact,
        details={"reference": contact.reference, "anonymous": contact.anonymous},
    )
    _raise_found_dangers(actor, contact)
    if referral is not None:
        referral_create(actor=actor, contact=contact, request=referral)
    return contact


def _raise_found_dangers(actor, contact: Contact) -> None:
    """A point of the first analysis answered "yes" that names a hotline event raises it
    (once per contact): the hotline's protocol then says whom to inform."""
    answered_yes = [code for code, answer in contact.first_analysis.items() if answer == "yes"]
    if not answered_yes:
        return
    points = Term.objects.of("first_analysis").filter(code__in=answered_yes)
    for event in sorted({p.attributes.get("event") for p in points} - {None}):
        contact_event_raise(actor=actor, contact=contact, code=event)


@transaction.atomic
def contact_update(
    *, actor, contact: Contact, values: dict, topics: list[Term] | None = None
) -> Contact:
    """Change a contact; only the given fields, only if they differ."""
    old_follow_up = contact.follow_up_on
    old_postcode = contact.caller_postcode
    changed = assign_changes(contact, values, allowed=CONTACT_FIELDS)
    if "caller_postcode" in changed or contact.caller_postcode != old_postcode:
        _locate(contact)
        changed += ["caller_region", "person_region"]
    _check_contact(
        contact,
        today=timezone.localdate(),
        new_follow_up=contact.follow_up_on != old_follow_up,
    )
    contact.full_clean()
    if changed:
        contact.save(update_fields=sorted(set(changed)))
    if topics is not None and set(topics) != set(contact.concern_topics.all()):
        contact.concern_topics.set(topics)
        changed.append("concern_topics")
    if changed:
        audit_record(
            actor=actor,
            action="hotline.contact.update",
            obj=contact,
            details={"fields": sorted(set(changed))},
        )
    if "first_analysis" in changed:
        _raise_found_dangers(actor, contact)
    return contact


@transaction.atomic
def follow_up_done(*, actor, contact: Contact) -> Contact:
    """Mark a contact's follow-up as done."""
    if not contact.follow_up_open:
        raise ValidationError({"follow_up_on": [_("This contact has no open follow-up.")]})
    contact.follow_up_done_at = timezone.now()
    contact.save(update_fields=["follow_up_done_at"])
    audit_record(actor=actor, action="hotline.follow_up.done", obj=contact)
    return contact


def _capacity_changed() -> None:
    """Partners' free places changed: recount now and again once the change is committed."""
    invalidate_capacity()
    transaction.on_commit(invalidate_capacity)


def _event(
    referral: Referral, kind: str, actor, note: str = "", at: datetime | None = None
) -> None:
    ReferralEvent.objects.create(
        referral=referral, kind=kind, actor=actor, note=note, at=at or timezone.now()
    )


@transaction.atomic
def referral_create(*, actor, contact: Contact, request: ReferralRequest) -> Referral:
    """Pass a contact to a local partner, with consent or anonymously (never otherwise)."""
    errors: dict[str, list[str]] = {}
    if request.mode not in Referral.Mode.values:
        errors["mode"] = [str(MODE_REQUIRED)]
    elif request.mode == Referral.Mode.WITH_CONSENT:
        if not request.consent_note.strip():
            errors["consent_note"] = [_("Record how the caller gave consent.")]
        if contact.anonymous or not (contact.caller_phone or contact.caller_email):
            errors["mode"] = [
                _("A referral with consent needs the caller's phone or e-mail on the contact.")
            ]
    partner = request.partner
    if (
        partner is None
        or not partner.active
        or partner.is_hotline
        or partner.type.sector.code not in COUNSELLING_SECTORS
    ):
        errors["partner"] = [_("Choose an active counselling partner.")]
    elif Referral.objects.filter(
        contact=contact,
        partner=partner,
        status__in=[Referral.Status.SENT, Referral.Status.ACCEPTED],
    ).exists():
        errors["partner"] = [_("This contact is already referred to this partner.")]
    if errors:
        raise ValidationError(errors)
    referral = Referral.objects.create(
        contact=contact,
        partner=partner,
        mode=request.mode,
        consent_note=request.consent_note.strip(),
        message=request.message.strip(),
        sent_by=actor,
    )
    if request.services:
        referral.services.set(request.services)
    _event(referral, ReferralEvent.Kind.SENT, actor)
    _capacity_changed()
    audit_record(
        actor=actor,
        action="hotline.referral.create",
        obj=referral,
        details={"contact": contact.reference, "partner": partner.pk, "mode": request.mode},
    )
    return referral


def _require(actor, action: str, referral: Referral) -> None:
    decision = decide(actor, action, referral)
    if not decision:
        raise PermissionError(decision.reason)


def _require_status(referral: Referral, *allowed: str) -> None:
    if referral.status not in allowed:
        raise ValidationError(
            {
                "status": [
                    _("Not possible while the referral is %(status)s.")
                    % {"status": referral.get_status_display()}
                ]
            }
        )


@transaction.atomic
def referral_accept(*, actor, referral: Referral, note: str = "") -> Referral:
    """The partner takes the referral on."""
    _require(actor, Action.RESPOND, referral)
    _require_status(referral, Referral.Status.SENT)
    referral.status = Referral.Status.ACCEPTED
    referral.responded_at, referral.responded_by = timezone.now(), actor
    referral.save(update_fields=["status", "responded_at", "responded_by"])
    _capacity_changed()
    _event(referral, ReferralEvent.Kind.ACCEPTED, actor, note.strip())
    audit_record(actor=actor, action="hotline.referral.accept", obj=referral)
    return referral


@transaction.atomic
def referral_decline(*, actor, referral: Referral, reason: str) -> Referral:
    """The partner declines with a reason; the contact returns to the hotline for re-routing."""
    _require(actor, Action.RESPOND, referral)
    _require_status(referral, Referral.Status.SENT)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the referral is declined.")]})
    referral.status = Referral.Status.DECLINED
    referral.decline_reason = reason.strip()
    referral.responded_at, referral.responded_by = timezone.now(), actor
    referral.save(update_fields=["status", "decline_reason", "responded_at", "responded_by"])
    _capacity_changed()
    _event(referral, ReferralEvent.Kind.DECLINED, actor, referral.decline_reason)
    audit_record(actor=actor, action="hotline.referral.decline", obj=referral)
    return referral


@transaction.atomic
def referral_withdraw(*, actor, referral: Referral, reason: str = "") -> Referral:
    """The hotline takes a referral back (for instance the caller changed their mind)."""
    _require(actor, Action.CHANGE, referral)
    _require_status(referral, Referral.Status.SENT, Referral.Status.ACCEPTED)
    referral.status = Referral.Status.WITHDRAWN
    referral.save(update_fields=["status"])
    _capacity_changed()
    _event(referral, ReferralEvent.Kind.WITHDRAWN, actor, reason.strip())
    audit_record(actor=actor, action="hotline.referral.withdraw", obj=referral)
    return referral


@transaction.atomic
def referral_first_contact(*, actor, referral: Referral, at: datetime | None = None) -> Referral:
    """The partner records its first contact with the caller (measured against the target)."""
    _require(actor, Action.RESPOND, referral)
    _require_status(referral, Referral.Status.ACCEPTED, Referral.Status.SENT)
    at = at or timezone.now()
    if at < referral.sent_at or at > timezone.now():
        raise ValidationError(
            {"at": [_("The first contact must lie between the referral and now.")]}
        )
    if referral.first_contact_at is not None:
        raise ValidationError({"at": [_("The first contact is already recorded.")]})
    referral.first_contact_at = at
    referral.save(update_fields=["first_contact_at"])
    _event(referral, ReferralEvent.Kind.FIRST_CONTACT, actor, at=at)
    audit_record(actor=actor, action="hotline.referral.first_contact", obj=referral)
    return referral


@transaction.atomic
def referral_appointment(*, actor, referral: Referral, on: date) -> Referral:
    """The partner records the date of the first appointment."""
    _require(actor, Action.RESPOND, referral)
    _require_status(referral, Referral.Status.ACCEPTED)
    if on < referral.sent_at.date():
        raise ValidationError({"on": [_("The appointment cannot lie before the referral.")]})
    referral.first_appointment_on = on
    referral.save(update_fields=["first_appointment_on"])
    _event(referral, ReferralEvent.Kind.APPOINTMENT, actor, note=on.isoformat())
    audit_record(actor=actor, action="hotline.referral.appointment", obj=referral)
    return referral
