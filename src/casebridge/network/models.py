"""The partner network: sectors, organisation types, regions, organisations, coverage,
contact points."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.cooperation_models.models import Labelled, Term


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

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    @property
    def sector(self) -> Sector:
        return self.type.sector


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
