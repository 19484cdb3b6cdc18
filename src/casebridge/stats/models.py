"""Pre-aggregated figures: of contacts and referrals (one row per month, scope and state)
and of the outcomes of closed cases (one row per closing month and owner).

These rows are derived data: counts, never a person. They exist so that a dashboard over
a year reads a few hundred rows instead of half a million contacts (issue 7,
bench/results.md); ``aggregates.py`` builds them from the live rows and keeps them in
step. Deleting every row loses nothing: the next read builds them again — except
``PhaseReached``, statistics' own record of the furthest phase a case reached, which
nothing else keeps.
"""

from __future__ import annotations

from django.db import models

from casebridge.cases.models import Phase


class MonthFigures(models.Model):
    """Counters of one calendar month's contacts (by when they started, local time).

    ``organisation`` is the scope: 0 for the whole network, otherwise an organisation
    that sees the contact (the hotline that took it, a partner it was referred to).
    ``state`` is the federal state of the person of concern, 0 for none recorded.
    ``figures`` maps a measure to {value: count}; see ``aggregates.MEASURES``.
    """

    month = models.DateField()
    organisation = models.PositiveIntegerField(default=0)
    state = models.PositiveIntegerField(default=0)
    figures = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "organisation", "state"], name="stats_month_scope_state"
            )
        ]
        indexes = [models.Index(fields=["organisation", "month"], name="stats_scope_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} scope {self.organisation} state {self.state}"


class MonthBuild(models.Model):
    """A month whose figures have been built (``built_at``), and the lock for rebuilding
    it: a builder holds this row FOR UPDATE while it replaces the month's figures."""

    month = models.DateField(unique=True)
    built_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} built {self.built_at}"


class StaleMonth(models.Model):
    """A month whose figures no longer match the data: written in the same transaction as
    the change, removed by the build that takes the change in."""

    month = models.DateField(db_index=True)

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} stale"


class Protection(models.Model):
    """One decision of disclosure control: which figures of a scope's year are hidden
    (``publication.publish``), by the SHA-256 of everything it depends on — the counts,
    *k*, the tables' shapes and the relations. Kept so that every app server and the
    worker share what one of them solved; ``hidden`` holds sets of variable numbers, no
    count and no person. Deleting rows loses nothing: they are solved again."""

    digest = models.CharField(max_length=64, unique=True)
    hidden = models.JSONField()
    decided_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"protection {self.digest[:12]} of {self.decided_at:%Y-%m-%d %H:%M}"


class PhaseReached(models.Model):
    """The furthest phase a case reached while it was open (intake < assessment <
    counselling < stabilisation), kept for the outcome statistics ("change by phase
    reached", issue 20).

    A case's phase is overwritten with "closure" when it closes, and nothing else keeps its
    history in a form statistics may read (the audit event of a phase change names the
    changed field only; the audit log is not read by statistics at all). So statistics keep
    it themselves: a receiver (``outcome_figures.connect``) raises it on every save of an
    open case, in the writer's transaction. A code, no person. Cases closed before this
    record began have no row and count as "not recorded"; cases open when it began start
    from the phase they were in then (migration ``0003``).
    """

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="+")
    phase = models.CharField(max_length=16, choices=Phase.choices)

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.phase}"


class OutcomeFigures(models.Model):
    """Counters of the cases one organisation closed in one calendar month (local time):
    how each changed between intake and closure and between intake and the latest
    follow-up, per outcome dimension, the top-level result by the phase reached and by the
    year the case was opened, and the state of its follow-up (``outcome_figures``).

    ``organisation`` is the case's owner; the federal state and the partner type follow
    from it when the figures are read. ``figures`` is a flat {"measure|value…": count}.
    Derived data: deleting every row loses nothing, the next read builds them again.
    """

    month = models.DateField()
    organisation = models.PositiveIntegerField()
    figures = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "organisation"], name="stats_outcome_month")
        ]

    def __str__(self) -> str:
        return f"outcomes {self.month:%Y-%m} organisation {self.organisation}"


class OutcomeBuild(models.Model):
    """A month whose outcome figures have been built, and the lock for rebuilding it (as
    ``MonthBuild`` for the contacts' figures)."""

    month = models.DateField(unique=True)
    built_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"outcomes {self.month:%Y-%m} built {self.built_at}"


class StaleOutcomeMonth(models.Model):
    """A closing month whose outcome figures no longer match the data: written in the
    same transaction as the change, removed by the build that takes it in."""

    month = models.DateField(db_index=True)

    def __str__(self) -> str:
        return f"outcomes {self.month:%Y-%m} stale"
