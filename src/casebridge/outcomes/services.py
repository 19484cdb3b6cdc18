"""Writes of outcomes: assessments on the model's dimensions, consent to follow-up, the
follow-ups and their results. Every write is atomic, checks the policy first and is
audited without its content (DESIGN.md invariants 5, 8, 10 and 12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.access.policy import Action, decide, may_write, require
from casebridge.audit.services import audit_record
from casebridge.cases.models import Case, Entry, Participant
from casebridge.cooperation_models.models import CooperationModel, Term
from casebridge.dates import add_months
from casebridge.outcomes.models import Assessment, FollowUp, FollowUpConsent, Occasion, Rating
from casebridge.outcomes.selectors import dimensions

MAX_RATIONALE = 5000
# How far back an assessment may be dated (a judgement recorded late, not history rewritten).
MAX_BACKDATE_DAYS = 366


@dataclass(frozen=True)
class RatingIn:
    dimension: str  # the dimension's code
    level: int


def _titles() -> dict[str, str]:
    return {
        Occasion.INTAKE: _("Outcome assessment at intake"),
        Occasion.REVIEW: _("Outcome assessment at a review"),
        Occasion.CLOSURE: _("Outcome assessment at closure"),
        Occasion.FOLLOW_UP: _("Outcome assessment at a follow-up"),
    }


def _check_ratings(ratings: list[RatingIn], errors: dict) -> list[tuple[Term, int]]:
    """The ratings as (dimension, level), each on a known dimension and inside its scale,
    every dimension once and all of one information category."""
    known = {term.code: term for term in dimensions()}
    found: list[tuple[Term, int]] = []
    problems: list[str] = []
    if not ratings:
        problems.append(_("Choose a level on at least one dimension."))
    seen: set[str] = set()
    for rating in ratings:
        term = known.get(rating.dimension)
        if term is None:
            problems.append(
                _('"%(code)s" is not an outcome dimension.') % {"code": rating.dimension}
            )
            continue
        if rating.dimension in seen:
            problems.append(_("%(dimension)s is rated twice.") % {"dimension": term.label})
            continue
        seen.add(rating.dimension)
        top = len(term.attributes.get("levels", [])) - 1
        if not isinstance(rating.level, int) or not 0 <= rating.level <= top:
            problems.append(
                _("%(dimension)s: the level must lie between 0 and %(top)s.")
                % {"dimension": term.label, "top": top}
            )
            continue
        found.append((term, rating.level))
    if len({term.attributes.get("category") for term, _level in found}) > 1:
        problems.append(
            _(
                "These dimensions belong to different information categories; record them as "
                "separate assessments."
            )
        )
    if problems:
        errors["ratings"] = problems
    return found


def _seat_organisation(actor, case: Case) -> int | None:
    return (
        Participant.objects.active()
        .filter(case=case, members=actor)
        .values_list("organisation_id", flat=True)
        .first()
    )


@transaction.atomic
def assessment_record(
    *,
    actor,
    case: Case,
    occasion: str,
    ratings: list[RatingIn],
    rationale: str,
    assessed_on: date | None = None,
    follow_up: FollowUp | None = None,
) -> Assessment:
    """Record one professional's judgement on dimensions of one information category.

    At intake, reviews and closure while the case is open; at closure (late) and at a
    follow-up after it closed. A follow-up's result is recorded through
    ``follow_up_result``, which passes the follow-up."""
    errors: dict[str, list[str]] = {}
    found = _check_ratings(ratings, errors)
    category = None
    if found:
        code = found[0][0].attributes.get("category", "")
        category = Term.objects.of("information_category").filter(code=code).first()
    if category is not None:
        require(may_write(actor, case, category))
    else:
        require(decide(actor, Action.VIEW, case))
    if occasion not in Occasion.values:
        errors["occasion"] = [_("Choose intake, review, closure or follow-up.")]
    elif occasion == Occasion.FOLLOW_UP and follow_up is None:
        errors["occasion"] = [_("A follow-up's result is recorded at the follow-up.")]
    elif case.status == Case.Status.CLOSED and occasion in (Occasion.INTAKE, Occasion.REVIEW):
        errors["occasion"] = [_("The case is closed: record a closure or follow-up assessment.")]
    today = timezone.localdate()
    assessed_on = assessed_on or today
    if assessed_on > today:
        errors["assessed_on"] = [_("The date lies in the future.")]
    elif (today - assessed_on).days > MAX_BACKDATE_DAYS:
        errors["assessed_on"] = [_("The date lies more than a year back.")]
    elif assessed_on < timezone.localtime(case.opened_at).date():
        errors["assessed_on"] = [_("The date lies before the case was opened.")]
    rationale = rationale.strip()
    if not rationale:
        errors["rationale"] = [_("Give the rationale for your judgement.")]
    elif len(rationale) > MAX_RATIONALE:
        errors["rationale"] = [
            _("The rationale is longer than %(limit)s characters.") % {"limit": MAX_RATIONALE}
        ]
    if errors:
        raise ValidationError(errors)
    entry = Entry.objects.create(
        case=case,
        kind=Entry.Kind.ASSESSMENT,
        category=category,
        author=actor,
        author_organisation_id=_seat_organisation(actor, case),
        occurred_on=assessed_on,
        title=_titles()[occasion],
        text=rationale,
    )
    assessment = Assessment.objects.create(
        entry=entry,
        case=case,
        occasion=occasion,
        assessed_on=assessed_on,
        follow_up=follow_up,
    )
    Rating.objects.bulk_create(
        Rating(assessment=assessment, dimension=term, level=level) for term, level in found
    )
    audit_record(
        actor=actor,
        action="outcomes.assessment.record",
        obj=assessment,
        details={
            "case": case.number,
            "occasion": occasion,
            "category": category.code,
            "dimensions": len(found),
        },
    )
    return assessment


def follow_up_months() -> list[int]:
    model = CooperationModel.objects.first()
    return list((model.settings if model else {}).get("follow_up_months", [6, 12]))


def _require_lead_of_closed(actor, case: Case) -> None:
    require(decide(actor, Action.CHANGE, case))
    if case.status != Case.Status.CLOSED:
        raise ValidationError({"case": [_("Follow-ups are planned once the case is closed.")]})


@transaction.atomic
def follow_up_plan(*, actor, case: Case, consent: bool, note: str) -> list[FollowUp]:
    """At closure: record whether the person agreed to follow-ups; with consent, schedule
    them at the model's months after the closure. Without consent nothing is scheduled
    and nobody is ever contacted; the case counts as "no consent"."""
    _require_lead_of_closed(actor, case)
    note = note.strip()
    errors: dict[str, list[str]] = {}
    if FollowUpConsent.objects.filter(case=case).exists():
        errors["consent"] = [_("The answer is recorded already; the person may withdraw it.")]
    if not note:
        errors["note"] = [_("Say how the person was asked and what they answered.")]
    elif len(note) > 300:
        errors["note"] = [_("Keep the note under 300 characters.")]
    if errors:
        raise ValidationError(errors)
    FollowUpConsent.objects.create(case=case, given=consent, note=note, recorded_by=actor)
    planned: list[FollowUp] = []
    if consent:
        closed_on = timezone.localtime(case.closed_at).date()
        planned = [
            FollowUp.objects.create(
                case=case, due_on=add_months(closed_on, months), scheduled_by=actor
            )
            for months in follow_up_months()
        ]
    audit_record(
        actor=actor,
        action="outcomes.follow_up.plan",
        obj=case,
        details={"case": case.number, "consent": consent, "planned": len(planned)},
    )
    return planned


@transaction.atomic
def follow_up_add(*, actor, case: Case, due_on: date) -> FollowUp:
    """One more follow-up; only where the person's consent is in force."""
    _require_lead_of_closed(actor, case)
    consent = FollowUpConsent.objects.filter(case=case).first()
    if consent is None or not consent.in_force:
        raise ValidationError(
            {"consent": [_("The person has not agreed to follow-ups: nobody may contact them.")]}
        )
    if due_on <= timezone.localdate():
        raise ValidationError({"due_on": [_("The day must lie in the future.")]})
    if due_on > add_months(timezone.localdate(), 60):
        raise ValidationError({"due_on": [_("The day lies more than five years ahead.")]})
    follow_up = FollowUp.objects.create(case=case, due_on=due_on, scheduled_by=actor)
    audit_record(
        actor=actor, action="outcomes.follow_up.add", obj=follow_up, details={"case": case.number}
    )
    return follow_up


@transaction.atomic
def follow_up_withdraw(*, actor, case: Case, note: str = "") -> int:
    """The person withdrew consent: every planned follow-up is cancelled."""
    _require_lead_of_closed(actor, case)
    consent = FollowUpConsent.objects.select_for_update().filter(case=case).first()
    if consent is None or not consent.in_force:
        raise ValidationError({"consent": [_("There is no consent in force to withdraw.")]})
    consent.withdrawn_at = timezone.now()
    consent.save(update_fields=["withdrawn_at"])
    cancelled = FollowUp.objects.filter(case=case, status=FollowUp.Status.PLANNED).update(
        status=FollowUp.Status.CANCELLED
    )
    audit_record(
        actor=actor,
        action="outcomes.follow_up.withdraw",
        obj=case,
        details={"case": case.number, "cancelled": cancelled},
    )
    return cancelled


@transaction.atomic
def follow_up_result(
    *,
    actor,
    follow_up: FollowUp,
    reached: bool,
    ratings: list[RatingIn] | None = None,
    rationale: str = "",
    assessed_on: date | None = None,
) -> FollowUp:
    """The result of a planned follow-up: the person was not reached, or was, and is
    assessed on the same scales as at intake and closure."""
    follow_up = FollowUp.objects.select_for_update().select_related("case").get(pk=follow_up.pk)
    case = follow_up.case
    _require_lead_of_closed(actor, case)
    if follow_up.status != FollowUp.Status.PLANNED:
        raise ValidationError({"status": [_("This follow-up is no longer planned.")]})
    consent = FollowUpConsent.objects.filter(case=case).first()
    if consent is None or not consent.in_force:
        raise ValidationError(
            {"consent": [_("The person has not agreed to follow-ups: nobody may contact them.")]}
        )
    if follow_up.due_on > add_months(timezone.localdate(), 1):
        raise ValidationError({"status": [_("This follow-up is not due yet.")]})
    if reached:
        assessment_record(
            actor=actor,
            case=case,
            occasion=Occasion.FOLLOW_UP,
            ratings=ratings or [],
            rationale=rationale,
            assessed_on=assessed_on,
            follow_up=follow_up,
        )
    follow_up.status = FollowUp.Status.DONE if reached else FollowUp.Status.NOT_REACHED
    follow_up.done_by, follow_up.done_at = actor, timezone.now()
    follow_up.save(update_fields=["status", "done_by", "done_at"])
    audit_record(
        actor=actor,
        action="outcomes.follow_up.result",
        obj=follow_up,
        details={"case": case.number, "status": follow_up.status},
    )
    return follow_up
