"""The append-only, hash-chained audit log."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    OK = "ok", _("allowed")
    DENIED = "denied", _("denied")


def canonical_json(value) -> str:
    """One text for one value: sorted keys, no spaces, UTF-8 kept (control characters escaped)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder
    )


class CanonicalJSONField(models.TextField):
    """JSON kept as canonical text, so the chain hashes the stored text as it is (no parsing)."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else json.loads(value)

    def to_python(self, value):
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value):
        return None if value is None else canonical_json(value)

    def value_to_string(self, obj):
        return canonical_json(self.value_from_object(obj))


class AuditEvent(models.Model):
    """One audited action. ``details`` never holds protected content, only ids and codes.

    An event is written *pending* (``sequence``, ``prev_hash`` and ``hash`` empty) in the
    caller's transaction, and *sealed* into the chain right after that transaction commits
    (``services.seal_pending``): ``hash`` = SHA-256 over ``prev_hash``, ``sequence`` and the
    event's stored fields in a fixed order (``chain.CONTENT_FIELDS``), so an edited, deleted,
    inserted or reordered event breaks the chain.
    """

    sequence = models.BigIntegerField(unique=True, null=True, blank=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.OK)
    purpose = models.CharField(max_length=200, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    details = CanonicalJSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, null=True, blank=True)
    hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta:
        # Insertion order; the chain's own order is ``sequence`` (set when sealed).
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.sequence or 'pending'} {self.action} {self.outcome}"

    @property
    def sealed(self) -> bool:
        return self.sequence is not None


class ChainHead(models.Model):
    """A single row that sealers lock, so appends to the chain are serialised briefly."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"chain head #{self.sequence}"


class Checkpoint(models.Model):
    """A signed statement "the chain held event ``sequence`` with ``hash``" (Ed25519).

    A *checkpoint* lets verify notice a cut-off tail; an *anchor* records the last event
    that pruning removed, and verify starts the chain after it. Each is also appended to a
    file outside the database (``signing.checkpoint_file()``).
    """

    class Kind(models.TextChoices):
        CHECKPOINT = "checkpoint", _("checkpoint")
        ANCHOR = "anchor", _("anchor")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    sequence = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=100)

    class Meta:
        ordering = ["sequence", "id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.sequence}"
