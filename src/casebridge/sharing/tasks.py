"""Background work for the SOP: remind the responsible people, escalate what is overdue."""

from __future__ import annotations

from datetime import timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from casebridge.audit.services import audit_record
from casebridge.sharing.emergency import emergency_access_close_expired
from casebridge.sharing.models import ContactDisclosure, InformationRequest, Obligation
from casebridge.sharing.selectors import coordinator_emails

REMIND_BEFORE = timedelta(hours=24)


@task()
def remind_and_escalate() -> dict[str, int]:
    """Remind of obligations and requests for information due within a day; escalate
    overdue ones to the coordinators. Mails carry the case number (and an obligation's
    rule), never the person or the content."""
    now = timezone.now()
    counts = dict.fromkeys(
        ("reminded", "escalated", "requests_reminded", "requests_escalated", "hotline_escalated"),
        0,
    )
    open_obligations = Obligation.objects.filter(status=Obligation.Status.OPEN)
    for obligation in open_obligations.filter(
        reminded_at__isnull=True, due_at__lte=now + REMIND_BEFORE
    ).select_related("case", "responsible"):
        number, rule = obligation.case.number, obligation.rule
        responsible = obligation.responsible
        counts["reminded"] += _tell_once(
            obligation,
            "reminded_at",
            now,
            [responsible.email] if responsible and responsible.email else [],
            f"casebridge: {number} – {rule}",
            f"An obligation in case {number} ({rule}) is due "
            f"{obligation.due_at:%Y-%m-%d %H:%M}. Open casebridge to meet it.",
            "sharing.obligation.remind",
            {"case": number, "rule": rule},
        )
    for obligation in open_obligations.filter(
        escalated_at__isnull=True, due_at__lt=now
    ).select_related("case__owner"):
        number, rule = obligation.case.number, obligation.rule
        coordinators = coordinator_emails(obligation.case.owner_id)
        counts["escalated"] += _tell_once(
            obligation,
            "escalated_at",
            now,
            coordinators,
            f"casebridge: overdue – {number} – {rule}",
            f"An obligation in case {number} ({rule}) was due "
            f"{obligation.due_at:%Y-%m-%d %H:%M} and is still open.",
            "sharing.obligation.escalate",
            {"case": number, "rule": rule, "coordinators": len(coordinators)},
        )
    open_requests = InformationRequest.objects.filter(status=InformationRequest.Status.OPEN)
    for asked in open_requests.filter(
        reminded_at__isnull=True, due_at__lte=now + REMIND_BEFORE
    ).select_related("case", "to_participant"):
        number = asked.case.number
        people = list(
            asked.to_participant.members.filter(is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        counts["requests_reminded"] += _tell_once(
            asked,
            "reminded_at",
            now,
            people,
            f"casebridge: {number} – request for information",
            f"A request for information in case {number} is to be answered by "
            f"{asked.due_at:%Y-%m-%d %H:%M}. Open casebridge to answer or refuse it.",
            "sharing.request.remind",
            {"case": number, "people": len(people)},
        )
    for asked in open_requests.filter(escalated_at__isnull=True, due_at__lt=now).select_related(
        "case", "to_participant"
    ):
        number = asked.case.number
        coordinators = coordinator_emails(asked.to_participant.organisation_id)
        counts["requests_escalated"] += _tell_once(
            asked,
            "escalated_at",
            now,
            coordinators,
            f"casebridge: overdue – {number} – request for information",
            f"A request for information in case {number} was to be answered by "
            f"{asked.due_at:%Y-%m-%d %H:%M} and is still open.",
            "sharing.request.escalate",
            {"case": number, "coordinators": len(coordinators)},
        )
    # The hotline's deadlines are hours: an overdue must-inform goes to its coordinators.
    for item in ContactDisclosure.objects.filter(
        duty="must_inform",
        status__in=(ContactDisclosure.Status.OPEN, ContactDisclosure.Status.PENDING),
        escalated_at__isnull=True,
        due_at__lt=now,
    ).select_related("contact"):
        reference, rule = item.contact.reference, item.rule
        coordinators = coordinator_emails(item.contact.organisation_id)
        counts["hotline_escalated"] += _tell_once(
            item,
            "escalated_at",
            now,
            coordinators,
            f"casebridge: overdue – {reference} – {rule}",
            f"A disclosure the hotline must make for contact {reference} ({rule}) was due "
            f"{item.due_at:%Y-%m-%d %H:%M} and is not sent yet.",
            "sharing.contact_disclosure.escalate",
            {"contact": reference, "rule": rule, "coordinators": len(coordinators)},
        )
    return counts


def _tell_once(item, stamp: str, now, people, subject, body, action, details) -> int:
    """Mail ``people`` (if any), stamp the item so that it is told once, and record it."""
    with transaction.atomic():
        if people:
            send_mail(subject, body, None, people)
        type(item).objects.filter(pk=item.pk).update(**{stamp: now})
        audit_record(actor=None, action=action, obj=item, details=details)
    return 1


@task()
def close_expired_emergency_access() -> int:
    """Write the end of emergency accesses that ran out into the audit log."""

    return emergency_access_close_expired()
