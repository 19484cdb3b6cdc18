"""Append to the audit chain, seal it, sign checkpoints, prune it and verify it.

Appending is two steps (docs/development.md, "Audit chain"): ``audit_record`` inserts a
*pending* event in the caller's transaction (a rollback leaves no event, and no lock is
taken), and once that transaction commits ``seal_pending`` chains the pending events in a
short transaction of its own, holding the chain head's lock only while it does. The worker
and ``audit verify`` seal too, so an event committed just before a crash is sealed later.
"""

from __future__ import annotations

import bisect
import ipaddress
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone, translation

from casebridge.audit import chain, signing
from casebridge.audit.models import AuditEvent, ChainHead, Checkpoint, Outcome
from casebridge.audit.sealer import BackgroundSealer
from casebridge.dbrouting import on_primary

GENESIS = chain.GENESIS
logger = logging.getLogger(__name__)

# Where the current request comes from; set by the middleware, read when an event is written.
request_origin: ContextVar[str | None] = ContextVar("request_origin", default=None)


def _address(raw: str | None) -> str | None:
    """The remote address as the chain stores it (IPv4-mapped IPv6 as plain IPv4)."""
    if not raw:
        return None
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


@on_primary  # an audit event is read, chained and written on the primary only
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
    """Write one event in the caller's transaction; it is chained when that transaction commits.

    ``details`` must hold ids, codes and counts only: never names, free text or other
    protected content.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=chain.clean(getattr(actor, "username", "") or "system"),
        action=chain.clean(action),
        object_type=chain.clean(object_type),
        object_id=chain.clean(str(object_id or "")),
        outcome=chain.clean(outcome),
        purpose=chain.clean(purpose),
        remote_addr=_address(request_origin.get()),
        details=details or {},
    )
    event.save(force_insert=True)
    _seal_on_commit()
    return event


# While a request runs (``sealing_at_the_end``, entered by the middleware), events written
# outside a transaction are sealed once when the request ends, or by the next seal in the
# request, instead of one seal each.
_seal_due: ContextVar[list[bool] | None] = ContextVar("audit_seal_due", default=None)


def _seal_on_commit() -> None:
    """Ask for one seal after the current transaction commits (at once outside one, or at
    the end of the request)."""
    if not connection.in_atomic_block:
        due = _seal_due.get()
        if due is not None:
            due[0] = True
            return
    elif any(
        callback is seal_after_commit for _sids, callback, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(seal_after_commit, robust=True)


def seal_after_commit() -> None:
    """Seal this request's events once its transaction has committed (the on-commit hook).

    A request does not queue for the lock: if another sealer holds it, that one looks
    for pending events again after letting go, and finds this transaction's. Either way
    the request's earlier events, committed before, are sealed too. With
    ``AUDIT_SEAL_IN_BACKGROUND`` the process's sealer thread does it (``audit.sealer``).
    """
    due = _seal_due.get()
    if due is not None:
        due[0] = False
    _seal_now()


def _seal_now() -> None:
    if settings.AUDIT_SEAL_IN_BACKGROUND:
        background_sealer.wake()
    else:
        seal_pending(wait=False, look_first=False)


@contextmanager
def sealing_at_the_end():
    """Seal the events a request wrote outside transactions once, when it ends.

    The events are committed (durable) when written; only their chaining waits for the
    end of the request, or for the seal after the request's next transaction, whichever
    comes first. A failed seal is logged and left to the worker, which seals what is
    pending; the request's own outcome stands.
    """
    due = [False]
    token = _seal_due.set(due)
    try:
        yield
    finally:
        _seal_due.reset(token)
        if due[0]:
            try:
                _seal_now()
            except Exception:
                logger.exception("audit: sealing at the end of a request failed")


def seal_pending(*, batch_size: int = 5000, wait: bool = True, look_first: bool = True) -> int:
    """Chain every pending event (in id order); return how many were sealed.

    After each batch it looks again, so events committed while it held the lock are
    sealed too. With ``wait=False`` it gives up when another sealer holds the lock.
    ``look_first=False``: the caller knows of a pending event, so the first batch skips
    the check.
    """
    total = 0
    while True:
        sealed = chain.seal_batch(batch_size, wait=wait, look_first=look_first)
        if not sealed:
            return total
        total += sealed
        look_first = True


# The process's sealer thread (``AUDIT_SEAL_IN_BACKGROUND``): it waits for the head's lock
# where a request would not, and seals everything pending each time it wakes.
background_sealer = BackgroundSealer(lambda: seal_pending(wait=True))


def audit_denied(
    *, actor, action: str, object_type: str, object_id: str | int, reason, purpose: str = ""
):
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
        purpose=purpose,
        details={"reason": str(reason)},
    )


def _store(record: signing.SignedRecord, at: datetime) -> Checkpoint:
    return Checkpoint.objects.create(
        kind=record.kind,
        sequence=record.sequence,
        hash=record.hash,
        created_at=at,
        key_id=record.key_id,
        signature=record.signature,
    )


def audit_checkpoint(*, actor=None, key_path: Path | None = None) -> Checkpoint | None:
    """Sign the chain's current end; store it in the table and append it to the file.

    Seals what is pending first. Writes nothing when the chain is empty or the newest
    checkpoint already covers its end (an idle worker does not grow the file).
    """
    seal_pending()
    private = signing.load_private_key(key_path)
    head = ChainHead.objects.filter(id=1).first()
    if head is None or head.sequence == 0:
        return None
    newest = Checkpoint.objects.filter(kind=Checkpoint.Kind.CHECKPOINT).order_by("-sequence")
    if newest.filter(sequence__gte=head.sequence).exists():
        return None
    at = timezone.now()
    record = signing.sign(
        private, kind=Checkpoint.Kind.CHECKPOINT, sequence=head.sequence, hash_=head.hash, at=at
    )
    with transaction.atomic():
        checkpoint = _store(record, at)
        signing.append_line(record)
    return checkpoint


def chain_end() -> int:
    """Seal what is pending; return the sequence of the chain's last event (0 when empty).

    A caller that prunes later in the same piece of work passes it as ``through_sequence``,
    so that only events that existed when the work began can go.
    """
    seal_pending()
    return ChainHead.objects.filter(id=1).values_list("sequence", flat=True).first() or 0


def _as_of(details) -> datetime | None:
    value = details.get("as_of") if isinstance(details, dict) else None
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _first_kept(before: datetime, through_sequence: int | None) -> int | None:
    """The first event (in chain order) that pruning before ``before`` must keep, or None.

    Kept are events that occurred on or after ``before``, events after ``through_sequence``,
    and events whose ``details`` say they were written ``as_of`` a moment on or after
    ``before``: a retention run evaluated at a future ``--now`` writes its record at real
    time, and a second run at the same ``--now`` must neither count nor remove it.
    """
    first = AuditEvent.objects.filter(sequence__isnull=False, occurred_at__gte=before).aggregate(
        first=Min("sequence")
    )["first"]
    if through_sequence is not None and (first is None or first > through_sequence + 1):
        first = through_sequence + 1
    dated = AuditEvent.objects.filter(
        sequence__isnull=False, occurred_at__lt=before, details__contains='"as_of":'
    )
    if first is not None:
        dated = dated.filter(sequence__lt=first)
    for sequence, details in dated.order_by("sequence").values_list("sequence", "details"):
        as_of = _as_of(details)
        if as_of is not None and as_of >= before:
            return sequence
    return first


@transaction.atomic
def audit_prune(
    *,
    before: datetime,
    actor=None,
    dry_run: bool = False,
    through_sequence: int | None = None,
    as_of: datetime | None = None,
) -> int:
    """Delete the oldest events that occurred before ``before`` — a prefix of the chain only.

    Pruning stops at the first event (in chain order) it must keep (``_first_kept``: one on
    or after ``before``, after ``through_sequence``, or written as of a moment on or after
    ``before``); a signed anchor records the sequence and hash of the last event removed,
    and verify starts after it. Returns the number of events removed (or, with ``dry_run``,
    that would be). A prune that removes something records an ``audit.pruned`` event, with
    ``as_of`` when given (a retention run's ``now``); one that removes nothing writes none.
    """
    seal_pending()
    with connection.cursor() as cursor:
        head_sequence, _head_hash = chain.lock_head(cursor)  # type: ignore[misc] - waits
    first_kept = _first_kept(before, through_sequence)
    last_pruned = head_sequence if first_kept is None else first_kept - 1
    doomed = AuditEvent.objects.filter(sequence__isnull=False, sequence__lte=last_pruned)
    count = doomed.count()
    if dry_run or not count:
        return count
    private = signing.load_private_key()  # no key, no pruning: the anchor must be signed
    last_hash = AuditEvent.objects.get(sequence=last_pruned).hash
    at = timezone.now()
    record = signing.sign(
        private, kind=Checkpoint.Kind.ANCHOR, sequence=last_pruned, hash_=last_hash, at=at
    )
    _store(record, at)
    doomed.delete()
    # Written before the commit: a file anchor whose events survived a rollback is
    # harmless (verify then checks it like a checkpoint), a missing one would not be.
    signing.append_line(record)
    details = {"count": count, "through_sequence": last_pruned}
    if as_of is not None:
        details["as_of"] = as_of.isoformat()
    audit_record(actor=actor, action="audit.pruned", details=details)
    return count


@dataclass(frozen=True)
class Break:
    sequence: int
    problem: str


@dataclass
class VerifyResult:
    checked: int
    broken: Break | None
    pending: int = 0
    first: int = 1
    last: int = 0
    checkpoints: int = 0
    anchor: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken is None


def _signed_records(public_key: Path | None) -> tuple[list[signing.SignedRecord], Break | None]:
    """Every checkpoint and anchor from the table and the file, signatures checked."""
    records = [
        signing.SignedRecord(
            kind=row.kind,
            sequence=row.sequence,
            hash=row.hash,
            created_at=signing.time_text(row.created_at),
            key_id=row.key_id,
            signature=row.signature,
        )
        for row in Checkpoint.objects.order_by("sequence", "id")
    ]
    for item in signing.read_lines():
        if isinstance(item, int):
            return [], Break(0, f"line {item} of the checkpoint file is not a checkpoint")
        records.append(item)
    if not records:
        return [], None
    public = (
        signing.load_public_key(public_key)
        if public_key
        else signing.load_private_key().public_key()
    )
    for record in records:
        if not signing.signature_valid(public, record):
            where = "" if record.source == "database" else f" ({record.source})"
            return [], Break(
                record.sequence,
                f"the {record.kind} at sequence {record.sequence}{where} has an invalid signature",
            )
    return records, None


def audit_verify(
    *, seal: bool = True, public_key: Path | None = None, batch_size: int = 50000
) -> VerifyResult:
    """Walk the chain and check every signed checkpoint; report the first break.

    Seals pending events first (unless ``seal=False``) and reports how many remain pending.
    The chain starts at genesis, or after the newest signed anchor left by pruning.
    """
    if seal:
        seal_pending()
    pending = AuditEvent.objects.filter(sequence__isnull=True).count()
    records, broken = _signed_records(public_key)
    if broken:
        return VerifyResult(0, broken, pending)
    first_present = AuditEvent.objects.aggregate(first=Min("sequence"))["first"]
    anchors = [
        r
        for r in records
        if r.kind == Checkpoint.Kind.ANCHOR
        and (first_present is None or r.sequence < first_present)
    ]
    anchor = max(anchors, key=lambda r: r.sequence, default=None)
    base, expected_prev = (anchor.sequence, anchor.hash) if anchor else (0, GENESIS)
    wanted: dict[int, list[signing.SignedRecord]] = {}
    for record in records:
        if record.sequence > base:
            wanted.setdefault(record.sequence, []).append(record)

    expected = base + 1
    checked = 0
    distinct = {(r.kind, r.sequence, r.hash, r.signature) for r in records}
    result = VerifyResult(
        0, None, pending, first=expected, checkpoints=len(distinct), anchor=anchor and base
    )
    checkpointed = sorted(wanted)
    for rows in chain.iter_sealed(base, batch_size):
        start = expected
        expected, expected_prev, problem = chain.walk(rows, expected, expected_prev)
        # Signed checkpoints among the events that passed (contiguous from ``start``).
        low = bisect.bisect_left(checkpointed, start)
        for sequence in checkpointed[low : bisect.bisect_left(checkpointed, expected)]:
            if any(r.hash != rows[sequence - start][2] for r in wanted[sequence]):
                problem = sequence, f"event {sequence} does not match its signed checkpoint"
                expected = sequence
                break
        checked = expected - base - 1
        if problem:
            result.broken = Break(*problem)
            result.checked, result.last = checked, expected - 1
            return result
    result.checked, result.last = checked, expected - 1
    last = expected - 1
    head = ChainHead.objects.filter(id=1).first()
    if head and (head.sequence != last or head.hash != expected_prev):
        result.broken = Break(last + 1, "events after this point were removed")
    newest = max(wanted, default=0)
    if result.broken is None and newest > last:
        result.broken = Break(
            last + 1,
            f"events after sequence {last} were removed: the chain ends before the signed "
            f"checkpoint at sequence {newest}",
        )
    if not records and last:
        result.warnings.append("no signed checkpoint yet: a cut-off tail would go unnoticed")
    return result
