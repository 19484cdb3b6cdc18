"""Writes for the SOP: events and the obligations they create, consents, disclosures.

Each is atomic and audited; audit details hold case numbers, rule and legal-basis codes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from casebridge.access.policy import (
    Action,
    decide,
    emergency_access_of,
    may_contribute,
    require,
    seat_participant,
)
from casebridge.access.protocol import contact_event_raise, event_raise, recipient_candidates
from casebridge.accounts.stepup import demand
from casebridge.audit.services import audit_denied, audit_record
from casebridge.cases.models import Case, Entry, Participant
from casebridge.cooperation_models.models import Term
from casebridge.hotline.models import Contact
from casebridge.network.models import Organisation
from casebridge.sharing.models import (
    CaseEvent,
    Consent,
    ContactDisclosure,
    ContactEvent,
    Disclosure,
    InformationRequest,
    Obligation,
)
from casebridge.sharing.selectors import (
    approvers,
    can_approve,
    can_approve_contact_disclosure,
    coordinator_emails,
    hotline_approvers,
    recipient_emails,
)
from casebridge.sop.events import HOTLINE_EVENTS, RECORDED_EVENTS

APPROVAL_KINDS = ("duty", "emergency")


@transaction.atomic
def event_record(*, actor, case: Case, code: str, event_date: date | None = None) -> CaseEvent:
    """A participant records an event the system cannot see (travel plans, a release date)."""
    require(may_contribute(actor, case))
    if code not in RECORDED_EVENTS:
        raise ValidationError({"code": [_("This event is recorded by the system, not by hand.")]})
    return event_raise(actor=actor, case=case, code=code, event_date=event_date)


# --- consents ---------------------------------------------------------------------------


@transaction.atomic
def consent_record(
    *,
    actor,
    case: Case,
    given_by: str,
    purpose: str,
    categories: list[Term],
    recipients: list[Participant],
    given_on: date | None = None,
    valid_until: date | None = None,
) -> Consent:
    require(decide(actor, Action.CHANGE, case))
    errors: dict[str, list[str]] = {}
    if given_by not in Consent.GivenBy.values:
        errors["given_by"] = [_("Say who gave the consent.")]
    if not purpose.strip():
        errors["purpose"] = [_("Describe the purpose the consent is for.")]
    if not categories:
        errors["categories"] = [_("Choose the categories the consent covers.")]
    if not recipients or any(r.case_id != case.pk for r in recipients):
        errors["recipients"] = [_("Choose the participants the consent covers.")]
    given_on = given_on or timezone.localdate()
    if valid_until is not None and valid_until < given_on:
        errors["valid_until"] = [_("The consent cannot end before it was given.")]
    if errors:
        raise ValidationError(errors)
    consent = Consent.objects.create(
        case=case,
        given_by=given_by,
        purpose=purpose.strip(),
        given_on=given_on,
        valid_until=valid_until,
        recorded_by=actor,
    )
    consent.categories.set(categories)
    consent.recipients.set(recipients)
    audit_record(
        actor=actor,
        action="sharing.consent.record",
        obj=consent,
        details={"case": case.number, "categories": sorted(t.code for t in categories)},
    )
    return consent


@transaction.atomic
def consent_withdraw(*, actor, consent: Consent) -> Consent:
    """Withdrawal blocks further disclosures on this consent and triggers the protocol."""
    require(decide(actor, Action.CHANGE, consent.case))
    if consent.withdrawn_at is not None:
        raise ValidationError({"consent": [_("This consent has already been withdrawn.")]})
    consent.withdrawn_at, consent.withdrawn_by = timezone.now(), actor
    consent.save(update_fields=["withdrawn_at", "withdrawn_by"])
    audit_record(
        actor=actor,
        action="sharing.consent.withdraw",
        obj=consent,
        details={"case": consent.case.number},
    )
    event_raise(actor=actor, case=consent.case, code="consent_withdrawn")
    return consent


# --- disclosures ------------------------------------------------------------------------


def _consent_ended(consent: Consent) -> str:
    """Why a consent cannot carry a disclosure: withdrawn (by whom, when) or expired."""
    if consent.withdrawn_at is not None:
        return _(
            "This consent was withdrawn by %(name)s on %(when)s; it cannot carry a disclosure."
        ) % {
            "name": consent.withdrawn_by or _("an unknown user"),
            "when": date_format(timezone.localtime(consent.withdrawn_at), "SHORT_DATETIME_FORMAT"),
        }
    return _("This consent expired on %(day)s; it cannot carry a disclosure.") % {
        "day": date_format(consent.valid_until, "SHORT_DATE_FORMAT")
    }


@transaction.atomic
def disclosure_request(
    *,
    actor,
    case: Case,
    to_participant: Participant,
    entries: list[Entry],
    excerpt: str = "",
    excerpt_category: Term | None = None,
    purpose: str,
    legal_basis: Term | None,
    consent: Consent | None = None,
    justification: str = "",
    obligation: Obligation | None = None,
    answers: InformationRequest | None = None,
    approver=None,
) -> Disclosure:
    """Share items or an excerpt beyond a scope. Needs a legal basis and consent or a written
    justification; a second person approves where the rule or the legal basis says so.
    ``answers``: the open request for information this disclosure answers (it must go
    from the asked participant to the one that asked). ``approver``: the colleague the
    requester asks to approve (``selectors.approvers``); without one, the participant's
    other named people may, and the organisation's coordinators are told by mail."""
    demand(
        "sharing.disclosure.request",
        actor=actor,
        emergency=emergency_access_of(actor, case.pk) is not None,
        obj=case,
    )
    require(may_contribute(actor, case))
    source = seat_participant(actor, case)
    errors: dict[str, list[str]] = {}
    if to_participant.case_id != case.pk or not to_participant.is_active:
        errors["to_participant"] = [_("Choose an active participant of this case.")]
    elif to_participant.pk == source.pk:
        errors["to_participant"] = [_("Your own organisation already sees its own items.")]
    if not entries and not excerpt.strip():
        errors["entries"] = [_("Choose items or write an excerpt.")]
    if excerpt.strip() and excerpt_category is None:
        errors["excerpt_category"] = [_("Say which category the excerpt belongs to.")]
    if not purpose.strip():
        errors["purpose"] = [_("State the purpose of the disclosure.")]
    if legal_basis is None or legal_basis.kind != "legal_basis":
        errors["legal_basis"] = [_("Choose the legal basis for the disclosure.")]
    elif legal_basis.attributes.get("kind") == "consent":
        if consent is None:
            errors["consent"] = [_("A disclosure based on consent needs the recorded consent.")]
    elif not justification.strip():
        errors["justification"] = [
            _("Without consent, write the justification: why this, to them, now, on this basis.")
        ]
    if consent is not None:
        if consent.case_id != case.pk:
            errors["consent"] = [_("This consent belongs to another case.")]
        elif not consent.in_force:
            errors["consent"] = [_consent_ended(consent)]
        else:
            covered = {t.pk for t in consent.categories.all()}
            wanted = {e.category_id for e in entries} | (
                {excerpt_category.pk} if excerpt_category else set()
            )
            if not wanted <= covered:
                errors["consent"] = [_("The consent does not cover every category disclosed.")]
            if not consent.recipients.filter(pk=to_participant.pk).exists():
                errors["consent"] = [_("The consent does not cover this recipient.")]
    for entry in entries:
        if entry.case_id != case.pk or not decide(actor, Action.VIEW, entry):
            errors["entries"] = [_("You can only disclose items you may read in this case.")]
            break
    if obligation is not None and obligation.case_id != case.pk:
        errors["obligation"] = [_("This obligation belongs to another case.")]
    if answers is not None and (
        answers.case_id != case.pk
        or answers.status != InformationRequest.Status.OPEN
        or answers.to_participant_id != source.pk
        or answers.from_participant_id != to_participant.pk
    ):
        errors["answers"] = [
            _("Only an open request to your organisation, answered to the one that asked.")
        ]
    eligible = approvers(source.pk, source.organisation_id, actor)
    if approver is not None and not eligible.filter(pk=approver.pk).exists():
        errors["approver"] = [
            _("Choose a colleague of your organisation in this case, or a coordinator.")
        ]
    if errors:
        raise ValidationError(errors)
    needs_approval = bool(
        (obligation is not None and obligation.second_approval)
        or legal_basis.attributes.get("kind") in APPROVAL_KINDS
    )
    disclosure = Disclosure.objects.create(
        case=case,
        from_participant=source,
        to_participant=to_participant,
        excerpt=excerpt.strip(),
        excerpt_category=excerpt_category if excerpt.strip() else None,
        purpose=purpose.strip(),
        legal_basis=legal_basis,
        consent=consent,
        justification=justification.strip(),
        obligation=obligation,
        answers=answers,
        approver=approver,
        requested_by=actor,
        status=Disclosure.Status.PENDING,
    )
    disclosure.entries.set(entries)
    audit_record(
        actor=actor,
        action="sharing.disclosure.request",
        obj=disclosure,
        details={
            "case": case.number,
            "to": to_participant.organisation_id,
            "legal_basis": legal_basis.code,
            "items": len(entries),
            "excerpt": bool(excerpt.strip()),
            "needs_approval": needs_approval,
            "answers": answers.pk if answers else None,
        },
    )
    if not needs_approval:
        _approve(disclosure, actor)
    else:
        _tell_approvers(disclosure, source)
    return disclosure


def _tell_approvers(disclosure: Disclosure, source: Participant) -> None:
    """The named colleague, or else the organisation's coordinators, hear by mail that a
    disclosure waits for them (case number only), once the request is committed."""
    if disclosure.approver_id:
        people = [disclosure.approver.email] if disclosure.approver.email else []
    else:
        people = coordinator_emails(source.organisation_id, excluding=disclosure.requested_by)
    if not people:
        return
    number = disclosure.case.number
    transaction.on_commit(
        lambda: send_mail(
            f"casebridge: {number} – a disclosure waits for your approval",
            f"A disclosure in case {number} waits for a second person's approval. "
            "Open casebridge (Tasks) to review it.",
            None,
            people,
            fail_silently=True,
        )
    )


def _approve(disclosure: Disclosure, actor) -> None:
    now = timezone.now()
    disclosure.status, disclosure.decided_by, disclosure.decided_at = (
        Disclosure.Status.APPROVED,
        actor,
        now,
    )
    disclosure.save(update_fields=["status", "decided_by", "decided_at"])
    # The named obligation, and any other open one this disclosure satisfies: same
    # recipient, every category it asks for disclosed.
    disclosed = {e.category.code for e in disclosure.entries.select_related("category")}
    if disclosure.excerpt_category_id:
        disclosed.add(disclosure.excerpt_category.code)
    fulfilled = [
        obligation.pk
        for obligation in Obligation.objects.filter(
            case=disclosure.case, status=Obligation.Status.OPEN, recipient=disclosure.to_participant
        )
        if obligation.pk == disclosure.obligation_id or set(obligation.categories) <= disclosed
    ]
    Obligation.objects.filter(pk__in=fulfilled).update(
        status=Obligation.Status.FULFILLED, fulfilled_at=now
    )
    if disclosure.answers_id:  # the request is answered once its answer may be read
        InformationRequest.objects.filter(
            pk=disclosure.answers_id, status=InformationRequest.Status.OPEN
        ).update(status=InformationRequest.Status.ANSWERED, decided_by=actor, decided_at=now)
    audit_record(
        actor=actor,
        action="sharing.disclosure.approve",
        obj=disclosure,
        details={"case": disclosure.case.number, "legal_basis": disclosure.legal_basis.code},
    )


@transaction.atomic
def disclosure_decide(*, actor, disclosure: Disclosure, approve: bool) -> Disclosure:
    """The second person approves or rejects; never while they read the case only by
    emergency access, whatever their role in the disclosing organisation."""
    demand(
        "sharing.disclosure.decide",
        actor=actor,
        emergency=emergency_access_of(actor, disclosure.case_id) is not None,
        obj=disclosure,
    )
    if not can_approve(actor, disclosure):
        raise PermissionDenied(
            _("denied: approval needs a second person of the disclosing organisation")
        )
    requester = disclosure.requested_by
    if requester.email:  # the one who asked hears the decision (case number only)
        number, word = disclosure.case.number, "approved" if approve else "rejected"
        transaction.on_commit(
            lambda: send_mail(
                f"casebridge: {number} – your disclosure was {word}",
                f"Your disclosure in case {number} was {word} by the second person.",
                None,
                [requester.email],
                fail_silently=True,
            )
        )
    if approve:
        _approve(disclosure, actor)
    else:
        disclosure.status, disclosure.decided_by, disclosure.decided_at = (
            Disclosure.Status.REJECTED,
            actor,
            timezone.now(),
        )
        disclosure.save(update_fields=["status", "decided_by", "decided_at"])
        audit_record(
            actor=actor,
            action="sharing.disclosure.reject",
            obj=disclosure,
            details={"case": disclosure.case.number},
        )
    return disclosure


@transaction.atomic
def obligation_cancel(*, actor, obligation: Obligation, reason: str) -> Obligation:
    """The lead records why an obligation does not apply (e.g. the danger was averted)."""
    require(decide(actor, Action.CHANGE, obligation.case))
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the obligation does not apply.")]})
    obligation.status, obligation.note = Obligation.Status.CANCELLED, reason.strip()[:300]
    obligation.save(update_fields=["status", "note"])
    audit_record(
        actor=actor,
        action="sharing.obligation.cancel",
        obj=obligation,
        details={"case": obligation.case.number, "rule": obligation.rule},
    )
    return obligation


# --- requests for information -----------------------------------------------------------

REQUEST_DAYS = (1, 90)  # an answer is asked for within one day at the earliest, 90 at most


@transaction.atomic
def information_request_create(
    *,
    actor,
    case: Case,
    to_participant: Participant | None,
    categories: list[Term],
    question: str,
    purpose: str,
    legal_basis: Term | None,
    due_on: date | None,
) -> InformationRequest:
    """A participant asks another one for specific information (both ways: the police
    liaison asks the lead, the lead asks the police). Changes no one's access."""
    require(may_contribute(actor, case))
    source = seat_participant(actor, case)
    errors: dict[str, list[str]] = {}
    if to_participant is None or to_participant.case_id != case.pk or not to_participant.is_active:
        errors["to_participant"] = [_("Choose an active participant of this case.")]
    elif to_participant.pk == source.pk:
        errors["to_participant"] = [_("Your own organisation already sees its own items.")]
    if not categories or any(t.kind != "information_category" for t in categories):
        errors["categories"] = [_("Choose the categories of information you ask for.")]
    if not question.strip():
        errors["question"] = [_("Say what exactly you ask for.")]
    if not purpose.strip():
        errors["purpose"] = [_("State the purpose of the request.")]
    if legal_basis is None or legal_basis.kind != "legal_basis":
        errors["legal_basis"] = [_("Choose the legal basis for the request.")]
    today = timezone.localdate()
    first, last = (today + timedelta(days=n) for n in REQUEST_DAYS)
    if due_on is None or not first <= due_on <= last:
        errors["due_on"] = [
            _("Ask for an answer between %(first)s and %(last)s.")
            % {
                "first": date_format(first, "SHORT_DATE_FORMAT"),
                "last": date_format(last, "SHORT_DATE_FORMAT"),
            }
        ]
    if errors:
        raise ValidationError(errors)
    info_request = InformationRequest.objects.create(
        case=case,
        from_participant=source,
        to_participant=to_participant,
        question=question.strip()[:500],
        purpose=purpose.strip()[:300],
        legal_basis=legal_basis,
        due_at=timezone.make_aware(datetime.combine(due_on, time(18))),
        requested_by=actor,
    )
    info_request.categories.set(categories)
    audit_record(
        actor=actor,
        action="sharing.request.create",
        obj=info_request,
        details={
            "case": case.number,
            "from": source.organisation_id,
            "to": to_participant.organisation_id,
            "categories": sorted(t.code for t in categories),
            "legal_basis": legal_basis.code,
        },
    )
    return info_request


def _require_side(actor, info_request: InformationRequest, side: str, action: str) -> None:
    """The actor sits in the case through the request's ``side`` participant (not by an
    emergency access, which has no participant). Checked before the write's transaction,
    so that a refusal is recorded (and not rolled back with it)."""
    require(may_contribute(actor, info_request.case))
    participant = seat_participant(actor, info_request.case)
    if participant.pk != getattr(info_request, f"{side}_participant_id"):
        reason = (
            gettext_noop("denied: only the organisation asked may answer a request")
            if side == "to"
            else gettext_noop("denied: only the organisation that asked may withdraw a request")
        )
        audit_denied(
            actor=actor,
            action=action,
            object_type="sharing.informationrequest",
            object_id=info_request.pk,
            reason=reason,
        )
        raise PermissionDenied(_(reason))


@transaction.atomic
def _close_request(
    actor, info_request: InformationRequest, status: str, action: str, refusal: str = ""
) -> InformationRequest:
    """Close an open request once: a second answer at the same moment finds it closed."""
    now = timezone.now()
    closed = InformationRequest.objects.filter(
        pk=info_request.pk, status=InformationRequest.Status.OPEN
    ).update(status=status, decided_by=actor, decided_at=now, refusal=refusal)
    if not closed:
        raise ValidationError({"status": [_("This request is no longer open.")]})
    info_request.status, info_request.decided_by, info_request.decided_at = status, actor, now
    info_request.refusal = refusal
    audit_record(
        actor=actor, action=action, obj=info_request, details={"case": info_request.case.number}
    )
    return info_request


def information_request_refuse(
    *, actor, info_request: InformationRequest, reason: str
) -> InformationRequest:
    """The organisation asked refuses, saying why (no basis, not needed, not known)."""
    _require_side(actor, info_request, "to", "sharing.request.refuse")
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why you refuse the request.")]})
    if info_request.disclosures.filter(status=Disclosure.Status.PENDING).exists():
        raise ValidationError(
            {"reason": [_("An answer to this request awaits approval: reject it first.")]}
        )
    return _close_request(
        actor,
        info_request,
        InformationRequest.Status.REFUSED,
        "sharing.request.refuse",
        reason.strip()[:500],
    )


def information_request_withdraw(*, actor, info_request: InformationRequest) -> InformationRequest:
    """The organisation that asked no longer needs the answer."""
    _require_side(actor, info_request, "from", "sharing.request.withdraw")
    return _close_request(
        actor, info_request, InformationRequest.Status.WITHDRAWN, "sharing.request.withdraw"
    )


# --- the hotline's path to the authorities -------------------------------------------------

EXCERPT_MAX = 4000
IDENTITY_MAX = 1000
NOTE_MAX = 500


@transaction.atomic
def contact_event_record(*, actor, contact: Contact, code: str) -> ContactEvent:
    """A hotline counsellor records a danger the first analysis found (or a later call
    shows): the hotline's protocol creates the disclosures to prepare."""
    require(decide(actor, Action.CHANGE, contact))
    if code not in HOTLINE_EVENTS:
        raise ValidationError({"code": [_("Choose one of the hotline's events.")]})
    event = contact_event_raise(actor=actor, contact=contact, code=code)
    if event is None:
        raise ValidationError({"code": [_("This event is already recorded for the contact.")]})
    return event


@transaction.atomic
def contact_disclosure_prepare(
    *,
    actor,
    disclosure: ContactDisclosure,
    recipient: Organisation | None,
    excerpt: str,
    purpose: str,
    legal_basis: Term | None,
    justification: str,
    approver,
    identity: str = "",
    include_caller_contact: bool = False,
) -> ContactDisclosure:
    """Prepare what the hotline passes on, to whom, why and on which basis, with the
    written weighing, and name the second person of the hotline who approves. Nothing
    reaches the recipient before that approval."""
    demand("sharing.contact_disclosure.prepare", actor=actor, obj=disclosure)
    require(decide(actor, Action.CHANGE, disclosure))
    errors: dict[str, list[str]] = {}
    if disclosure.status != ContactDisclosure.Status.OPEN:
        errors["status"] = [_("Only a disclosure still to do can be prepared.")]
    candidates = {o.pk for o in recipient_candidates(disclosure)}
    if recipient is None:
        errors["recipient"] = [_("Choose the organisation to inform.")]
    elif recipient.pk not in candidates:
        errors["recipient"] = [_("Choose an organisation of the kind the procedure names.")]
    excerpt, identity = excerpt.strip(), identity.strip()
    if not excerpt:
        errors["excerpt"] = [_("Write what is passed on: only what averting the danger needs.")]
    elif len(excerpt) > EXCERPT_MAX:
        errors["excerpt"] = [_("At most %(n)d characters.") % {"n": EXCERPT_MAX}]
    may_identify = "identity" in disclosure.categories
    if identity and not may_identify:
        errors["identity"] = [_("This procedure passes on no identifying details.")]
    elif len(identity) > IDENTITY_MAX:
        errors["identity"] = [_("At most %(n)d characters.") % {"n": IDENTITY_MAX}]
    if include_caller_contact and not may_identify:
        errors["include_caller_contact"] = [_("This procedure passes on no identifying details.")]
    elif include_caller_contact and disclosure.contact.anonymous:
        errors["include_caller_contact"] = [_("The caller stayed anonymous.")]
    if not purpose.strip():
        errors["purpose"] = [_("State the purpose of the disclosure.")]
    elif len(purpose.strip()) > 300:
        errors["purpose"] = [_("At most %(n)d characters.") % {"n": 300}]
    if legal_basis is None or legal_basis.kind != "legal_basis" or not legal_basis.active:
        errors["legal_basis"] = [_("Choose the legal basis for the disclosure.")]
    if not justification.strip():
        errors["justification"] = [_("Write the weighing: why this, to them, now, on this basis.")]
    if approver is None:
        errors["approver"] = [_("Name the second person of the hotline who approves.")]
    elif not hotline_approvers(disclosure.contact, actor).filter(pk=approver.pk).exists():
        errors["approver"] = [_("Choose a colleague of the hotline other than yourself.")]
    if errors:
        raise ValidationError(errors)
    disclosure.recipient = recipient
    disclosure.excerpt, disclosure.identity = excerpt, identity
    disclosure.include_caller_contact = include_caller_contact
    disclosure.purpose, disclosure.justification = purpose.strip(), justification.strip()
    disclosure.legal_basis, disclosure.approver = legal_basis, approver
    disclosure.requested_by, disclosure.requested_at = actor, timezone.now()
    disclosure.status, disclosure.note = ContactDisclosure.Status.PENDING, ""
    disclosure.save()
    audit_record(
        actor=actor,
        action="sharing.contact_disclosure.prepare",
        obj=disclosure,
        details={
            "contact": disclosure.contact.reference,
            "to": recipient.pk,
            "legal_basis": legal_basis.code,
            "identity": bool(identity),
            "caller": include_caller_contact,
        },
    )
    if approver.email:
        reference, address = disclosure.contact.reference, approver.email
        transaction.on_commit(
            lambda: send_mail(
                f"casebridge: {reference} – a disclosure of the hotline waits for you",
                f"A disclosure from hotline contact {reference} waits for your approval as "
                "the second person. Open casebridge (Tasks) to review it.",
                None,
                [address],
                fail_silently=True,
            )
        )
    return disclosure


@transaction.atomic
def contact_disclosure_decide(
    *, actor, disclosure: ContactDisclosure, approve: bool, note: str = ""
) -> ContactDisclosure:
    """The second person sends the disclosure (the recipient can read it from now on) or
    sends it back to be prepared again, saying why."""
    demand("sharing.contact_disclosure.decide", actor=actor, obj=disclosure)
    require(decide(actor, Action.CHANGE, disclosure))
    if not can_approve_contact_disclosure(actor, disclosure):
        raise PermissionDenied(
            _("denied: approval needs the second person of the hotline the requester named")
        )
    note = note.strip()
    if not approve and not note:
        raise ValidationError({"note": [_("Say why it goes back.")]})
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": [_("At most %(n)d characters.") % {"n": NOTE_MAX}]})
    disclosure.decided_by, disclosure.decided_at = actor, timezone.now()
    reference = disclosure.contact.reference
    if approve:
        disclosure.status = ContactDisclosure.Status.SENT
        disclosure.save(update_fields=["status", "decided_by", "decided_at"])
        people = recipient_emails(disclosure.recipient_id)
        if people:
            transaction.on_commit(
                lambda: send_mail(
                    "casebridge: a disclosure from the hotline has arrived",
                    "The hotline has sent your organisation a disclosure about a danger. "
                    "Open casebridge (From the hotline) to read it.",
                    None,
                    people,
                    fail_silently=True,
                )
            )
    else:
        disclosure.status, disclosure.note = ContactDisclosure.Status.OPEN, note
        disclosure.save(update_fields=["status", "note", "decided_by", "decided_at"])
    requester = disclosure.requested_by
    if requester.email:
        word = "sent" if approve else "sent back"
        transaction.on_commit(
            lambda: send_mail(
                f"casebridge: {reference} – your disclosure was {word}",
                f"Your disclosure from hotline contact {reference} was {word} by the "
                "second person.",
                None,
                [requester.email],
                fail_silently=True,
            )
        )
    audit_record(
        actor=actor,
        action="sharing.contact_disclosure." + ("send" if approve else "return"),
        obj=disclosure,
        details={
            "contact": reference,
            "to": disclosure.recipient_id,
            "legal_basis": disclosure.legal_basis.code,
        },
    )
    return disclosure


@transaction.atomic
def contact_disclosure_cancel(*, actor, disclosure: ContactDisclosure, reason: str):
    """Not sent: the counsellor records why (the danger was averted otherwise, the
    authority already knows, the weighing speaks against it)."""
    require(decide(actor, Action.CHANGE, disclosure))
    reason = reason.strip()
    errors: dict[str, list[str]] = {}
    if disclosure.status not in (ContactDisclosure.Status.OPEN, ContactDisclosure.Status.PENDING):
        errors["status"] = [_("Only a disclosure not yet sent can be given up.")]
    if not reason:
        errors["reason"] = [_("Say why it is not sent.")]
    elif len(reason) > NOTE_MAX:
        errors["reason"] = [_("At most %(n)d characters.") % {"n": NOTE_MAX}]
    if errors:
        raise ValidationError(errors)
    disclosure.status, disclosure.note = ContactDisclosure.Status.CANCELLED, reason
    disclosure.save(update_fields=["status", "note"])
    audit_record(
        actor=actor,
        action="sharing.contact_disclosure.cancel",
        obj=disclosure,
        details={"contact": disclosure.contact.reference, "duty": disclosure.duty},
    )
    return disclosure


@transaction.atomic
def contact_disclosure_receive(*, actor, disclosure: ContactDisclosure) -> ContactDisclosure:
    """The recipient confirms it has the disclosure (the hotline sees who and when)."""
    require(decide(actor, Action.RESPOND, disclosure))
    if disclosure.received_at is not None:
        return disclosure
    disclosure.received_by, disclosure.received_at = actor, timezone.now()
    disclosure.save(update_fields=["received_by", "received_at"])
    audit_record(
        actor=actor,
        action="sharing.contact_disclosure.receive",
        obj=disclosure,
        details={"contact": disclosure.contact.reference},
    )
    return disclosure
