"""Pre-aggregated figures of contacts and referrals, one row per month, scope and state.

These rows are derived data: counts, never a person. They exist so that a dashboard over
a year reads a few hundred rows instead of half a million contacts (issue 7,
bench/results.md); ``aggregates.py`` builds them from the live rows and keeps them in
step. Deleting every row loses nothing: the next read builds them again.
"""

from __future__ import annotations

from django.db import models


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
