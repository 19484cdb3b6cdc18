"""The loaded cooperation model: its identity and the vocabularies that have no richer home."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.labels import pick_label


class Labelled(models.Model):
    """A record whose display name comes from the model file in several languages."""

    labels = models.JSONField(_("labels"), default=dict)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return pick_label(self.labels, fallback=getattr(self, "code", ""))


class CooperationModel(models.Model):
    """The cooperation model this installation runs on (one per database)."""

    code = models.SlugField(unique=True)
    labels = models.JSONField(default=dict)
    version = models.CharField(max_length=40)
    country = models.CharField(max_length=2)
    source = models.CharField(max_length=200, help_text="file name the model was loaded from")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the file and its data files")
    settings = models.JSONField(default=dict)
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("cooperation model")

    def __str__(self) -> str:
        return f"{self.code} {self.version}"

    @property
    def label(self) -> str:
        return pick_label(self.labels, fallback=self.code)


class TermKind(models.TextChoices):
    CALLER_CATEGORY = "caller_category", _("caller category")
    CALLER_RELATION = "caller_relation", _("caller's relation")
    CONTACT_CATEGORY = "contact_category", _("contact category")
    CLOSING_REASON = "closing_reason", _("closing reason")
    INFORMATION_CATEGORY = "information_category", _("information category")
    LEGAL_BASIS = "legal_basis", _("legal basis")
    SERVICE = "service", _("service")
    LANGUAGE = "language", _("language")
    CONCERN_TOPIC = "concern_topic", _("concern topic")
    FIRST_ANALYSIS = "first_analysis", _("point of the first analysis")
    CASE_ROLE = "case_role", _("case role")
    CASE_CLOSING_REASON = "case_closing_reason", _("case closing reason")
    OUTCOME_DIMENSION = "outcome_dimension", _("outcome dimension")
    GOAL_TEMPLATE = "goal_template", _("goal template")


class TermQuerySet(models.QuerySet):
    def of(self, kind: str):
        return self.filter(kind=kind, active=True)


class Term(Labelled):
    """One entry of a vocabulary the model declares (caller categories, legal bases, ...).

    ``attributes`` holds the few kind-specific keys the model file allows (a legal basis's
    citation, a closing reason's contact category); the loader validates them.
    """

    kind = models.CharField(max_length=32, choices=TermKind.choices)
    code = models.SlugField(max_length=64)
    position = models.PositiveIntegerField(default=0)
    attributes = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True, help_text="false once the model file drops it")

    objects = TermQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="term_unique_code")]
