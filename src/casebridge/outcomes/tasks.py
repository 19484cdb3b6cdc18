"""Reminders of follow-ups: a week before one is due, its case's lead worker is told by
mail (the case number and the day, never the person). Only follow-ups whose case's
consent is in force: without consent nobody is ever contacted, so nobody is reminded."""

from __future__ import annotations

from datetime import timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from casebridge.audit.services import audit_record
from casebridge.cases.models import Participant
from casebridge.outcomes.models import FollowUp

REMIND_DAYS_BEFORE = 7


def _lead_emails(case_id: int) -> list[str]:
    """The lead worker of the case's lead organisation, else its named members."""
    lead = (
        Participant.objects.active()
        .filter(case_id=case_id, role__attributes__lead=True)
        .select_related("lead_worker")
        .first()
    )
    if lead is None:
        return []
    if lead.lead_worker and lead.lead_worker.is_active and lead.lead_worker.email:
        return [lead.lead_worker.email]
    return list(
        lead.members.filter(is_active=True).exclude(email="").values_list("email", flat=True)
    )


@task()
def remind_follow_ups() -> int:
    """Remind once of each planned follow-up due within a week; return how many."""
    today = timezone.localdate()
    due = FollowUp.objects.filter(
        status=FollowUp.Status.PLANNED,
        reminded_at__isnull=True,
        due_on__lte=today + timedelta(days=REMIND_DAYS_BEFORE),
        case__follow_up_consent__given=True,
        case__follow_up_consent__withdrawn_at__isnull=True,
    ).select_related("case")
    reminded = 0
    for follow_up in due:
        with transaction.atomic():
            claimed = FollowUp.objects.filter(pk=follow_up.pk, reminded_at__isnull=True).update(
                reminded_at=timezone.now()
            )
            if not claimed:
                continue  # another worker took it
            number = follow_up.case.number
            people = _lead_emails(follow_up.case_id)
            if people:
                send_mail(
                    f"casebridge: {number} – follow-up",
                    f"A follow-up of the closed case {number} is due on "
                    f"{follow_up.due_on:%Y-%m-%d}. The person agreed to be contacted; "
                    "record the result in casebridge (section Outcomes and follow-up).",
                    None,
                    people,
                )
            audit_record(
                actor=None,
                action="outcomes.follow_up.remind",
                obj=follow_up,
                details={"case": number, "people": len(people)},
            )
            reminded += 1
    return reminded
