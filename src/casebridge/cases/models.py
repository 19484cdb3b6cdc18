"""Multi-agency cases: participants with scopes, entries in one information category each,
goals, handovers, case conferences and transfers to another organisation."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.cooperation_models.models import Term
from casebridge.crypto.fields import EncryptedCharField, EncryptedTextField

# Documents are encrypted at rest; migration 0006 names the storage callable here.
from casebridge.crypto.files import private_storage
from casebridge.crypto.keys import name_index
from casebridge.dates import in_force
from casebridge.network.models import Organisation, Region
from casebridge.sop.events import Imminence, RiskLevel


class Phase(models.TextChoices):
    INTAKE = "intake", _("intake")
    ASSESSMENT = "assessment", _("assessment")
    COUNSELLING = "counselling", _("counselling and dialogue")
    STABILISATION = "stabilisation", _("stabilisation")
    CLOSURE = "closure", _("closure")


class Case(models.Model):
    """A person of concern worked with by several organisations, each seeing what it needs.

    The person is known by a pseudonym; identity fields are protected and belong to the
    information category ``identity``.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    # the person's identity: encrypted, read only by those whose scope includes it
    IDENTITY_FIELDS = ("first_name", "last_name", "date_of_birth", "address")

    number = models.CharField(_("case number"), max_length=20, unique=True)
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="owned_cases", verbose_name=_("owner")
    )
    pseudonym = models.CharField(_("pseudonym"), max_length=60)
    first_name = EncryptedCharField(_("first name"), max_length=120, blank=True)
    last_name = EncryptedCharField(_("last name"), max_length=120, blank=True)
    date_of_birth = EncryptedCharField(_("date of birth"), max_length=10, blank=True)
    address = EncryptedTextField(_("postal address"), blank=True)
    # Keyed digest of name and date of birth: finds a duplicate person without plaintext.
    identity_index = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    phase = models.CharField(_("phase"), max_length=16, choices=Phase.choices, default=Phase.INTAKE)
    closing_reason = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "case_closing_reason"},
        verbose_name=_("closing reason"),
    )
    referral = models.OneToOneField(
        "hotline.Referral",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case",
        verbose_name=_("from referral"),
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # When retention or an erasure request removed identity and content (stats stay).
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return self.number


class RelatedPerson(models.Model):
    """A family member or other person around the case (identity category)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="related_people")
    relation = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "caller_relation"},
        verbose_name=_("relation"),
    )
    name = EncryptedCharField(_("name"), max_length=200)
    phone = EncryptedCharField(_("phone"), max_length=60, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # Keyed digest of the name: a subject request finds the person without plaintext.
    name_index = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        verbose_name = _("related person")
        verbose_name_plural = _("related people")

    def __str__(self) -> str:
        return f"{self.case.number}: {self.relation.code}"

    def save(self, *args, **kwargs):

        index = name_index(self.name)
        if index != self.name_index:
            self.name_index = index
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "name_index"}
        super().save(*args, **kwargs)


class ParticipantQuerySet(models.QuerySet):
    def active(self, at=None):
        return self.filter(in_force(at or timezone.now()))


class Participant(models.Model):
    """An organisation in a case: its role, its named people, and what it may read and write.

    Participation can be time-limited; it then ends by itself.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="participants")
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="participations",
        verbose_name=_("organisation"),
    )
    role = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "case_role"},
        verbose_name=_("role in the case"),
    )
    lead_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_participations",
        verbose_name=_("lead worker"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="case_participations",
        blank=True,
        verbose_name=_("named people"),
    )
    read_categories = models.ManyToManyField(
        Term,
        related_name="+",
        blank=True,
        limit_choices_to={"kind": "information_category"},
        verbose_name=_("may read"),
    )
    write_categories = models.ManyToManyField(
        Term,
        related_name="+",
        blank=True,
        limit_choices_to={"kind": "information_category"},
        verbose_name=_("may write"),
    )
    valid_from = models.DateTimeField(_("from"), default=timezone.now)
    valid_until = models.DateTimeField(_("until"), null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        ordering = ["valid_from", "id"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="participant_until_after_from",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case.number}: {self.organisation} ({self.role.code})"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.valid_from <= now and (self.valid_until is None or self.valid_until > now)


class ScopeChange(models.Model):
    """A change of a participant's scope, with its reason (the default scope is the first)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="scope_changes"
    )
    read = models.JSONField(default=list)
    write = models.JSONField(default=list)
    reason = models.CharField(max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.participant_id} @ {self.at:%Y-%m-%d}"


class Handover(models.Model):
    """A lead worker hands a case role over to a colleague, with a note for them."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="handovers")
    from_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    to_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("handover note"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.from_worker_id} → {self.to_worker_id}"


class SafetyWarning(models.Model):
    """A staff-safety warning on a case ("do not meet the person alone"), set by a
    participant with a reason and reviewed by a date. Every participant sees the precaution
    and its note, whatever their scope: it protects the people who work with the person.
    It names the precaution, never the information behind it; the reason is shown to the
    organisation that set it and to the lead only. Sharing what lies behind it needs a
    disclosure like any other information."""

    class Kind(models.TextChoices):
        DO_NOT_MEET_ALONE = "do_not_meet_alone", _("Do not meet the person alone")
        OFFICE_ONLY = "office_only", _("Meet the person only at the office")
        NO_HOME_VISITS = "no_home_visits", _("No home visits")
        THREAT_TO_STAFF = "threat_to_staff", _("Threats against staff are known")
        OTHER = "other", _("Other precaution (see the note)")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="safety_warnings")
    kind = models.CharField(_("precaution"), max_length=24, choices=Kind.choices)
    note = models.CharField(_("note for every participant"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="+", verbose_name=_("set by")
    )
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)
    review_on = models.DateField(_("review by"))
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["set_at", "id"]
        indexes = [models.Index(fields=["case", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.kind}"

    @property
    def review_due(self) -> bool:
        return self.ended_at is None and self.review_on <= timezone.localdate()


class Goal(models.Model):
    """An interim or long-term target of the case plan (category case_coordination)."""

    class Horizon(models.TextChoices):
        INTERIM = "interim", _("interim")
        LONG_TERM = "long_term", _("long-term")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        REACHED = "reached", _("reached")
        DROPPED = "dropped", _("dropped")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="goals")
    horizon = models.CharField(_("horizon"), max_length=10, choices=Horizon.choices)
    title = models.CharField(_("goal"), max_length=300)
    template = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "goal_template"},
        verbose_name=_("template"),
    )
    target_date = models.DateField(_("target date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["horizon", "created_at"]

    def __str__(self) -> str:
        return self.title


class CategorisedItem(models.Model):
    """Case information in exactly one category, written by a person for an organisation.

    The policy decides on these three fields (DESIGN.md invariants 3 and 4).
    """

    category = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "information_category"},
        verbose_name=_("information category"),
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        abstract = True


class Entry(CategorisedItem):
    """One piece of case information, in exactly one information category."""

    class Kind(models.TextChoices):
        NOTE = "note", _("note")
        SESSION = "session", _("counselling session")
        CALL = "call", _("call")
        MEASURE = "measure", _("measure")
        RISK = "risk", _("risk judgement")
        DOCUMENT = "document", _("document")
        ASSESSMENT = "assessment", _("outcome assessment")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    occurred_on = models.DateField(_("date"), default=timezone.localdate)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"), blank=True)
    # Risk judgement: recorded by a named person, never computed (DESIGN.md invariant 8).
    likelihood = models.CharField(
        _("likelihood"), max_length=24, choices=RiskLevel.choices, blank=True
    )
    imminence = models.CharField(
        _("imminence"), max_length=16, choices=Imminence.choices, blank=True
    )
    # The file on disk has a random name and holds ciphertext (crypto.files); the name
    # it was uploaded under may identify someone, so it is encrypted too.
    document = models.FileField(
        _("document"), storage=private_storage, upload_to="entries/%Y/%m/", blank=True
    )
    document_name = EncryptedCharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_on", "-created_at"]
        verbose_name = _("entry")
        verbose_name_plural = _("entries")
        indexes = [models.Index(fields=["case", "category"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="risk") | (~Q(likelihood="") & ~Q(imminence="")),
                name="risk_entry_has_judgement",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case.number}: {self.title}"


class Conference(models.Model):
    """A case conference of the participants."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="conferences")
    held_on = models.DateField(_("date"))
    title = models.CharField(_("title"), max_length=200)
    attendees = models.ManyToManyField(
        Participant, related_name="+", blank=True, verbose_name=_("attendance")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-held_on"]

    def __str__(self) -> str:
        return f"{self.case.number}: {self.title}"


class ConferenceItem(CategorisedItem):
    """An agenda point, a minute, a decision or an action item, in one category."""

    class Kind(models.TextChoices):
        AGENDA = "agenda", _("agenda")
        MINUTE = "minute", _("minutes")
        DECISION = "decision", _("decision")
        ACTION = "action", _("action item")

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    text = models.TextField(_("text"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsible person"),
    )
    due_on = models.DateField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.conference_id}: {self.kind}"


class Transfer(models.Model):
    """The lead organisation moves a case to another counselling organisation (the person
    moved away, or the lead has no capacity left): the case keeps its number and history.

    Proposed with a reason, the region where the person now lives and either the person's
    consent (how it was given) or a legal basis with a written justification; accepted
    (naming the new lead worker) or declined by the receiving organisation, or withdrawn
    by the sender. The receiving organisation has no seat in the case until it accepts;
    then it leads, and the sender keeps a non-lead seat for the handover period, which
    ends by itself.
    """

    HANDOVER_DAYS = (1, 30)  # the sender's handover seat lasts this many days, at least/most
    DEFAULT_HANDOVER_DAYS = 14

    class Status(models.TextChoices):
        OPEN = "open", _("waiting for a decision")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")
        WITHDRAWN = "withdrawn", _("withdrawn")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transfers")
    from_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="transfers_sent",
        verbose_name=_("sending organisation"),
    )
    to_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="transfers_received",
        verbose_name=_("receiving organisation"),
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("where the person now lives"),
    )
    reason = models.CharField(_("reason for the transfer"), max_length=500)
    # The person's consent, as the lead recorded how it was given: a recorded
    # sharing.Consent names participants of the case, and the receiving organisation is
    # none before it accepts.
    consent_note = models.CharField(_("how the person consented"), max_length=300, blank=True)
    legal_basis = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "legal_basis"},
        verbose_name=_("legal basis"),
    )
    justification = models.TextField(_("written justification"), blank=True)
    handover_days = models.PositiveSmallIntegerField(
        _("handover period (days)"), default=DEFAULT_HANDOVER_DAYS
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(_("reason for declining"), max_length=500, blank=True)
    lead_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("new lead worker"),
    )
    # Set on acceptance: the sender's participation, now a handover seat, and the new lead.
    from_participant = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_participant = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-proposed_at", "-id"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        indexes = [models.Index(fields=["to_organisation", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="open"), name="transfer_one_open_per_case"
            ),
            models.CheckConstraint(
                condition=Q(handover_days__gte=1) & Q(handover_days__lte=30),
                name="transfer_handover_days",
            ),
            models.CheckConstraint(
                condition=~Q(to_organisation=models.F("from_organisation")),
                name="transfer_to_another_organisation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_organisation_id} → {self.to_organisation_id}"

    @property
    def basis(self) -> str:
        """ "consent" or "legal_basis": what the transfer rests on."""
        return "legal_basis" if self.legal_basis_id else "consent"

    @property
    def handover_until(self):
        """When the sender's handover seat ends (accepted transfers)."""
        if self.decided_at is None or self.status != self.Status.ACCEPTED:
            return None
        return self.decided_at + timedelta(days=self.handover_days)


class Invitation(models.Model):
    """The case's lead invites a named outside professional (a psychotherapist, a probation
    officer, a prison's social worker) to this one case for a bounded time.

    The link goes by mail, works once and for ``LINK_DAYS``; only a digest of its secret is
    stored. Following it, the professional sets a password and then a second factor, and
    becomes a guest of their organisation (``Role.GUEST``) named in the organisation's
    participation — which gets the role's default scope for the organisation's type. The
    guest sees this case only, until ``until``; the lead may end it earlier.
    """

    LINK_DAYS = 7
    MAX_DAYS = 180  # the longest a guest may take part

    class Status(models.TextChoices):
        SENT = "sent", _("sent")
        ACCEPTED = "accepted", _("accepted")
        REVOKED = "revoked", _("withdrawn")
        ENDED = "ended", _("ended")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="invitations")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    role = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "case_role"},
        verbose_name=_("role in the case"),
    )
    name = EncryptedCharField(_("name"), max_length=200)
    email = EncryptedCharField(_("e-mail"), max_length=254)
    until = models.DateField(_("takes part until"))
    token_digest = models.CharField(max_length=64, unique=True)
    link_expires_at = models.DateTimeField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    invited_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    participant = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-invited_at", "-id"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.case_id}: {self.organisation_id} ({self.status})"

    @property
    def link_open(self) -> bool:
        return self.status == self.Status.SENT and self.link_expires_at > timezone.now()


class CaseVisit(models.Model):
    """When a person last opened a case's page (and the time before), for "new since your
    last visit" marks. Holds no content."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()
    previous_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "case"], name="case_visit_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.case_id}"
