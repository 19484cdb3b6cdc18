"""The outcomes section of the case page: the course over time, an assessment form per
information category the reader may write, and (once the case is closed, for its lead)
the question of follow-up and the follow-ups with their results."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from casebridge.cases import selectors as case_selectors
from casebridge.cases.models import Case
from casebridge.cases.views import CaseSection
from casebridge.cases.views import _post as post_case_form
from casebridge.outcomes import selectors, services
from casebridge.outcomes.forms import (
    AssessmentForm,
    FollowUpAddForm,
    FollowUpPlanForm,
    FollowUpResultForm,
)
from casebridge.outcomes.models import FollowUp, Occasion


def _occasions(case: Case) -> list[str]:
    if case.status == Case.Status.CLOSED:
        return [Occasion.CLOSURE]
    return [Occasion.INTAKE, Occasion.REVIEW, Occasion.CLOSURE]


def _dimensions_by_category(every=None) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for dimension in every if every is not None else selectors.dimensions():
        grouped.setdefault(dimension.attributes.get("category", ""), []).append(dimension)
    return grouped


def _assessment_forms(case, writable, grouped, shown=None) -> list[AssessmentForm]:
    forms = []
    for category in writable:
        dimensions = grouped.get(category.code)
        if not dimensions:
            continue
        if shown is not None and shown.prefix == f"assess-{category.code}":
            forms.append(shown)
            continue
        forms.append(
            AssessmentForm(
                dimensions=dimensions, occasions=_occasions(case), category=category.code
            )
        )
    return forms


def _result_forms(case, state, dimensions, shown=None) -> dict[int, FollowUpResultForm]:
    forms = {}
    for follow_up in state.follow_ups if state else []:
        if follow_up.status != FollowUp.Status.PLANNED:
            continue
        if shown is not None and shown.prefix == f"follow-{follow_up.pk}":
            forms[follow_up.pk] = shown
            continue
        category = next(iter(dimensions), "")
        forms[follow_up.pk] = FollowUpResultForm(
            dimensions=dimensions.get(category, []), category=category, follow_up_id=follow_up.pk
        )
    return forms


def outcomes_section(request, case, header, forms) -> dict:
    state = selectors.case_follow_ups(request.user, case)
    closed = case.status == Case.Status.CLOSED
    lead = header.can_change  # the lead's seat; an emergency seat changes nothing
    every = selectors.dimensions()
    grouped = _dimensions_by_category(every)
    shown = forms.get("follow_up_result_form")
    result_forms = _result_forms(case, state, grouped, shown) if lead and closed else {}
    return {
        "course": selectors.case_course(request.user, case, every),
        "assessment_forms": _assessment_forms(
            case, header.writable, grouped, forms.get("assessment_form")
        ),
        "follow_up": state,
        "follow_up_lead": lead and closed,
        "plan_form": forms.get("follow_up_plan_form") or FollowUpPlanForm(),
        "add_form": forms.get("follow_up_add_form") or FollowUpAddForm(),
        "follow_up_rows": [
            (follow_up, result_forms.get(follow_up.pk))
            for follow_up in (state.follow_ups if state else [])
        ],
        "templates": selectors.goal_templates(),
    }


SECTION = CaseSection(
    "outcomes",
    gettext_lazy("Outcomes and follow-up"),
    "outcomes/_case_section.html",
    outcomes_section,
    forms=(
        "assessment_form",
        "follow_up_plan_form",
        "follow_up_add_form",
        "follow_up_result_form",
    ),
    position=45,
)


@login_required
@require_POST
def assessment_add(request, case_id: int, category: str):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    form = AssessmentForm(
        request.POST,
        dimensions=_dimensions_by_category().get(category, []),
        occasions=_occasions(case),
        category=category,
    )
    return post_case_form(
        request,
        case,
        "assessment_form",
        form,
        lambda case, data: services.assessment_record(
            actor=request.user,
            case=case,
            occasion=data["occasion"],
            ratings=form.ratings(),
            rationale=data["rationale"],
            assessed_on=data["assessed_on"],
        ),
    )


@login_required
@require_POST
def follow_up_plan(request, case_id: int):
    form = FollowUpPlanForm(request.POST)
    return post_case_form(
        request,
        case_id,
        "follow_up_plan_form",
        form,
        lambda case, data: services.follow_up_plan(actor=request.user, case=case, **data),
    )


@login_required
@require_POST
def follow_up_add(request, case_id: int):
    return post_case_form(
        request,
        case_id,
        "follow_up_add_form",
        FollowUpAddForm(request.POST),
        lambda case, data: services.follow_up_add(actor=request.user, case=case, **data),
    )


@login_required
@require_POST
def follow_up_withdraw(request, case_id: int):
    return post_case_form(
        request,
        case_id,
        "follow_up_plan_form",
        FollowUpPlanForm({"follow-plan-consent": "no", "follow-plan-note": "-"}),
        lambda case, data: services.follow_up_withdraw(actor=request.user, case=case),
    )


@login_required
@require_POST
def follow_up_result(request, case_id: int, follow_up_id: int):
    case = case_selectors.access_case(request.user, case_id, for_write=True)
    follow_up = selectors.case_follow_up(case, follow_up_id)
    dimensions = _dimensions_by_category()
    category = next(iter(dimensions), "")
    form = FollowUpResultForm(
        request.POST,
        dimensions=dimensions.get(category, []),
        category=category,
        follow_up_id=follow_up.pk,
    )
    return post_case_form(
        request,
        case,
        "follow_up_result_form",
        form,
        lambda case, data: services.follow_up_result(
            actor=request.user,
            follow_up=follow_up,
            reached=data["reached"],
            ratings=form.ratings() if data["reached"] else [],
            rationale=data["rationale"],
            assessed_on=data["assessed_on"],
        ),
    )
