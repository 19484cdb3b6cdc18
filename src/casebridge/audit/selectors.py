"""Reads of the audit log: for the data protection officer, and a case's access history."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.http import Http404

from casebridge.accounts.models import Role
from casebridge.accounts.stepup import demand
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_record
from casebridge.dates import day_range
from casebridge.sharing.policy import Action, decide, organisations_with


def events_for_dpo(
    actor,
    *,
    username: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    outcome: str = "",
    day_from: date | None = None,
    day_to: date | None = None,
    limit: int = 500,
    record_as: str = "audit.log.view",
) -> QuerySet[AuditEvent]:
    """Who accessed what, filtered; only for data protection officers (404 for others)."""
    if not organisations_with(actor, frozenset({Role.DATA_PROTECTION_OFFICER})):
        raise Http404
    events = AuditEvent.objects.order_by("-id")
    if username:
        events = events.filter(actor_label=username)
    if action:
        events = events.filter(action__startswith=action)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if outcome:
        events = events.filter(outcome=outcome)
    events = events.filter(**day_range("occurred_at", day_from, day_to))
    audit_record(
        actor=actor,
        action=record_as,
        purpose="data protection review",
        details={"filters": [f for f in (username, action, object_type, object_id, outcome) if f]},
    )
    return events[:limit]


def audit_log_export(actor, **filters) -> QuerySet[AuditEvent]:
    """The filtered log for a download: a step-up action (a confirmed browser session)."""
    demand("audit.log.export", actor=actor)
    return events_for_dpo(actor, **filters, record_as="audit.log.export")


def case_access_history(actor, case) -> list[AuditEvent]:
    """Every recorded access to a case and its items, for the case's lead organisation."""
    if not decide(actor, Action.CHANGE, case):
        raise Http404
    events = list(
        AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).order_by("-id")[
            :500
        ]
    )
    audit_record(
        actor=actor, action="audit.case_history.view", obj=case, details={"number": case.number}
    )
    return events


def events_of_user_between(user_id: int, start, end, *, limit: int = 1000) -> list[AuditEvent]:
    """What one user did in a time window (an emergency access under review); the caller
    has checked that the reader is a data protection officer."""
    return list(
        AuditEvent.objects.filter(
            actor_id=user_id, occurred_at__gte=start, occurred_at__lte=end
        ).order_by("occurred_at", "pk")[:limit]
    )
