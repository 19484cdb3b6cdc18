"""Background work for the SOP: remind the responsible people, escalate what is overdue."""

from __future__ import annotations

from datetime import timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from casebridge.accounts.models import Membership, Role
from casebridge.audit.services import audit_record
from casebridge.sharing.emergency import emergency_access_close_expired
from casebridge.sharing.models import InformationRequest, Obligation

REMIND_BEFORE = timedelta(hours=24)


@task()
def remind_and_escalate() -> dict[str, int]:
    """Remind of obligations due within a day; escalate overdue ones to the coordinators.

    Mails carry the case number and the rule, never the person or the content.
    """
    now = timezone.now()
    reminded = escalated = 0
    due_soon = Obligation.objects.filter(
        status=Obligation.Status.OPEN, reminded_at__isnull=True, due_at__lte=now + REMIND_BEFORE
    ).select_related("case", "responsible")
    for obligation in due_soon:
        with transaction.atomic():
            if obligation.responsible and obligation.responsible.email:
                send_mail(
                    f"casebridge: {obligation.case.number} – {obligation.rule}",
                    f"An obligation in case {obligation.case.number} ({obligation.rule}) is due "
                    f"{obligation.due_at:%Y-%m-%d %H:%M}. Open casebridge to meet it.",
                    None,
                    [obligation.responsible.email],
                )
            Obligation.objects.filter(pk=obligation.pk).update(reminded_at=now)
            audit_record(
                actor=None,
                action="sharing.obligation.remind",
                obj=obligation,
                details={"case": obligation.case.number, "rule": obligation.rule},
            )
            reminded += 1
    overdue = Obligation.objects.filter(
        status=Obligation.Status.OPEN, escalated_at__isnull=True, due_at__lt=now
    ).select_related("case__owner")
    for obligation in overdue:
        with transaction.atomic():
            coordinators = _coordinators(obligation.case.owner)
            if coordinators:
                send_mail(
                    f"casebridge: overdue – {obligation.case.number} – {obligation.rule}",
                    f"An obligation in case {obligation.case.number} ({obligation.rule}) was due "
                    f"{obligation.due_at:%Y-%m-%d %H:%M} and is still open.",
                    None,
                    coordinators,
                )
            Obligation.objects.filter(pk=obligation.pk).update(escalated_at=now)
            audit_record(
                actor=None,
                action="sharing.obligation.escalate",
                obj=obligation,
                details={
                    "case": obligation.case.number,
                    "rule": obligation.rule,
                    "coordinators": len(coordinators),
                },
            )
            escalated += 1
    return {"reminded": reminded, "escalated": escalated, **_remind_of_requests(now)}


def _coordinators(organisation) -> list[str]:
    return list(
        Membership.objects.active()
        .filter(organisation=organisation, role=Role.COORDINATOR, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def _remind_of_requests(now) -> dict[str, int]:
    """Requests for information as obligations: the named people of the organisation asked
    hear of one due within a day; its coordinators of one overdue. Case number only."""
    counts = {"requests_reminded": 0, "requests_escalated": 0}
    due_soon = InformationRequest.objects.filter(
        status=InformationRequest.Status.OPEN,
        reminded_at__isnull=True,
        due_at__lte=now + REMIND_BEFORE,
    ).select_related("case", "to_participant")
    for asked in due_soon:
        with transaction.atomic():
            people = list(
                asked.to_participant.members.filter(is_active=True)
                .exclude(email="")
                .values_list("email", flat=True)
            )
            if people:
                send_mail(
                    f"casebridge: {asked.case.number} – request for information",
                    f"A request for information in case {asked.case.number} is to be answered "
                    f"by {asked.due_at:%Y-%m-%d %H:%M}. Open casebridge to answer or refuse it.",
                    None,
                    people,
                )
            InformationRequest.objects.filter(pk=asked.pk).update(reminded_at=now)
            audit_record(
                actor=None,
                action="sharing.request.remind",
                obj=asked,
                details={"case": asked.case.number, "people": len(people)},
            )
            counts["requests_reminded"] += 1
    overdue = InformationRequest.objects.filter(
        status=InformationRequest.Status.OPEN, escalated_at__isnull=True, due_at__lt=now
    ).select_related("case", "to_participant__organisation")
    for asked in overdue:
        with transaction.atomic():
            coordinators = _coordinators(asked.to_participant.organisation)
            if coordinators:
                send_mail(
                    f"casebridge: overdue – {asked.case.number} – request for information",
                    f"A request for information in case {asked.case.number} was to be answered "
                    f"by {asked.due_at:%Y-%m-%d %H:%M} and is still open.",
                    None,
                    coordinators,
                )
            InformationRequest.objects.filter(pk=asked.pk).update(escalated_at=now)
            audit_record(
                actor=None,
                action="sharing.request.escalate",
                obj=asked,
                details={"case": asked.case.number, "coordinators": len(coordinators)},
            )
            counts["requests_escalated"] += 1
    return counts


@task()
def close_expired_emergency_access() -> int:
    """Write the end of emergency accesses that ran out into the audit log."""

    return emergency_access_close_expired()
