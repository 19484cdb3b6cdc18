"""Reads of the audit log that need no policy: what one user did in a time window (the
data protection officer's review of an emergency access). The officer's search and
export live in ``privacy.selectors``, a case's access history in ``cases.selectors``:
they ask the policy and the roles, which sit above the log."""

from __future__ import annotations

from casebridge.audit.models import AuditEvent


def events_of_user_between(user_id: int, start, end, *, limit: int = 1000) -> list[AuditEvent]:
    """What one user did in a time window (an emergency access under review); the caller
    has checked that the reader is a data protection officer."""
    return list(
        AuditEvent.objects.filter(
            actor_id=user_id, occurred_at__gte=start, occurred_at__lte=end
        ).order_by("occurred_at", "pk")[:limit]
    )
