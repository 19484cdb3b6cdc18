"""The outcomes through the API: the model's dimensions, a case's course and follow-ups,
and the same writes as the case page's outcomes section, through the same services."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Router, Schema, Status

from casebridge.apischema import Day, Error, Input
from casebridge.cases import selectors as case_selectors
from casebridge.labels import pick_label
from casebridge.outcomes import selectors, services
from casebridge.outcomes.services import MAX_RATIONALE, RatingIn

router = Router(tags=["outcomes"])


class DimensionOut(Schema):
    code: str
    label: str
    description: str
    group: str
    category: str
    headline: bool
    levels: list[str] = Field(description="the scale, from furthest from the goal (0) to it")


class GoalTemplateOut(Schema):
    code: str
    label: str
    dimension: str
    horizon: str


class OutcomeModelOut(Schema):
    dimensions: list[DimensionOut]
    goal_templates: list[GoalTemplateOut]
    follow_up_months: list[int]


class RatingOut(Schema):
    dimension: str
    level: int
    label: str


class AssessmentOut(Schema):
    id: int
    occasion: str
    assessed_on: date
    category: str
    author: str
    organisation: str | None
    rationale: str
    follow_up: int | None
    ratings: list[RatingOut]


class FollowUpConsentOut(Schema):
    given: bool
    in_force: bool
    note: str
    recorded_at: datetime
    withdrawn_at: datetime | None


class FollowUpOut(Schema):
    id: int
    due_on: date
    status: str
    done_at: datetime | None


class FollowUpStateOut(Schema):
    consent: FollowUpConsentOut | None
    follow_ups: list[FollowUpOut]


class CaseOutcomesOut(Schema):
    assessments: list[AssessmentOut]
    follow_up: FollowUpStateOut | None = Field(
        description="null where the reader's scope does not include the case's coordination"
    )


class LevelIn(Input):
    dimension: str = Field(max_length=64)
    level: int


class AssessmentIn(Input):
    occasion: str = Field(max_length=10, description="intake, review or closure")
    assessed_on: Day | None = None
    ratings: list[LevelIn] = Field(max_length=20)
    rationale: str = Field(max_length=MAX_RATIONALE)


class FollowUpConsentIn(Input):
    consent: bool
    note: str = Field(max_length=300)


class FollowUpIn(Input):
    due_on: Day


class FollowUpResultIn(Input):
    reached: bool
    assessed_on: Day | None = None
    ratings: list[LevelIn] = Field(default=[], max_length=20)
    rationale: str = Field(default="", max_length=MAX_RATIONALE)


def _dimension_out(term) -> dict:
    return {
        "code": term.code,
        "label": term.label,
        "description": pick_label(term.attributes.get("description") or {}, fallback=""),
        "group": term.attributes.get("group", ""),
        "category": term.attributes.get("category", ""),
        "headline": bool(term.attributes.get("headline")),
        "levels": selectors.level_labels(term),
    }


def _assessment_out(assessment, levels: dict[int, int], dimensions: dict) -> dict:
    entry = assessment.entry
    ratings = []
    for dimension_id, level in sorted(levels.items()):
        term = dimensions.get(dimension_id)
        scale = selectors.level_labels(term) if term else []
        ratings.append(
            {
                "dimension": term.code if term else "",
                "level": level,
                "label": scale[level] if level < len(scale) else "",
            }
        )
    return {
        "id": assessment.pk,
        "occasion": assessment.occasion,
        "assessed_on": assessment.assessed_on,
        "category": entry.category.code,
        "author": entry.author.get_full_name() or entry.author.username,
        "organisation": str(entry.author_organisation) if entry.author_organisation_id else None,
        "rationale": entry.text,
        "follow_up": assessment.follow_up_id,
        "ratings": ratings,
    }


def _ratings(items: list[LevelIn]) -> list[RatingIn]:
    return [RatingIn(item.dimension, item.level) for item in items]


@router.get("/outcomes/model", response=OutcomeModelOut)
def outcome_model(request):
    """The outcome dimensions with their scales, the goal templates and the follow-up months
    of the cooperation model (no case data)."""
    return {
        "dimensions": [_dimension_out(term) for term in selectors.dimensions()],
        "goal_templates": [
            {
                "code": term.code,
                "label": term.label,
                "dimension": term.attributes.get("dimension", ""),
                "horizon": term.attributes.get("horizon", ""),
            }
            for term in selectors.goal_templates()
        ],
        "follow_up_months": services.follow_up_months(),
    }


def _case_outcomes(request, case) -> dict:
    course = selectors.case_course(request.user, case)
    dimensions = {term.pk: term for term in selectors.dimensions()}
    state = selectors.case_follow_ups(request.user, case)
    return {
        "assessments": [
            _assessment_out(column.assessment, column.levels, dimensions)
            for column in course.columns
        ],
        "follow_up": None
        if state is None
        else {
            "consent": state.consent
            and {
                "given": state.consent.given,
                "in_force": state.consent.in_force,
                "note": state.consent.note,
                "recorded_at": state.consent.recorded_at,
                "withdrawn_at": state.consent.withdrawn_at,
            },
            "follow_ups": state.follow_ups,
        },
    }


@router.get("/cases/{case_id}/outcomes", response={200: CaseOutcomesOut, 404: Error})
def case_outcomes(request, case_id: int):
    """The case's assessments the reader may read (by scope or disclosure), oldest first,
    and its consent to follow-up and follow-ups (for seats reading its coordination)."""
    return _case_outcomes(request, case_selectors.access_case(request.user, case_id))


@router.post(
    "/cases/{case_id}/assessments",
    response={201: AssessmentOut, 403: Error, 404: Error, 422: Error},
)
def assessment_add(request, case_id: int, payload: AssessmentIn):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    assessment = services.assessment_record(
        actor=request.user,
        case=case,
        occasion=payload.occasion,
        ratings=_ratings(payload.ratings),
        rationale=payload.rationale,
        assessed_on=payload.assessed_on,
    )
    dimensions = {term.pk: term for term in selectors.dimensions()}
    levels = selectors.assessment_levels(assessment)
    return Status(201, _assessment_out(assessment, levels, dimensions))


@router.post(
    "/cases/{case_id}/follow-up/consent",
    response={201: list[FollowUpOut], 403: Error, 404: Error, 422: Error},
)
def follow_up_plan(request, case_id: int, payload: FollowUpConsentIn):
    """At closure, the person's answer; with consent, the follow-ups are scheduled."""
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    return Status(
        201,
        services.follow_up_plan(
            actor=request.user, case=case, consent=payload.consent, note=payload.note
        ),
    )


@router.post(
    "/cases/{case_id}/follow-up/withdrawal",
    response={200: CaseOutcomesOut, 403: Error, 404: Error, 422: Error},
)
def follow_up_withdraw(request, case_id: int):
    """The person withdrew consent: the planned follow-ups are cancelled."""
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    services.follow_up_withdraw(actor=request.user, case=case)
    return _case_outcomes(request, case)


@router.post(
    "/cases/{case_id}/follow-ups",
    response={201: FollowUpOut, 403: Error, 404: Error, 422: Error},
)
def follow_up_add(request, case_id: int, payload: FollowUpIn):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    return Status(201, services.follow_up_add(actor=request.user, case=case, due_on=payload.due_on))


@router.post(
    "/cases/{case_id}/follow-ups/{follow_up_id}/result",
    response={200: FollowUpOut, 403: Error, 404: Error, 422: Error},
)
def follow_up_result(request, case_id: int, follow_up_id: int, payload: FollowUpResultIn):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    follow_up = selectors.case_follow_up(case, follow_up_id)
    return services.follow_up_result(
        actor=request.user,
        follow_up=follow_up,
        reached=payload.reached,
        ratings=_ratings(payload.ratings),
        rationale=payload.rationale,
        assessed_on=payload.assessed_on,
    )
