"""Reads of outcomes, through the policy: the model's dimensions and goal templates, a
case's course over time (the assessments the reader may read, as entries), its consent to
follow-up and its follow-ups (case coordination)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from casebridge.access.policy import information_category_id, seat_for, visible
from casebridge.cases.models import Case, Entry
from casebridge.cooperation_models.models import Term
from casebridge.labels import pick_label
from casebridge.outcomes.models import Assessment, FollowUp, FollowUpConsent, Rating


def dimensions() -> list[Term]:
    return list(Term.objects.of("outcome_dimension").order_by("position", "code"))


def goal_templates() -> list[Term]:
    return list(Term.objects.of("goal_template").order_by("position", "code"))


def level_labels(dimension: Term) -> list[str]:
    return [
        pick_label(texts, fallback=str(i))
        for i, texts in enumerate(dimension.attributes.get("levels", []))
    ]


@dataclass
class Column:
    assessment: Assessment
    levels: dict[int, int] = field(default_factory=dict)  # dimension id -> level


@dataclass
class CourseRow:
    dimension: Term
    scale: list[str]
    cells: list[str]  # per column: the level's label, or "" where not judged


@dataclass
class Course:
    columns: list[Column]
    rows: list[CourseRow]


def _assessments(actor, case: Case):
    entries = visible(actor, Entry.objects.filter(kind=Entry.Kind.ASSESSMENT), case=case)
    return (
        Assessment.objects.filter(case=case, entry__in=entries.values("pk"))
        .select_related("entry__author", "entry__author_organisation", "entry__category")
        .prefetch_related(Prefetch("ratings", queryset=Rating.objects.order_by()))
        .order_by("assessed_on", "pk")
    )


def assessment_levels(assessment: Assessment) -> dict[int, int]:
    """Dimension id -> level of an assessment the caller holds already (just recorded)."""
    return dict(assessment.ratings.order_by().values_list("dimension_id", "level"))


def case_course(actor, case: Case, every: list[Term] | None = None) -> Course:
    """The case's outcome over time: a row per dimension, a column per assessment the
    reader may read (its entry's category, scope or disclosure decides). ``every``: the
    dimensions, where the caller has read them already."""
    columns = [
        Column(assessment, {r.dimension_id: r.level for r in assessment.ratings.all()})
        for assessment in _assessments(actor, case)
    ]
    rows = []
    for dimension in every if every is not None else dimensions():
        scale = level_labels(dimension)
        cells = []
        for column in columns:
            level = column.levels.get(dimension.pk)
            cells.append("" if level is None or level >= len(scale) else scale[level])
        if any(cells) or not columns:
            rows.append(CourseRow(dimension, scale, cells))
    return Course(columns, rows)


def _reads_coordination(actor, case: Case) -> bool:
    seat = seat_for(actor, case.pk)
    return seat is not None and information_category_id("case_coordination") in seat.readable


@dataclass
class FollowUpState:
    consent: FollowUpConsent | None
    follow_ups: list[FollowUp]


def case_follow_ups(actor, case: Case) -> FollowUpState | None:
    """Consent and follow-ups, for seats that read the case's coordination; else None."""
    if not _reads_coordination(actor, case):
        return None
    return FollowUpState(
        FollowUpConsent.objects.filter(case=case).first(),
        list(FollowUp.objects.filter(case=case)),
    )


def case_follow_up(case: Case, follow_up_id: int) -> FollowUp:
    """A follow-up of a case the caller already accessed; the service checks the rest."""
    return get_object_or_404(FollowUp, pk=follow_up_id, case=case)
