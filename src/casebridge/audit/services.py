"""Append to the audit chain and verify it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone, translation

from casebridge.audit.models import AuditEvent, ChainHead, Outcome

GENESIS = "0" * 64

# Where the current request comes from; set by the middleware, read when an event is written.
request_origin: ContextVar[str | None] = ContextVar("request_origin", default=None)


def _digest(prev_hash: str, payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _payload(event: AuditEvent) -> dict:
    return {
        "sequence": event.sequence,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "purpose": event.purpose,
        "remote_addr": event.remote_addr,
        "details": event.details,
    }


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    outcome: str = Outcome.OK,
    purpose: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction.

    ``details`` must hold ids, codes and counts only: never names, free text or other
    protected content.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    with transaction.atomic():
        head, _created = ChainHead.objects.select_for_update().get_or_create(id=1)
        event = AuditEvent(
            sequence=head.sequence + 1,
            occurred_at=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=getattr(actor, "username", "") or "system",
            action=action,
            object_type=object_type,
            object_id=str(object_id or ""),
            outcome=outcome,
            purpose=purpose,
            remote_addr=request_origin.get(),
            details=details or {},
            prev_hash=head.hash,
        )
        event.hash = _digest(event.prev_hash, _payload(event))
        event.save(force_insert=True)
        head.sequence, head.hash = event.sequence, event.hash
        head.save(update_fields=["sequence", "hash"])
    return event


def audit_denied(*, actor, action: str, object_type: str, object_id: str | int, reason):
    """Record a denied attempt; the reason names roles and categories, never content.

    ``reason`` may be a policy decision: it is then written in English, so the log reads
    the same whoever was refused.
    """
    if hasattr(reason, "reason"):
        with translation.override("en"):
            reason = reason.reason
    return audit_record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=Outcome.DENIED,
        details={"reason": reason},
    )


@dataclass(frozen=True)
class Break:
    sequence: int
    problem: str


def audit_verify(*, batch_size: int = 5000) -> tuple[int, Break | None]:
    """Walk the chain from the start; return the number of events checked and the first break."""
    expected_prev = GENESIS
    expected_sequence = 1
    checked = 0
    for event in _iter_events(batch_size):
        if event.sequence != expected_sequence:
            return checked, Break(expected_sequence, f"event {expected_sequence} is missing")
        if event.prev_hash != expected_prev:
            return checked, Break(event.sequence, "link to the previous event is broken")
        if _digest(event.prev_hash, _payload(event)) != event.hash:
            return checked, Break(event.sequence, "content does not match its hash")
        expected_prev = event.hash
        expected_sequence += 1
        checked += 1
    head = ChainHead.objects.filter(id=1).first()
    if head and (head.sequence != checked or head.hash != expected_prev):
        return checked, Break(checked + 1, "events after this point were removed")
    return checked, None


def _iter_events(batch_size: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        batch = list(AuditEvent.objects.filter(sequence__gt=last).order_by("sequence")[:batch_size])
        if not batch:
            return
        yield from batch
        last = batch[-1].sequence
