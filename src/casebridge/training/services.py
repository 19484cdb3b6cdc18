"""Writes for role-play training: start a run, join it as a party, answer events, finish.

Each is atomic and audited (run ids, scenario, party and event codes, counts; never the
answers themselves, although they hold no personal data either).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.accounts.models import Role
from casebridge.accounts.permissions import active_roles
from casebridge.audit.services import audit_record
from casebridge.sharing.selectors import stored_vocabulary
from casebridge.training import compare, selectors
from casebridge.training.models import (
    ScenarioReview,
    TrainingAnswer,
    TrainingParticipant,
    TrainingRun,
)
from casebridge.training.scenarios import ScenarioSpec, check_references, load_scenarios
from casebridge.training.selectors import spec_of

MAX_FLOWS = 12


def _member(actor) -> None:
    if not active_roles(actor):
        raise PermissionDenied(_("Only members of the network take part in training."))


@transaction.atomic
def run_create(*, actor, scenario_code: str) -> TrainingRun:
    """Start a run of a scenario against the active version of its procedure."""
    _member(actor)
    spec = load_scenarios().get(scenario_code)
    if spec is None:
        raise ValidationError({"scenario": [_("Choose one of the scenarios.")]})
    problems = check_references(spec, stored_vocabulary())
    if problems:
        raise ValidationError({"scenario": [str(p) for p in problems]})
    status = review_baselines(specs=[spec])[spec.code]
    protocol = status.protocol
    if protocol is None:
        raise ValidationError(
            {"scenario": [_("The procedure this scenario trains is not active.")]}
        )
    if status.needs_review:
        raise ValidationError(
            {
                "scenario": [
                    _(
                        "“%(scenario)s” needs a review: version %(version)s of the procedure "
                        "expects other answers at %(count)s of its events than when the "
                        "scenario was last reviewed. A coordinator reviews it before runs "
                        "start."
                    )
                    % {
                        "scenario": spec.label,
                        "version": protocol.version,
                        "count": len(status.changes),
                    }
                ]
            }
        )
    run = TrainingRun.objects.create(
        scenario_code=spec.code,
        scenario=spec.model_dump(mode="json"),
        protocol=protocol,
        facilitator=actor,
    )
    audit_record(
        actor=actor,
        action="training.run.create",
        obj=run,
        details={"scenario": spec.code, "protocol": protocol.pk},
    )
    return run


@transaction.atomic
def run_join(*, actor, run: TrainingRun, party: str) -> TrainingParticipant:
    """Take one party of the scenario (one player per party, one party per player)."""
    _member(actor)
    run = TrainingRun.objects.select_for_update().get(pk=run.pk)
    if run.status != TrainingRun.Status.OPEN:
        raise ValidationError({"party": [_("This run is finished.")]})
    spec = spec_of(run)
    if spec.party(party) is None:
        raise ValidationError({"party": [_("Choose one of the scenario's roles.")]})
    taken = TrainingParticipant.objects.filter(run=run)
    if taken.filter(user=actor).exists():
        raise ValidationError({"party": [_("You already play a role in this run.")]})
    if taken.filter(party=party).exists():
        raise ValidationError({"party": [_("Somebody else already plays this role.")]})
    participant = TrainingParticipant.objects.create(run=run, user=actor, party=party)
    audit_record(actor=actor, action="training.run.join", obj=run, details={"party": party})
    return participant


def clean_flows(flows: list[dict], *, run: TrainingRun, vocabulary=None) -> list[dict]:
    """Check an answer's flows; raise ValidationError naming ``flows.<n>.<field>``."""
    vocabulary = vocabulary or stored_vocabulary()
    spec = spec_of(run)
    recipients = {compare.role_key(r) for r in compare.recipient_roles(spec, vocabulary)}
    errors: dict[str, list[str]] = {}
    cleaned = []
    if len(flows) > MAX_FLOWS:
        raise ValidationError(
            {"flows": [_("Give at most %(count)s flows.") % {"count": MAX_FLOWS}]}
        )
    for index, flow in enumerate(flows):
        prefix = f"flows.{index}."

        def error(name: str, message: str, prefix=prefix) -> None:
            errors.setdefault(prefix + name, []).append(message)

        recipient = flow.get("recipient", "")
        obligation = flow.get("obligation", "")
        categories = sorted(set(flow.get("categories") or []))
        legal_basis = flow.get("legal_basis", "")
        deadline = flow.get("deadline", "") or ""
        if recipient not in recipients:
            error("recipient", _("Choose who is informed."))
        if obligation not in compare.OBLIGATIONS:
            error("obligation", _("Choose must inform, may inform or must not share."))
        if not categories:
            error("categories", _("Choose at least one information category."))
        elif any(c not in vocabulary.categories for c in categories):
            error("categories", _("Choose information categories of the list."))
        if legal_basis not in vocabulary.legal_bases:
            error("legal_basis", _("Choose the legal basis."))
        if obligation in compare.FLOWS and deadline not in compare.DEADLINES:
            error("deadline", _("Choose by when."))
        if obligation == "must_not_share":
            deadline = ""
        cleaned.append(
            {
                "recipient": recipient,
                "obligation": obligation,
                "categories": categories,
                "legal_basis": legal_basis,
                "deadline": deadline,
            }
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def answer_submit(
    *, actor, run: TrainingRun, event_number: int, flows: list[dict], nobody: bool = False
) -> TrainingAnswer:
    """Record the actor's answer at the next event of the run; answers cannot be changed."""
    participant = (
        TrainingParticipant.objects.select_for_update().filter(run=run, user=actor).first()
    )
    if participant is None:
        raise PermissionDenied(_("Join the run before you answer."))
    if run.status != TrainingRun.Status.OPEN:
        raise ValidationError({"event": [_("This run is finished.")]})
    answered = participant.answers.count()
    if answered >= run.event_count:
        raise ValidationError({"event": [_("You have answered every event.")]})
    if event_number != answered + 1:
        raise ValidationError(
            {"event": [_("Answer event %(number)s next.") % {"number": answered + 1}]}
        )
    if nobody and flows:
        raise ValidationError(
            {"nobody": [_("Either name the flows or say that nobody is informed, not both.")]}
        )
    if not nobody and not flows:
        raise ValidationError(
            {"nobody": [_("Name at least one flow, or say that nobody is informed.")]}
        )
    cleaned = clean_flows(flows, run=run)
    answer = TrainingAnswer.objects.create(
        participant=participant, event_number=event_number, flows=cleaned
    )
    audit_record(
        actor=actor,
        action="training.answer.submit",
        obj=run,
        details={"event": event_number, "flows": len(cleaned), "party": participant.party},
    )
    return answer


@transaction.atomic
def run_finish(*, actor, run: TrainingRun) -> TrainingRun:
    """Close the run and open the debrief to every participant (facilitator or coordinator)."""
    if run.facilitator_id != actor.pk and Role.COORDINATOR not in active_roles(actor):
        raise PermissionDenied(_("Only the facilitator finishes the run."))
    if run.status == TrainingRun.Status.FINISHED:
        raise ValidationError({"status": [_("This run is finished.")]})
    run.status, run.finished_at = TrainingRun.Status.FINISHED, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    audit_record(actor=actor, action="training.run.finish", obj=run)
    return run


# --- scenarios checked against the version in force -----------------------------------------


def _record_review(status: selectors.ReviewStatus, reviewer) -> ScenarioReview:
    return ScenarioReview.objects.create(
        scenario_code=status.spec.code,
        scenario_version=status.spec.version,
        protocol=status.protocol,
        expected=status.expected,
        digest=status.digest,
        reviewed_by=reviewer,
    )


def review_baselines(
    *, specs: list[ScenarioSpec] | None = None
) -> dict[str, selectors.ReviewStatus]:
    """The first time a scenario is seen (listed, or a run of it starts) with no review,
    record its expected answers under the version in force as its automatic baseline.
    Returns every scenario's status, the new baselines included (none of them flagged)."""
    specs = specs if specs is not None else selectors.scenarios()
    statuses = selectors.review_statuses(specs)
    for status in statuses.values():
        if status.review is not None or status.protocol is None or status.problems:
            continue
        try:
            with transaction.atomic():  # each baseline with its audit event, alone
                status.review = _record_review(status, None)
                audit_record(
                    actor=None,
                    action="training.scenario.baseline",
                    obj=status.review,
                    details={
                        "scenario": status.spec.code,
                        "protocol": status.protocol.pk,
                        "version": status.protocol.version,
                    },
                )
        except IntegrityError:  # recorded at the same moment by another request
            status.review = ScenarioReview.objects.get(
                scenario_code=status.spec.code, reviewed_by__isnull=True
            )
    return statuses


@transaction.atomic
def scenario_review(*, actor, spec: ScenarioSpec, version: str) -> ScenarioReview:
    """A coordinator confirms that the scenario trains the procedure as ``version`` (the
    version in force) gives it: its expected answers become the scenario's review, and runs
    of it may start again. Confirming what is already confirmed writes nothing."""
    if not selectors.may_review(actor):
        raise PermissionDenied(_("Only a coordinator reviews scenarios."))
    status = selectors.review_status(spec)
    if status.problems:
        raise ValidationError({"scenario": status.problems})
    if status.protocol is None:
        raise ValidationError(
            {"scenario": [_("The procedure this scenario trains is not active.")]}
        )
    if version != status.protocol.version:
        raise ValidationError(
            {
                "version": [
                    _(
                        "Version %(version)s of the procedure is in force now: look at the "
                        "changes again and review against it."
                    )
                    % {"version": status.protocol.version}
                ]
            }
        )
    last = status.review
    if (
        last is not None
        and not last.automatic
        and last.protocol_id == status.protocol.pk
        and last.digest == status.digest
    ):
        return last
    review = _record_review(status, actor)
    audit_record(
        actor=actor,
        action="training.scenario.review",
        obj=review,
        details={
            "scenario": spec.code,
            "protocol": status.protocol.pk,
            "version": status.protocol.version,
            "events_changed": [c.number for c in status.changes],
        },
    )
    return review
