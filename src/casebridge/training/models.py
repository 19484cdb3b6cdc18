"""Role-play training runs. Training data lives only here: no foreign key to a case, a
contact or any organisation of the real network, so nothing of a run can reach a case and
no selector of real cases can see a run."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.labels import pick_label
from casebridge.sharing.models import Protocol


class TrainingRun(models.Model):
    """One playing of a scenario, compared with one stored version of the SOP."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        FINISHED = "finished", _("finished")

    scenario_code = models.SlugField(max_length=64)
    # The scenario as it was when the run started: a later edit of the file does not
    # change what the players answered.
    scenario = models.JSONField()
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.scenario_code} #{self.pk}"

    @property
    def title(self) -> str:
        return pick_label(self.scenario.get("title", {}), fallback=self.scenario_code)

    @property
    def event_count(self) -> int:
        return len(self.scenario.get("events", []))


class TrainingParticipant(models.Model):
    """A user playing one party of the scenario in a run."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    party = models.SlugField(max_length=64)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "joined_at"]
        constraints = [
            models.UniqueConstraint(fields=["run", "user"], name="training_one_party_per_user"),
            models.UniqueConstraint(fields=["run", "party"], name="training_one_player_per_party"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.party}"


class TrainingAnswer(models.Model):
    """What one participant said at one event: the flows (an empty list: nobody is informed)."""

    participant = models.ForeignKey(
        TrainingParticipant, on_delete=models.CASCADE, related_name="answers"
    )
    event_number = models.PositiveSmallIntegerField()
    flows = models.JSONField(default=list)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["participant", "event_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "event_number"], name="training_one_answer_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.event_number}"


class ScenarioReview(models.Model):
    """The expected answers of a scenario, event by event, as a version of its procedure
    gives them, and who confirmed that the scenario still trains what it should.

    The first one of a scenario is recorded automatically (``reviewed_by`` empty) against
    the version in force when the scenario is first seen. When the version in force gives a
    different expected answer at any event than the latest review, the scenario needs a
    review: a coordinator looks at the changes and records a new one before runs start.
    """

    scenario_code = models.SlugField(max_length=64)
    scenario_version = models.CharField(max_length=40)
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    # [{"event": 1, "code": ..., "flows": [...], "barriers": [...]}, ...] (codes only)
    expected = models.JSONField(default=list)
    digest = models.CharField(max_length=64)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scenario_code", "-reviewed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario_code"],
                condition=models.Q(reviewed_by__isnull=True),
                name="training_one_baseline_per_scenario",
            )
        ]

    def __str__(self) -> str:
        return f"{self.scenario_code} @ {self.protocol_id}"

    @property
    def automatic(self) -> bool:
        return self.reviewed_by_id is None
