"""Outcomes of a case: judgements on the model's outcome dimensions, and follow-ups.

An ``Assessment`` hangs on an ``Entry`` of kind "assessment": the entry carries the
category (the dimensions'), the named author, the author's organisation and the rationale
(its text), so who may read a judgement is decided by the policy exactly as for any other
entry (DESIGN.md invariants 1, 3 and 4). The levels are what a professional chose on the
dimension's ordinal scale; nothing here is computed (invariant 8).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.cases.models import Case, Entry
from casebridge.cooperation_models.models import Term


class Occasion(models.TextChoices):
    INTAKE = "intake", _("intake")
    REVIEW = "review", _("review")
    CLOSURE = "closure", _("closure")
    FOLLOW_UP = "follow_up", _("follow-up")


class FollowUpConsent(models.Model):
    """Whether the person agreed to be contacted after the case closed (asked at closure).

    Without consent nobody is contacted; the case is counted as "no consent"."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="follow_up_consent")
    given = models.BooleanField(_("the person agrees to be contacted"))
    note = models.CharField(_("how the person was asked and answered"), max_length=300)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent to follow-up")

    def __str__(self) -> str:
        return f"{self.case.number}: {'yes' if self.given else 'no'}"

    @property
    def in_force(self) -> bool:
        return self.given and self.withdrawn_at is None


class FollowUp(models.Model):
    """One contact after closure, due on a day, with its result."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        DONE = "done", _("done")
        NOT_REACHED = "not_reached", _("not reached")
        CANCELLED = "cancelled", _("cancelled")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="follow_ups")
    due_on = models.DateField(_("due"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLANNED
    )
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    scheduled_at = models.DateTimeField(default=timezone.now)
    reminded_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("follow-up")
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return f"{self.case.number}: {self.due_on}"


class Assessment(models.Model):
    """A named professional's judgement of a case on one or more outcome dimensions."""

    entry = models.OneToOneField(Entry, on_delete=models.CASCADE, related_name="assessment")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assessments")
    occasion = models.CharField(_("occasion"), max_length=10, choices=Occasion.choices)
    assessed_on = models.DateField(_("assessed on"))
    follow_up = models.ForeignKey(
        FollowUp, on_delete=models.SET_NULL, null=True, blank=True, related_name="assessments"
    )

    class Meta:
        ordering = ["assessed_on", "pk"]
        verbose_name = _("outcome assessment")

    def __str__(self) -> str:
        return f"{self.case.number}: {self.occasion} {self.assessed_on}"


class Rating(models.Model):
    """The level chosen on one dimension's scale (0 = furthest from the goal)."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="ratings")
    dimension = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "outcome_dimension"},
    )
    level = models.PositiveSmallIntegerField(_("level"))

    class Meta:
        verbose_name = _("rating")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "dimension"], name="rating_once")
        ]

    def __str__(self) -> str:
        return f"{self.dimension.code}={self.level}"
