"""Data subject requests (GDPR Art. 15 and 17), handled by the data protection officer."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.crypto.fields import EncryptedTextField
from casebridge.crypto.files import private_storage


class SubjectRequest(models.Model):
    """A person's request to see (access) or remove (erasure) what is held about them.

    The data protection officer's only route to content: every object read for it is
    audited with the purpose "subject request <reference>". The export (its text, and the
    bundle with the documents) is stored encrypted (it is what the officer reviewed, byte
    for byte) and dropped when the request closes.
    """

    class Kind(models.TextChoices):
        ACCESS = "access", _("access (a copy of the data)")
        ERASURE = "erasure", _("erasure")

    class Article(models.TextChoices):
        ART_15 = "art15", _("Art. 15 GDPR (right of access)")
        ART_17 = "art17", _("Art. 17 GDPR (right to erasure)")
        ART_18 = "art18", _("Art. 18 GDPR (restriction of processing)")
        ART_21 = "art21", _("Art. 21 GDPR (right to object)")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        PREPARED = "prepared", _("export prepared")
        REVIEWED = "reviewed", _("reviewed")
        RELEASED = "released", _("released")
        CLOSED = "closed", _("closed")

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    article = models.CharField(_("GDPR article"), max_length=8, choices=Article.choices)
    requester_note = EncryptedTextField(_("requester's note"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    received_on = models.DateField(_("received on"), default=timezone.localdate)
    due_on = models.DateField(_("answer due"))
    # The records found to be about the person: {"cases": [...], "contacts": [...],
    # "related_people": [...]} (ids only).
    subjects = models.JSONField(default=dict, blank=True)
    export = EncryptedTextField(blank=True)
    # The copy for the person: a ZIP of export.json (the text above) and the documents,
    # encrypted at rest like every stored file; the digest is the ZIP's SHA-256.
    export_file = models.FileField(storage=private_storage, upload_to="exports/", blank=True)
    export_digest = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    prepared_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("subject request")
        verbose_name_plural = _("subject requests")

    def __str__(self) -> str:
        return self.reference

    @property
    def purpose(self) -> str:
        """The audit purpose of every read made for this request."""
        return f"subject request {self.reference}"

    @property
    def subject_count(self) -> int:
        return sum(len(ids) for ids in (self.subjects or {}).values())
