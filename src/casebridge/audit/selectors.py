"""Reads of the audit log: for the data protection officer, and a case's access history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404

from casebridge.access.policy import Action, decide, organisations_with
from casebridge.accounts.models import Role
from casebridge.accounts.stepup import demand
from casebridge.audit import chain
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_record, chain_end
from casebridge.dates import day_range

PER_PAGE = 100
EXPORT_CHUNK = 2000


def _events_for_dpo(
    actor,
    *,
    username: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    outcome: str = "",
    day_from: date | None = None,
    day_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """The events the filters select; only for data protection officers (404 for others)."""
    if not organisations_with(actor, frozenset({Role.DATA_PROTECTION_OFFICER})):
        raise Http404
    events = AuditEvent.objects.all()
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
    return events.filter(**day_range("occurred_at", day_from, day_to))


def _recorded(filters: dict) -> dict:
    """The filters as the audit event keeps them: the ones set, dates as text."""
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in sorted(filters.items())
        if value
    }


def events_for_dpo(actor, *, page: int | str = 1, **filters) -> Page:
    """One page (newest first) of who accessed what, filtered; ``page.paginator.count`` is
    how many events match. Only for data protection officers (404 for others)."""
    events = _events_for_dpo(actor, **filters).order_by("-id")
    shown = Paginator(events, PER_PAGE).get_page(page)
    audit_record(
        actor=actor,
        action="audit.log.view",
        purpose="data protection review",
        details={"filters": _recorded(filters), "page": shown.number},
    )
    return shown


@dataclass(frozen=True)
class Export:
    """Every matching event up to the chain's end when the export began, oldest first."""

    count: int
    rows: Iterator[tuple]  # (sequence, prev_hash, hash, *chain.CONTENT_FIELDS) as hashed


def _chain_rows(events: QuerySet[AuditEvent], chunk: int) -> Iterator[tuple]:
    """The events in chain order with their hashed content split into its fields, read in
    keyset chunks (constant memory however many there are)."""
    # The chain's own content expression (constants only), so the fields are the hashed text.
    content = RawSQL(chain.content_sql(connection.vendor), ())  # noqa: S611
    rows = events.annotate(content=content).order_by("sequence")
    after = 0
    while True:
        batch = list(
            rows.filter(sequence__gt=after).values_list("sequence", "prev_hash", "hash", "content")[
                :chunk
            ]
        )
        for sequence, prev_hash, hash_, text in batch:
            yield (sequence, prev_hash, hash_, *text.split(chain.SEPARATOR))
        if len(batch) < chunk:
            return
        after = batch[-1][0]


def export_for_dpo(actor, *, fmt: str, chunk: int = EXPORT_CHUNK, **filters) -> Export:
    """Every event the filters select — no cap — with its chain position and hash, for an
    auditor to verify (docs/operations.md). Seals what is pending first and stops at the
    chain's end then, so the count is exact; the export is audited (filters, format and
    count). Only for data protection officers (404 for others), in a confirmed browser
    session (a step-up action: ``accounts.stepup``)."""
    demand("audit.log.export", actor=actor)
    events = _events_for_dpo(actor, **filters).filter(sequence__lte=chain_end())
    count = events.count()
    audit_record(
        actor=actor,
        action="audit.log.export",
        purpose="data protection review",
        details={"filters": _recorded(filters), "format": fmt, "count": count},
    )
    return Export(count, _chain_rows(events, chunk))


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
