"""Standard operating procedures (protocols as versioned data), the events and obligations
they produce, consents, and disclosures — the only way information leaves a scope."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.cases.models import Case, Entry, Participant
from casebridge.cooperation_models.models import Term
from casebridge.cooperation_models.schema import RuleEntry
from casebridge.crypto.fields import EncryptedTextField
from casebridge.hotline.models import Contact
from casebridge.labels import pick_label
from casebridge.network.models import Lesson, Organisation, OrganisationType
from casebridge.sop.events import EVENTS, HOTLINE_EVENTS


class Protocol(models.Model):
    """One version of an SOP, as agreed by its parties. Rules are kept as validated data."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        ACTIVE = "active", _("active")
        RETIRED = "retired", _("retired")

    code = models.SlugField(max_length=64)
    version = models.CharField(max_length=40)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    effective_from = models.DateField()
    effective_until = models.DateField(null=True, blank=True)
    parties = models.JSONField(default=list, help_text="organisation type codes that agreed")
    labels = models.JSONField(default=dict)
    description = models.JSONField(default=dict, blank=True)
    rules = models.JSONField(default=list)
    # Where the version comes from: the cooperation model file (loaded by an operator) or
    # the pages (drafted and agreed by the parties, issue 19). A model reload keeps its
    # hands off the versions the pages made.
    origin = models.CharField(
        max_length=5, choices=[("file", _("model file")), ("pages", _("drafted"))], default="file"
    )
    based_on = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lesson = models.ForeignKey(
        Lesson,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed from the lesson"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="protocol_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.version}"

    @property
    def label(self) -> str:
        return pick_label(self.labels, fallback=self.code)

    def parsed_rules(self):

        return [RuleEntry.model_validate(rule) for rule in self.rules]

    def content(self) -> dict:
        """What the parties sign: everything that changes what the procedure says, in one
        canonical shape (a rule's defaults left out, as a model file writes it). The date
        it takes effect is stated at activation, so it is not part of it."""
        data = {
            "code": self.code,
            "version": self.version,
            "parties": list(self.parties),
            "label": dict(sorted(self.labels.items())),
            "rules": [
                rule.model_dump(mode="json", exclude_defaults=True) for rule in self.parsed_rules()
            ],
        }
        if self.description:
            data["description"] = dict(sorted(self.description.items()))
        return data

    @property
    def content_hash(self) -> str:
        """SHA-256 of ``content()``: a signature holds for exactly this text."""
        canonical = json.dumps(self.content(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def in_force(self, day) -> bool:
        return (
            self.status == self.Status.ACTIVE
            and self.effective_from <= day
            and (self.effective_until is None or day <= self.effective_until)
        )


class CaseEvent(models.Model):
    """Something that happened in a case that the SOP reacts to."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    code = models.CharField(_("event"), max_length=32, choices=list(EVENTS.items()))
    event_date = models.DateField(_("date of the event"), null=True, blank=True)
    likelihood = models.CharField(max_length=24, blank=True)
    imminence = models.CharField(max_length=16, blank=True)
    entry = models.ForeignKey(
        Entry, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, null=True, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.code}"


class Obligation(models.Model):
    """A duty the SOP created: inform a recipient about categories by a deadline."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        FULFILLED = "fulfilled", _("fulfilled")
        CANCELLED = "cancelled", _("cancelled")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="obligations")
    event = models.ForeignKey(CaseEvent, on_delete=models.CASCADE, related_name="obligations")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    rule = models.CharField(max_length=64)
    label = models.CharField(max_length=300)
    recipient = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recipient_label = models.CharField(max_length=200)
    categories = models.JSONField(default=list)
    legal_basis = models.CharField(max_length=64)
    consent_required = models.BooleanField(default=False)
    second_approval = models.BooleanField(default=False)
    due_at = models.DateTimeField(null=True, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="obligations"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="why it was cancelled")

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.rule}"

    @property
    def rule_label(self) -> str:
        """The rule's label in the reader's language (the protocol keeps every language)."""
        for rule in self.protocol.rules:
            if rule.get("code") == self.rule:
                return pick_label(rule.get("label", {}), fallback=self.label)
        return self.label

    @property
    def overdue(self) -> bool:
        return (
            self.status == self.Status.OPEN
            and self.due_at is not None
            and self.due_at < timezone.now()
        )


class Consent(models.Model):
    """The person's consent to share: for which purpose, which categories, with whom, until when."""

    class GivenBy(models.TextChoices):
        PERSON = "person", _("the person")
        GUARDIAN = "guardian", _("legal guardian")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="consents")
    given_by = models.CharField(_("given by"), max_length=10, choices=GivenBy.choices)
    purpose = models.CharField(_("purpose"), max_length=300)
    categories = models.ManyToManyField(
        Term,
        related_name="+",
        limit_choices_to={"kind": "information_category"},
        verbose_name=_("categories"),
    )
    recipients = models.ManyToManyField(Participant, related_name="+", verbose_name=_("recipients"))
    given_on = models.DateField(_("given on"), default=timezone.localdate)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-given_on", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.purpose[:40]}"

    @property
    def in_force(self) -> bool:
        today = timezone.localdate()
        return self.withdrawn_at is None and (self.valid_until is None or self.valid_until >= today)


class InformationRequest(models.Model):
    """A participant asks another participant of the case for specific information, with a
    purpose and a legal basis, by a date. The addressee answers with a disclosure (the
    request is answered when that disclosure is approved) or refuses with a reason.
    Cooperation runs both ways: the police liaison asks the lead, the lead asks the police.
    A request shows nothing by itself: only an approved disclosure does."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ANSWERED = "answered", _("answered")
        REFUSED = "refused", _("refused")
        WITHDRAWN = "withdrawn", _("withdrawn")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="information_requests")
    from_participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    to_participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="+", verbose_name=_("asked")
    )
    categories = models.ManyToManyField(
        Term,
        related_name="+",
        limit_choices_to={"kind": "information_category"},
        verbose_name=_("categories asked for"),
    )
    question = models.CharField(_("what exactly is asked"), max_length=500)
    purpose = models.CharField(_("purpose"), max_length=300)
    legal_basis = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "legal_basis"},
        verbose_name=_("legal basis"),
    )
    due_at = models.DateTimeField(_("answer by"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    refusal = models.CharField(_("reason for the refusal"), max_length=500, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_participant_id} → {self.to_participant_id}"

    @property
    def overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.due_at < timezone.now()


class Disclosure(models.Model):
    """Information shared beyond a participant's scope: what, from whom, to whom, why, on which
    legal basis, with consent or a written justification, approved by whom and when."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="disclosures")
    from_participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    to_participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="+", verbose_name=_("recipient")
    )
    entries = models.ManyToManyField(
        Entry, related_name="disclosures", blank=True, verbose_name=_("items")
    )
    excerpt = models.TextField(_("excerpt"), blank=True)
    excerpt_category = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "information_category"},
        verbose_name=_("category of the excerpt"),
    )
    purpose = models.CharField(_("purpose"), max_length=300)
    legal_basis = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "legal_basis"},
        verbose_name=_("legal basis"),
    )
    consent = models.ForeignKey(
        Consent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disclosures",
        verbose_name=_("consent"),
    )
    justification = models.TextField(_("written justification"), blank=True)
    obligation = models.ForeignKey(
        Obligation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="disclosures",
        verbose_name=_("fulfils"),
    )
    answers = models.ForeignKey(
        InformationRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="disclosures",
        verbose_name=_("answers the request"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("second person asked to approve"),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.case_id}: → {self.to_participant_id}"


class EmergencyAccess(models.Model):
    """Break-glass: a coordinator reads a case they do not sit in, for a few hours, with a reason.

    Start and end are audited, every read during the access is audited as usual, and each access
    waits in the data protection officer's review queue until it is reviewed.
    """

    HOURS = (1, 2, 4)

    class Outcome(models.TextChoices):
        JUSTIFIED = "justified", _("justified")
        NOT_JUSTIFIED = "not_justified", _("not justified")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="emergency_accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        "network.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"))
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("ends at the latest"))
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_outcome = models.CharField(
        _("review outcome"), max_length=16, choices=Outcome.choices, blank=True
    )
    review_note = models.TextField(_("review note"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("emergency access")
        verbose_name_plural = _("emergency accesses")
        indexes = [models.Index(fields=["user", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.user_id} · {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def ends_at(self):
        """When the access ended or ends: on request, or at expiry."""
        return self.ended_at or self.expires_at

    @property
    def is_active(self) -> bool:
        return self.ended_at is None and self.expires_at > timezone.now()


class ContactEvent(models.Model):
    """Something the first analysis of a hotline contact found that the hotline's protocol
    reacts to (danger to others, to self, a child at risk). A contact has no case: the
    protocol's rules name the organisation type to inform."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="protocol_events")
    code = models.CharField(_("event"), max_length=32, choices=list(HOTLINE_EVENTS.items()))
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, null=True, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "code"], name="contact_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.code}"


class ContactDisclosure(models.Model):
    """The hotline informs an outside organisation about a contact: the obligation the
    protocol created and, once prepared, the disclosure itself — what (an excerpt and,
    where the rule allows, identifying details), to whom, why, on which legal basis, with
    a written weighing, approved by a second person of the hotline, received by whom.

    open: the protocol asks for it, nothing is prepared yet (or the second person sent it
    back); pending: prepared, waiting for the second person; sent: approved and readable
    by the recipient; cancelled: not sent, with the reason why.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("to do")
        PENDING = "pending", _("awaiting approval")
        SENT = "sent", _("sent")
        CANCELLED = "cancelled", _("not sent")

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="disclosures")
    event = models.ForeignKey(ContactEvent, on_delete=models.PROTECT, related_name="disclosures")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    rule = models.CharField(max_length=64)
    duty = models.CharField(max_length=12)  # must_inform | may_inform
    recipient_type = models.ForeignKey(
        OrganisationType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recipient_sector = models.CharField(max_length=64, blank=True)
    recipient = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contact_disclosures_received",
        verbose_name=_("recipient"),
    )
    categories = models.JSONField(default=list)
    legal_basis = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "legal_basis"},
        verbose_name=_("legal basis"),
    )
    due_at = models.DateTimeField(null=True, blank=True)
    excerpt = models.TextField(_("what is passed on"), blank=True)
    identity = EncryptedTextField(_("identifying details passed on"), blank=True)
    include_caller_contact = models.BooleanField(
        _("pass on the caller's contact details"), default=False
    )
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    justification = models.TextField(_("written weighing"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(null=True, blank=True)
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("second person"),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(
        _("note"), max_length=500, blank=True, help_text="why it was sent back or not sent"
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["recipient", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.rule}"

    @property
    def rule_label(self) -> str:
        for rule in self.protocol.rules:
            if rule.get("code") == self.rule:
                return pick_label(rule.get("label", {}), fallback=self.rule)
        return self.rule

    @property
    def overdue(self) -> bool:
        return (
            self.duty == "must_inform"
            and self.status in (self.Status.OPEN, self.Status.PENDING)
            and self.due_at is not None
            and self.due_at < timezone.now()
        )
