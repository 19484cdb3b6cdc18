"""The partner network: sectors, organisation types, regions, organisations, coverage,
contact points."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.cooperation_models.models import Labelled, Term

# The sectors whose organisations counsel: they receive referrals and own cases.
COUNSELLING_SECTORS = ("counselling_ngo", "state_counselling")


class Sector(Labelled):
    """A broad field of work (security, counselling, ...); default scopes will follow it."""

    code = models.SlugField(max_length=64, unique=True)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    never_by_scope = models.JSONField(
        default=list,
        blank=True,
        help_text="information categories this sector receives only by disclosure",
    )
    two_factor = models.BooleanField(
        default=False, help_text="staff of this sector sign in with a second factor"
    )

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("sector")
        verbose_name_plural = _("sectors")


class OrganisationType(Labelled):
    code = models.SlugField(max_length=64, unique=True)
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="organisation_types")
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("organisation type")
        verbose_name_plural = _("organisation types")


class Region(Labelled):
    """A node of the region tree: country › federal state › district (as the model declares)."""

    class Level(models.TextChoices):
        COUNTRY = "country", _("country")
        STATE = "state", _("federal state")
        DISTRICT = "district", _("district")
        MUNICIPALITY = "municipality", _("municipality")

    code = models.CharField(max_length=32, unique=True)
    level = models.CharField(max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    postcode_prefixes = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def path(self) -> list[Region]:
        """Return the chain from the country down to this region."""
        chain: list[Region] = []
        node: Region | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))


class PostcodeArea(models.Model):
    """A postcode with the region it belongs to and, where known, its centre."""

    postcode = models.CharField(max_length=16, unique=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="postcodes")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["postcode"]

    def __str__(self) -> str:
        return self.postcode


class Organisation(models.Model):
    """A member of the network: the central hotline, a counselling partner, a police unit, ..."""

    class Governance(models.TextChoices):
        STATE = "state", _("state-led")
        NGO = "ngo", _("NGO-led")

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    type = models.ForeignKey(
        OrganisationType,
        on_delete=models.PROTECT,
        related_name="organisations",
        verbose_name=_("type"),
    )
    governance = models.CharField(_("governance"), max_length=8, choices=Governance.choices)
    is_hotline = models.BooleanField(_("central hotline"), default=False)
    description = models.TextField(_("description"), blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=16, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="organisations", verbose_name=_("region")
    )
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    from_model = models.BooleanField(
        default=False, help_text="declared by the cooperation model file (the loader keeps it)"
    )
    # Proposed by a case worker (an outside professional's organisation missing from the
    # directory), inactive until a coordinator confirms it; refused ones stay inactive.
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed"), null=True, blank=True)
    proposal_reason = models.CharField(_("why it is needed"), max_length=300, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed or refused by"),
    )
    reviewed_at = models.DateTimeField(_("confirmed or refused"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    @property
    def sector(self) -> Sector:
        return self.type.sector

    def covers(self, region: Region) -> bool:
        """Does the organisation serve ``region``? A coverage of the region, of a region
        above it (a state covers its districts, the country every state) or of a region
        inside it (a district of the state) — as routing matches a caller's place. Reads
        the coverages once; prefetch ``coverages__region__parent`` for a list."""
        above = {r.pk for r in region.path()}
        return any(
            coverage.region_id in above or region.pk in {r.pk for r in coverage.region.path()}
            for coverage in self.coverages.all()
        )


class Coverage(models.Model):
    """Which regions an organisation serves, with which services, languages and capacity."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="coverages"
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="coverages")
    services = models.ManyToManyField(Term, related_name="service_coverages", blank=True)
    languages = models.ManyToManyField(Term, related_name="language_coverages", blank=True)
    capacity = models.PositiveIntegerField(
        _("capacity"), default=0, help_text=_("new cases the organisation can take per month")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "region"], name="coverage_unique_region"
            )
        ]
        verbose_name = _("coverage")
        verbose_name_plural = _("coverages")

    def __str__(self) -> str:
        return f"{self.organisation} · {self.region}"


class ContactPointQuerySet(models.QuerySet):
    def current(self):
        return self.filter(Q(until__isnull=True) | Q(until__gt=timezone.localdate()))


class ContactPoint(models.Model):
    """The named person an organisation offers for this work ("the P/CVE contact at station X").

    Professional contact data only; the person is a user where they have an account.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="contact_points"
    )
    function = models.CharField(_("function"), max_length=120)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_points",
        verbose_name=_("person"),
    )
    name = models.CharField(_("name"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    since = models.DateField(_("since"), default=timezone.localdate)
    until = models.DateField(_("until"), null=True, blank=True)

    objects = ContactPointQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "function"]
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")

    def __str__(self) -> str:
        return f"{self.function} · {self.organisation}"

    @property
    def display_name(self) -> str:
        return str(self.person) if self.person_id else self.name

    @property
    def is_vacant(self) -> bool:
        """True when nobody fills the point: no person named or the person's account is off."""
        if self.person_id:
            return not self.person.is_active
        return not self.name


# --- exchange around the cases: meetings, decisions, action items (issue 8) ---------------


class Meeting(models.Model):
    """A network meeting: a regular formal meeting, a working group or an informal exchange.

    Agenda and minutes are about the network's work, never about a person in a case.
    """

    class Kind(models.TextChoices):
        FORMAL = "formal", _("regular formal meeting")
        WORKING_GROUP = "working_group", _("working group")
        INFORMAL = "informal", _("informal exchange")

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        HELD = "held", _("held")
        CANCELLED = "cancelled", _("cancelled")

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    location = models.CharField(_("place or link"), max_length=200, blank=True)
    agenda = models.TextField(_("agenda"), blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="planned")
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Stable identifier for calendar programs (iCalendar UID); bumped on each change.
    sequence = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["starts_at"])]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")

    def __str__(self) -> str:
        return self.title


class Invitation(models.Model):
    """A person invited to a meeting: their answer and, afterwards, whether they attended."""

    class Response(models.TextChoices):
        PENDING = "pending", _("no answer yet")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invitations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    response = models.CharField(max_length=10, choices=Response.choices, default="pending")
    attended = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "user__last_name", "user__first_name"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="invitation_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id}: {self.user_id}"


class Decision(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    text = models.CharField(_("decision"), max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["meeting", "created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class ActionItemQuerySet(models.QuerySet):
    def open(self):
        return self.filter(done_at__isnull=True)


class ActionItem(models.Model):
    """Something a meeting agreed to do: an owner, a due date; it shows in the owner's tasks."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(_("action"), max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="action_items",
        verbose_name=_("owner"),
    )
    due_on = models.DateField(_("due"))
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["owner", "done_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def overdue(self) -> bool:
        return self.done_at is None and self.due_on < timezone.localdate()


# --- lessons learned (issue 8) -----------------------------------------------------------


class LessonTag(models.Model):
    name = models.SlugField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Lesson(models.Model):
    """A structured review of what went well or failed: what happened, what we learned,
    what we change.

    Anonymous by construction: there is no link to a case, a contact or a person in one,
    and the services refuse texts that carry case numbers, contact references, e-mail
    addresses or phone numbers.
    """

    class Outcome(models.TextChoices):
        FAILED = "failed", _("something failed")
        MIXED = "mixed", _("mixed")
        WENT_WELL = "went_well", _("went well")

    title = models.CharField(_("title"), max_length=200)
    outcome = models.CharField(_("how it went"), max_length=10, choices=Outcome.choices)
    what_happened = models.TextField(_("what happened"))
    what_we_learned = models.TextField(_("what we learned"))
    what_we_change = models.TextField(_("what we change"))
    tags = models.ManyToManyField(LessonTag, related_name="lessons", blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    show_author = models.BooleanField(_("show my name"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("lesson learned")
        verbose_name_plural = _("lessons learned")

    def __str__(self) -> str:
        return self.title
