"""Cooperation between independent installations (issue 22).

An ``Agreement`` comes from the cooperation model file ([federation], loaded by
``model load``): the partner installation, its address and public signing key, what may
cross in each direction, who may act and how long copies are kept. Every message sent or
received under it is a ``Message`` row, in the audit chain too; a handover of a case to
or from the partner is a ``CrossHandover``; ``MatchDigest`` holds the keyed digests this
installation answers person matches from, never the names themselves.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.cases.models import Case
from casebridge.crypto.fields import EncryptedTextField
from casebridge.network.models import Organisation


class Agreement(models.Model):
    """One federation agreement with one partner installation, as the model file says."""

    code = models.CharField(max_length=64, unique=True)
    version = models.CharField(max_length=200)
    partner = models.CharField(_("partner installation"), max_length=64)
    partner_labels = models.JSONField(default=dict)
    address = models.URLField(_("address"), max_length=300)
    # raw Ed25519 public key of the partner, base64
    public_key = models.CharField(max_length=64)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    copies_kept_days = models.PositiveIntegerField(_("copies kept (days)"))
    # code of this model's case closing reason a case gets when it has moved to the partner
    closing_reason = models.CharField(max_length=64)
    # this installation's organisations whose staff act under the agreement
    organisations = models.ManyToManyField(Organisation, related_name="+", blank=True)
    # what may cross: {"send": [{purpose, categories, legal_basis, partner_legal_basis,
    # receiving_sector}], "receive": [...]} (schema.FederationDirection)
    terms = models.JSONField(default=dict)
    labels = models.JSONField(default=dict)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("federation agreement")
        verbose_name_plural = _("federation agreements")

    def __str__(self) -> str:
        return self.code

    def in_force(self, on=None) -> bool:
        day = on or timezone.localdate()
        return (
            self.active
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
        )


class Direction(models.TextChoices):
    OUT = "out", _("sent")
    IN = "in", _("received")


class Message(models.Model):
    """One protocol message, sent or received, with the hashes both sides record.

    ``envelope`` holds the signed message as it went over the wire (encrypted at rest; it
    may carry identity data) until the agreement's copies period ends; the row, its
    hashes and its metadata stay as the record of the flow.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for delivery")
        DELIVERED = "delivered", _("delivered")
        REFUSED = "refused", _("refused")
        RECEIVED = "received", _("received")

    agreement = models.ForeignKey(
        Agreement, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    # the partner installation as the message named it (kept for refusals of strangers)
    partner = models.CharField(max_length=64)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_id = models.CharField(max_length=36)
    thread = models.CharField(max_length=36, blank=True)
    type = models.CharField(max_length=32)
    # sha256 of the canonical message, and of the other side's answer to it
    hash = models.CharField(max_length=64, db_index=True)
    answer_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    refusal_code = models.CharField(max_length=40, blank=True)
    categories = models.JSONField(default=list, blank=True)
    legal_basis = models.CharField(max_length=200, blank=True)
    case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    envelope = EncryptedTextField(blank=True)
    answer = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=40, blank=True)
    scrubbed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("federation message")
        verbose_name_plural = _("federation messages")
        constraints = [
            # a message is processed once: a replay finds its first record
            models.UniqueConstraint(
                fields=["partner", "direction", "message_id"],
                condition=~models.Q(status="refused"),
                name="federation_message_once",
            )
        ]
        indexes = [models.Index(fields=["direction", "status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.direction} {self.type} {self.message_id}"


class CrossHandover(models.Model):
    """A case moving to (``out``) or arriving from (``in``) a partner installation."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        WITHDRAWN = "withdrawn", _("withdrawn")
        REFUSED = "refused", _("refused by the partner installation")
        COMPLETED = "completed", _("completed")

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="handovers")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    thread = models.CharField(max_length=36)
    status = models.CharField(max_length=10, choices=Status.choices)
    # out: the case that leaves; in: the case opened here on acceptance
    case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # in: the organisation that took the case over, and who accepted (its lead worker)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    categories = models.JSONField(default=list)
    # the sender's basis: how the person consented, or a legal basis and its justification
    consent_note = models.CharField(max_length=300, blank=True)
    legal_basis = models.CharField(max_length=200, blank=True)
    justification = EncryptedTextField(blank=True)
    reason = EncryptedTextField(blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    language = models.CharField(max_length=8, blank=True)
    pseudonym = models.CharField(max_length=60, blank=True)
    decline_reason = EncryptedTextField(blank=True)
    # the partner's name for its side (its case number once accepted), shown to users
    partner_reference = models.CharField(max_length=40, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("handover to or from a partner installation")
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "direction", "thread"], name="federation_handover_thread"
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.thread}"


class MatchDigest(models.Model):
    """Keyed digests of an open case's identity under one agreement's match key.

    ``source`` is the case's ``identity_index`` when the digests were made: a case whose
    index changed since is digested again before the next match is answered.
    """

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)
    digest = models.CharField(max_length=64)
    source = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "case", "kind"], name="federation_match_digest_once"
            )
        ]
        indexes = [models.Index(fields=["agreement", "kind", "digest"])]

    def __str__(self) -> str:
        return f"{self.agreement_id}/{self.case_id}/{self.kind}"
