"""Training pages: scenarios and runs, one run (join, answer, own feedback), the debrief."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.accounts.models import Role
from casebridge.accounts.permissions import active_roles
from casebridge.forms import apply_validation_error
from casebridge.training import selectors, services
from casebridge.training.forms import AnswerForm, JoinForm
from casebridge.training.models import TrainingRun


def _member(request) -> None:
    if not active_roles(request.user):
        raise PermissionDenied


@login_required
def runs(request):
    _member(request)
    statuses = services.review_baselines()
    return render(
        request,
        "training/runs.html",
        {
            "scenarios": [(status.spec, status) for status in statuses.values()],
            "runs": list(selectors.run_list(request.user)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def scenario_review(request, code: str):
    """A scenario against the version of its procedure in force: the events whose expected
    answer changed since the last review, and (coordinators) "I reviewed it"."""
    _member(request)
    spec = selectors.scenario_or_404(code)
    status = 200
    if request.method == "POST":
        try:
            services.scenario_review(
                actor=request.user, spec=spec, version=request.POST.get("version", "")[:40]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            status = 422
        else:
            messages.success(
                request,
                _("“%(scenario)s” is reviewed: runs of it compare with version %(version)s.")
                % {"scenario": spec.label, "version": request.POST.get("version", "")[:40]},
            )
            return redirect("training:scenario_review", code=spec.code)
    review_status = services.review_baselines(specs=[spec])[spec.code]
    return render(
        request,
        "training/scenario_review.html",
        {
            "spec": spec,
            "status": review_status,
            "may_review": selectors.may_review(request.user),
        },
        status=status,
    )


@login_required
@require_POST
def run_create(request):
    _member(request)
    try:
        run = services.run_create(
            actor=request.user, scenario_code=request.POST.get("scenario", "")[:64]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("training:runs")
    messages.success(request, _("The run has started. Choose your role."))
    return redirect("training:run", run_id=run.pk)


def _run_page(request, run: TrainingRun, *, join_form=None, answer_form=None, status=200):
    run_setting = selectors.setting(run)
    spec = run_setting.spec
    players = selectors.participants(run)
    me = next((p for p in players if p.user_id == request.user.pk), None)
    played = {p.party: p for p in players}
    free = [(p.code, selectors.party_label(p)) for p in spec.parties if p.code not in played]
    answers = sorted(me.answers.all(), key=lambda a: a.event_number) if me else []
    next_number = len(answers) + 1 if me and len(answers) < run.event_count else None
    if (
        me is not None
        and next_number is not None
        and run.status == TrainingRun.Status.OPEN
        and answer_form is None
    ):
        answer_form = AnswerForm(setting=run_setting)
    if me is None and run.status == TrainingRun.Status.OPEN and free and join_form is None:
        join_form = JoinForm(parties=free)
    shown = len(answers) + (1 if next_number else 0) if me else 0
    feedback = {a.event_number: selectors.feedback(run_setting, a, me.party) for a in answers}
    events = [
        (number, event, feedback.get(number))
        for number, event in enumerate(spec.events[:shown], start=1)
    ]
    return render(
        request,
        "training/run.html",
        {
            "run": run,
            "spec": spec,
            "parties": [(p, played.get(p.code)) for p in spec.parties],
            "me": me,
            "my_party": spec.party(me.party) if me else None,
            "events": events,
            "next_number": next_number,
            "join_form": join_form,
            "answer_form": answer_form if run.status == TrainingRun.Status.OPEN else None,
            "can_finish": run.status == TrainingRun.Status.OPEN
            and (
                run.facilitator_id == request.user.pk
                or Role.COORDINATOR in active_roles(request.user)
            ),
            "progress": [(p, len(p.answers.all())) for p in players],
        },
        status=status,
    )


@login_required
def run_detail(request, run_id: int):
    run = selectors.access_run(request.user, run_id)
    return _run_page(request, run)


@login_required
@require_POST
def run_join(request, run_id: int):
    run = selectors.access_run(request.user, run_id)
    spec = selectors.spec_of(run)
    form = JoinForm(
        request.POST, parties=[(p.code, selectors.party_label(p)) for p in spec.parties]
    )
    if form.is_valid():
        try:
            services.run_join(actor=request.user, run=run, party=form.cleaned_data["party"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("You have joined the run."))
            return redirect("training:run", run_id=run.pk)
    return _run_page(request, run, join_form=form, status=422)


@login_required
@require_POST
def answer(request, run_id: int, number: int):
    run = selectors.access_run(request.user, run_id)
    form = AnswerForm(request.POST, setting=selectors.setting(run))
    if form.is_valid():
        flows, rows = form.flows()
        try:
            services.answer_submit(
                actor=request.user,
                run=run,
                event_number=number,
                flows=flows,
                nobody=form.cleaned_data["nobody"],
            )
        except PermissionDenied:
            raise
        except ValidationError as exc:
            _apply_flow_errors(form, exc, rows)
        else:
            messages.success(request, _("Your answer was recorded. Compare it below."))
            return redirect(f"{run_url(run)}#event-{number}")
    return _run_page(request, run, answer_form=form, status=422)


def run_url(run: TrainingRun) -> str:

    return reverse("training:run", args=[run.pk])


def _apply_flow_errors(form: AnswerForm, exc: ValidationError, rows: list[int]) -> None:
    """The service names ``flows.<n>.<field>``; the form's row of flow n has its own name."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "flows" and parts[1].isdigit():
            form.add_error(f"flow_{rows[int(parts[1])]}_{parts[2]}", errors)
        elif key in form.fields:
            form.add_error(key, errors)
        else:
            form.add_error(None, errors)


@login_required
@require_POST
def run_finish(request, run_id: int):
    run = selectors.access_run(request.user, run_id)
    try:
        services.run_finish(actor=request.user, run=run)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("training:run", run_id=run.pk)
    messages.success(request, _("The run is finished: the debrief is open to every player."))
    return redirect("training:debrief", run_id=run.pk)


@login_required
def debrief(request, run_id: int):
    run = selectors.access_run(request.user, run_id)
    events = selectors.debrief(request.user, run)
    spec = selectors.spec_of(run)
    return render(
        request,
        "training/debrief.html",
        {
            "run": run,
            "spec": spec,
            "events": events,
            "party_labels": {p.code: selectors.party_label(p) for p in spec.parties},
        },
    )
