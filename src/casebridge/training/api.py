"""Role-play training in the API: scenarios, runs, joining, answers with their comparison,
the debrief. The same services and selectors as the pages."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from ninja import Field, Router, Schema, Status

from casebridge.accounts.permissions import active_roles
from casebridge.apischema import Error, Input
from casebridge.labels import pick_label
from casebridge.training import selectors, services
from casebridge.training.models import TrainingRun

router = Router(tags=["training"])


class PartyOut(Schema):
    code: str
    label: str
    organisation: str
    case_role: str
    joins_at: int


class ScenarioOut(Schema):
    code: str
    title: str
    summary: str
    protocol: str
    protocol_version: str | None = Field(
        description="the version in force, which a run started now compares with"
    )
    needs_review: bool = Field(
        description="the version in force expects other answers than at the last review: "
        "no run starts until a coordinator reviews the scenario"
    )
    events: int
    parties: list[PartyOut]


def _scenario_out(spec, status) -> dict:

    return {
        "code": spec.code,
        "title": spec.label,
        "summary": spec.summary_text,
        "protocol": spec.protocol,
        "protocol_version": status.version or None,
        "needs_review": status.needs_review,
        "events": len(spec.events),
        "parties": [
            {
                "code": p.code,
                "label": pick_label(p.label, fallback=p.code),
                "organisation": p.organisation,
                "case_role": p.case_role,
                "joins_at": p.joins_at,
            }
            for p in spec.parties
        ],
    }


class PlayerOut(Schema):
    username: str
    party: str
    answered: int


class RunOut(Schema):
    id: int
    scenario: str
    title: str
    status: str
    facilitator: str
    created_at: datetime
    finished_at: datetime | None
    events: int
    players: list[PlayerOut]


def _run_out(run: TrainingRun) -> dict:
    return {
        "id": run.pk,
        "scenario": run.scenario_code,
        "title": run.title,
        "status": run.status,
        "facilitator": run.facilitator.username,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "events": run.event_count,
        "players": [
            {"username": p.user.username, "party": p.party, "answered": len(p.answers.all())}
            for p in selectors.participants(run)
        ],
    }


class RunIn(Input):
    scenario: str = Field(max_length=64)


class JoinIn(Input):
    party: str = Field(max_length=64)


class FlowIn(Input):
    recipient: str = Field(max_length=80, description="role:<case role code>")
    obligation: str = Field(max_length=20, description="must_inform, may_inform, must_not_share")
    categories: list[str] = Field(max_length=20)
    legal_basis: str = Field(default="", max_length=64)
    deadline: str = Field(
        default="",
        max_length=40,
        description="without_delay, within_hours:24, within_days:3, within_days:7, "
        "days_before_event:14; empty for must_not_share",
    )


class AnswerIn(Input):
    nobody: bool = False
    flows: list[FlowIn] = Field(default=[], max_length=services.MAX_FLOWS)


class FlowOut(Schema):
    rule: str = ""
    rule_label: str = ""
    sender: str = Field(
        default="",
        description='expected flows: the scenario party that sends it ("-": none of the '
        "scenario's parties; empty for a barrier that binds every party)",
    )
    sender_label: str = ""
    recipient: str
    recipient_label: str
    obligation: str
    obligation_label: str
    categories: list[str]
    categories_label: str
    legal_basis: str
    legal_basis_label: str
    deadline: str
    deadline_label: str
    consent_required: bool = False
    second_approval: bool = False


class DifferenceOut(Schema):
    kind: str
    recipient: str
    rule: str
    expected: list[str]
    answered: list[str]
    explanation: str


class FeedbackOut(Schema):
    event: int
    correct: bool
    answer: list[FlowOut]
    expected: list[FlowOut] = Field(description="the flows the player's role sends: scored")
    others: list[FlowOut] = Field(
        description="what the other roles send at this event: for information, not scored"
    )
    differences: list[DifferenceOut]


def _feedback_out(feedback) -> dict:
    return {
        "event": feedback.event_number,
        "correct": feedback.correct,
        "answer": feedback.rows,
        "expected": feedback.expected_rows,
        "others": feedback.others_rows,
        "differences": [
            {
                "kind": d.kind,
                "recipient": d.recipient,
                "rule": d.rule,
                "expected": list(d.expected),
                "answered": list(d.answered),
                "explanation": text,
            }
            for d, text in zip(feedback.comparison.differences, feedback.explanations, strict=True)
        ],
    }


class DebriefRowOut(Schema):
    username: str
    party: str
    feedback: FeedbackOut | None


class DebriefEventOut(Schema):
    event: int
    code: str
    title: str
    expected: list[FlowOut]
    barriers: list[FlowOut]
    answers: list[DebriefRowOut]


def _member(request) -> None:

    if not active_roles(request.user):
        raise PermissionDenied


@router.get("/scenarios", response={200: list[ScenarioOut], 403: Error}, summary="Scenarios")
def scenario_list(request):
    _member(request)
    statuses = services.review_baselines()
    return [_scenario_out(status.spec, status) for status in statuses.values()]


class EventChangeOut(Schema):
    event: int
    title: str
    changes: list[str]


class ScenarioReviewOut(Schema):
    scenario: str
    protocol: str
    protocol_version: str | None = Field(description="the version in force")
    needs_review: bool
    reviewed_version: str | None = Field(description="the version of the latest review")
    reviewed_by: str | None = Field(description="empty for the automatic first review")
    reviewed_at: datetime | None
    changed_events: list[EventChangeOut] = Field(
        description="the events whose expected answer the version in force changes, in words"
    )
    problems: list[str]


class ScenarioReviewIn(Input):
    version: str = Field(max_length=40, description="the version in force you reviewed against")


def _review_out(status) -> dict:
    review = status.review
    return {
        "scenario": status.spec.code,
        "protocol": status.spec.protocol,
        "protocol_version": status.version or None,
        "needs_review": status.needs_review,
        "reviewed_version": review.protocol.version if review else None,
        "reviewed_by": review.reviewed_by.username if review and review.reviewed_by else None,
        "reviewed_at": review.reviewed_at if review else None,
        "changed_events": [
            {"event": c.number, "title": c.title, "changes": c.sentences} for c in status.changes
        ],
        "problems": status.problems,
    }


@router.get(
    "/scenarios/{code}/review",
    response={200: ScenarioReviewOut, 403: Error, 404: Error},
    summary="A scenario against the version of its procedure in force",
)
def scenario_review_status(request, code: str):
    _member(request)
    spec = selectors.scenario_or_404(code)
    return _review_out(services.review_baselines(specs=[spec])[spec.code])


@router.post(
    "/scenarios/{code}/review",
    response={200: ScenarioReviewOut, 403: Error, 404: Error, 422: Error},
    summary="I reviewed this scenario against the version in force (coordinators)",
)
def scenario_review(request, code: str, payload: ScenarioReviewIn):
    _member(request)
    spec = selectors.scenario_or_404(code)
    services.scenario_review(actor=request.user, spec=spec, version=payload.version)
    return _review_out(selectors.review_status(spec))


@router.get("/runs", response={200: list[RunOut], 403: Error}, summary="Runs you may see")
def run_list(request):
    _member(request)
    return [_run_out(run) for run in selectors.run_list(request.user)]


@router.post("/runs", response={201: RunOut, 403: Error, 422: Error}, summary="Start a run")
def run_create(request, payload: RunIn):
    run = services.run_create(actor=request.user, scenario_code=payload.scenario)
    return Status(201, _run_out(run))


@router.get("/runs/{run_id}", response={200: RunOut, 404: Error}, summary="One run")
def run_detail(request, run_id: int):
    return _run_out(selectors.access_run(request.user, run_id))


@router.post(
    "/runs/{run_id}/join",
    response={200: RunOut, 403: Error, 404: Error, 422: Error},
    summary="Take a role",
)
def run_join(request, run_id: int, payload: JoinIn):
    run = selectors.access_run(request.user, run_id)
    services.run_join(actor=request.user, run=run, party=payload.party)
    return _run_out(run)


@router.post(
    "/runs/{run_id}/events/{number}/answer",
    response={201: FeedbackOut, 403: Error, 404: Error, 422: Error},
    summary="Answer the next event; returns the comparison with the procedure",
)
def answer(request, run_id: int, number: int, payload: AnswerIn):
    run = selectors.access_run(request.user, run_id)
    saved = services.answer_submit(
        actor=request.user,
        run=run,
        event_number=number,
        flows=[f.dict() for f in payload.flows],
        nobody=payload.nobody,
    )
    return Status(
        201,
        _feedback_out(selectors.feedback(selectors.setting(run), saved, saved.participant.party)),
    )


@router.get(
    "/runs/{run_id}/feedback",
    response={200: list[FeedbackOut], 404: Error},
    summary="Your answers so far, each compared with the procedure",
)
def my_feedback(request, run_id: int):
    run = selectors.access_run(request.user, run_id)
    me = selectors.my_participation(request.user, run)
    if me is None:
        return []
    run_setting = selectors.setting(run)
    return [_feedback_out(selectors.feedback(run_setting, a, me.party)) for a in me.answers.all()]


@router.post(
    "/runs/{run_id}/finish",
    response={200: RunOut, 403: Error, 404: Error, 422: Error},
    summary="Finish the run (facilitator or coordinator)",
)
def run_finish(request, run_id: int):
    run = selectors.access_run(request.user, run_id)
    return _run_out(services.run_finish(actor=request.user, run=run))


@router.get(
    "/runs/{run_id}/debrief",
    response={200: list[DebriefEventOut], 404: Error},
    summary="Every answer of a finished run compared with the procedure",
)
def debrief(request, run_id: int):

    run = selectors.access_run(request.user, run_id)
    return [
        {
            "event": item.number,
            "code": item.event.event,
            "title": pick_label(item.event.title),
            "expected": item.expected,
            "barriers": item.barriers,
            "answers": [
                {
                    "username": player.user.username,
                    "party": player.party,
                    "feedback": _feedback_out(feedback) if feedback else None,
                }
                for player, feedback in item.rows
            ],
        }
        for item in selectors.debrief(request.user, run)
    ]
