"""Hotline contacts (calls, mails, chats, letters), referrals to partners and their history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.cooperation_models.models import Term
from casebridge.crypto.fields import EncryptedCharField
from casebridge.crypto.keys import name_index
from casebridge.network.models import Organisation, Region


class Channel(models.TextChoices):
    PHONE = "phone", _("phone")
    EMAIL = "email", _("e-mail")
    CHAT = "chat", _("chat")
    LETTER = "letter", _("letter")
    IN_PERSON = "in_person", _("in person")


class AgeBand(models.TextChoices):
    UNKNOWN = "unknown", _("unknown")
    UNDER_14 = "under_14", _("under 14")
    AGE_14_17 = "14_17", _("14–17")
    AGE_18_21 = "18_21", _("18–21")
    AGE_22_27 = "22_27", _("22–27")
    AGE_28_PLUS = "28_plus", _("28 and older")


class Gender(models.TextChoices):
    UNKNOWN = "unknown", _("unknown")
    FEMALE = "female", _("female")
    MALE = "male", _("male")
    DIVERSE = "diverse", _("diverse")


class Answer(models.TextChoices):
    """An answer to a point of the first analysis."""

    YES = "yes", _("yes")
    NO = "no", _("no")
    UNCLEAR = "unclear", _("unclear")


MODE_REQUIRED = _(
    "Choose whether the caller consented to pass on contact details or stays anonymous."
)


def _term(kind: str, **options):
    return models.ForeignKey(
        Term, on_delete=models.PROTECT, related_name="+", limit_choices_to={"kind": kind}, **options
    )


class Contact(models.Model):
    """One contact with the hotline. Anonymous unless the caller gives an identity.

    The person of concern is described without identity (age band, gender, region).
    """

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="hotline_contacts"
    )
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hotline_contacts"
    )
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    started_at = models.DateTimeField(_("start"))
    ended_at = models.DateTimeField(_("end"), null=True, blank=True)
    language = _term("language", verbose_name=_("language"))
    interpreter_used = models.BooleanField(_("interpreter used"), default=False)

    caller_category = _term("caller_category", verbose_name=_("caller category"))
    caller_relation = _term(
        "caller_relation", verbose_name=_("relation to the person"), null=True, blank=True
    )
    anonymous = models.BooleanField(_("anonymous"), default=True)
    caller_name = EncryptedCharField(_("caller's name"), max_length=200, blank=True)
    caller_phone = EncryptedCharField(_("caller's phone"), max_length=60, blank=True)
    caller_email = EncryptedCharField(_("caller's e-mail"), max_length=254, blank=True)
    caller_postcode = models.CharField(_("caller's postcode"), max_length=16, blank=True)
    caller_region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("caller's region"),
    )

    person_age_band = models.CharField(
        _("age band"), max_length=8, choices=AgeBand.choices, default=AgeBand.UNKNOWN
    )
    person_gender = models.CharField(
        _("gender"), max_length=8, choices=Gender.choices, default=Gender.UNKNOWN
    )
    person_region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("region of the person"),
    )
    concern_topics = models.ManyToManyField(
        Term,
        related_name="+",
        blank=True,
        limit_choices_to={"kind": "concern_topic"},
        verbose_name=_("concern topics"),
    )

    # The first analysis on the phone: {point code: "yes" | "no" | "unclear"}, the points
    # from the cooperation model (Term kind first_analysis). Unasked points are absent.
    first_analysis = models.JSONField(_("first analysis"), default=dict, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    advice = models.TextField(_("advice given"), blank=True)
    contact_category = _term("contact_category", verbose_name=_("contact category"))
    closing_reason = _term(
        "closing_reason", verbose_name=_("closing reason"), null=True, blank=True
    )
    next_steps = models.TextField(_("next steps"), blank=True)
    follow_up_on = models.DateField(_("follow-up date"), null=True, blank=True)
    follow_up_done_at = models.DateTimeField(_("follow-up done"), null=True, blank=True)
    earlier_contact = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="later_contacts",
        verbose_name=_("earlier contact of the same caller"),
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Keyed digest of the caller's name: the data protection officer finds a person's
    # contacts for a subject request without plaintext (crypto.keys.blind_index).
    caller_index = models.CharField(max_length=64, blank=True, db_index=True)
    # When retention or an erasure request removed identity and free text (stats stay).
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["organisation", "started_at"]),
            models.Index(fields=["follow_up_on"]),
            # the intake page's follow-ups due: open ones only, by date (issue 16)
            models.Index(
                fields=["organisation", "follow_up_on"],
                condition=models.Q(follow_up_done_at__isnull=True, follow_up_on__isnull=False),
                name="hotline_contact_due_idx",
            ),
            # statistics: the contact profile of a period is an index-only scan on
            # PostgreSQL (on SQLite, without INCLUDE, an index on started_at)
            models.Index(
                fields=["started_at"],
                include=[
                    "id",
                    "organisation",
                    "channel",
                    "caller_category",
                    "contact_category",
                    "language",
                    "person_region",
                ],
                name="hotline_contact_stats",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="contact_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs):

        index = name_index(self.caller_name)
        if index != self.caller_index:
            self.caller_index = index
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "caller_index"}
        super().save(*args, **kwargs)

    @property
    def duration_minutes(self) -> int | None:
        if self.ended_at is None:
            return None
        return round((self.ended_at - self.started_at).total_seconds() / 60)

    @property
    def follow_up_open(self) -> bool:
        return self.follow_up_on is not None and self.follow_up_done_at is None


class Referral(models.Model):
    """A contact passed to a local partner: with consent to pass on contact details, or
    anonymously (the caller contacts the partner themselves)."""

    class Mode(models.TextChoices):
        WITH_CONSENT = "consent", _("with consent to pass on contact details")
        ANONYMOUS = "anonymous", _("anonymous: the caller contacts the partner")

    class Status(models.TextChoices):
        SENT = "sent", _("sent")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        WITHDRAWN = "withdrawn", _("withdrawn")

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="referrals")
    partner = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="referrals_received",
        verbose_name=_("partner"),
    )
    mode = models.CharField(_("referral type"), max_length=12, choices=Mode.choices)
    consent_note = models.CharField(
        _("how consent was given"),
        max_length=300,
        blank=True,
        help_text=_("e.g. 'verbal consent on the phone to pass on name and phone number'"),
    )
    message = models.TextField(
        _("message to the partner"),
        blank=True,
        help_text=_("What the partner needs to know; no more than the case needs."),
    )
    services = models.ManyToManyField(
        Term,
        related_name="+",
        blank=True,
        limit_choices_to={"kind": "service"},
        verbose_name=_("services needed"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.SENT
    )
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    first_contact_at = models.DateTimeField(
        _("first contact with the caller"), null=True, blank=True
    )
    first_appointment_on = models.DateField(_("first appointment"), null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        indexes = [
            models.Index(fields=["partner", "status"]),
            # the intake page's declined referrals, newest first (issue 16)
            models.Index(fields=["status", "-responded_at"], name="hotline_referral_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact.reference} → {self.partner}"


class ReferralEvent(models.Model):
    """The history of a referral, as its users see it (who did what, when, and why)."""

    class Kind(models.TextChoices):
        SENT = "sent", _("sent to the partner")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined, back to the hotline")
        WITHDRAWN = "withdrawn", _("withdrawn by the hotline")
        FIRST_CONTACT = "first_contact", _("first contact with the caller")
        APPOINTMENT = "appointment", _("first appointment set")

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.referral_id} {self.kind}"
