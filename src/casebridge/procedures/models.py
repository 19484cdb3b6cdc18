"""The SOP as an agreement (issue 19): who signs a version, and what the parties remark on
it while it is a draft. The versions themselves are ``sharing.Protocol``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.network.models import Organisation
from casebridge.sharing.models import Protocol


class ProtocolSignatory(models.Model):
    """Who signs a version for the agreement (issue 19): one organisation for each party
    type the protocol names, through a named person of it, and a legal reviewer. A
    signature holds for the exact text signed (its content hash); an edit of the draft
    after it asks for a new one."""

    class Kind(models.TextChoices):
        PARTY = "party", _("party")
        LEGAL = "legal", _("legal review")

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="signatories")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    # the party's organisation type code; "" for the legal reviewer
    party = models.CharField(max_length=64, blank=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    named_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["protocol", "kind", "party"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "party"], name="protocol_one_signatory")
        ]

    def __str__(self) -> str:
        return f"{self.protocol_id}: {self.party or self.kind}"

    def signed(self, content_hash: str) -> bool:
        """Signed, and for exactly the text ``content_hash`` stands for."""
        return self.signed_at is not None and self.signed_hash == content_hash


class ProtocolComment(models.Model):
    """A remark on a draft, on one rule or on the whole version, by a party or reviewer."""

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="comments")
    rule = models.CharField(_("rule"), max_length=64, blank=True)
    text = models.TextField(_("comment"), max_length=2000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["protocol", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.protocol_id}: {self.rule or '-'}"
