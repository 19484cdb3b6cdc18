"""Monthly figures of the outcomes of closed cases (issue 20), built from the live rows.

Each closed case is counted once, in the local calendar month it was closed and under the
organisation that owns it, into ``OutcomeFigures``: a flat counter of

- ``closure|<dimension>|<change>`` and ``follow_up|<dimension>|<change>`` for every active
  outcome dimension: how the level chosen at intake compares with the one chosen at
  closure, and with the one chosen at the latest follow-up (``CHANGES``; "none" when the
  case was not judged on the dimension at both points);
- ``phase|<phase reached>|<change>`` and ``opened|<year opened>|<change>``: the change of
  the top-level result (the model's headline dimension) by the furthest phase the case
  reached while open (``stats.PhaseReached``; "" when not recorded) and by the local
  calendar year it was opened;
- ``state|<follow-up state>`` (``FOLLOW_UP_STATES``) and ``cases|``.

The dashboard then reads twelve months of a few hundred rows instead of every rating of
every case closed in the year (at 100,000 cases that is some 300,000 ratings, read and
compared in Python: far more than the dashboard's budget; bench/results.md).

"Intake" is the earliest assessment recorded at intake that rates the dimension, "closure"
the latest recorded at closure, "follow-up" the latest recorded at a follow-up (by the day
assessed, then the order recorded). Reviews are not compared: they lie between the two
points. Levels are ordinal judgements, compared only as higher, equal or lower.

**Always current**, as ``aggregates``: every save of a case's closing, owner or opening, of
an assessment, a rating, a consent to follow-up or a follow-up marks the closing month of
its case stale in the writer's transaction (``StaleOutcomeMonth``; nothing is marked while
the case is open — the figures count closed cases only, and closing marks the month);
readers call ``refresh()`` for the months they read; the worker calls
``refresh_stale()``. Writers that bypass the signals (bulk loads) call
``aggregates.forget_built_months()``, which forgets these months too; loading a
cooperation model calls it (the dimensions and the headline may change).

The same receivers keep ``PhaseReached``: raised to the case's phase whenever an open
case is saved in a further phase.

Every query goes through ``registry.source()`` (checked by tests/stats/test_registry.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from casebridge.cases.models import Case, Phase
from casebridge.cooperation_models.models import Term
from casebridge.outcomes.models import Assessment, FollowUp, FollowUpConsent, Occasion, Rating
from casebridge.stats.aggregates import month_bounds, month_of, months_between
from casebridge.stats.models import (
    OutcomeBuild,
    OutcomeFigures,
    PhaseReached,
    StaleOutcomeMonth,
)
from casebridge.stats.registry import source

# how a later judgement compares with the one at intake; "none": not judged at both points
CHANGES = ("better", "same", "worse", "none")
# where a closed case's follow-up stands (each case in exactly one, in this precedence:
# reached at any follow-up; no answer recorded; refused or withdrawn; a follow-up still
# planned; every follow-up ended without reaching the person)
FOLLOW_UP_STATES = ("not_asked", "refused", "planned", "reached", "not_reached")
# the phases a case passes through before closure, in order
OPEN_PHASES = [phase.value for phase in Phase if phase != Phase.CLOSURE]
_RANK = {phase: rank for rank, phase in enumerate(OPEN_PHASES)}


def change(before: int | None, after: int | None) -> str:
    """A later level against the one at intake: higher is better (the goal is the top)."""
    if before is None or after is None:
        return "none"
    if after > before:
        return "better"
    return "same" if after == before else "worse"


def dimensions() -> list[dict]:
    """The model's active outcome dimensions, the headline first, then in model order:
    [{"id", "code", "label", "headline"}]. The headline is the dimension the model marks
    (the top-level result), else the first."""
    rows = list(
        source(Term)
        .filter(kind="outcome_dimension", active=True)
        .order_by("position", "code")
        .values("id", "code", "labels", "attributes")
    )
    found = [
        {
            "id": row["id"],
            "code": row["code"],
            "labels": row["labels"],
            "headline": bool((row["attributes"] or {}).get("headline")),
        }
        for row in rows
    ]
    if found and not any(row["headline"] for row in found):
        found[0]["headline"] = True
    return sorted(found, key=lambda row: not row["headline"])  # stable: model order after


def _follow_up_state(consent, statuses: set[str]) -> str:
    if FollowUp.Status.DONE in statuses:
        return "reached"
    if consent is None:
        return "not_asked"
    given, withdrawn_at = consent
    if not given or withdrawn_at is not None:
        return "refused"
    if FollowUp.Status.NOT_REACHED in statuses and FollowUp.Status.PLANNED not in statuses:
        return "not_reached"
    return "planned"


def count_closed(start: datetime, end: datetime, dims: list[dict] | None = None) -> dict:
    """Count the cases closed in [start, end) from the live rows: owner -> Counter of
    "measure|value" keys (see the module's text)."""
    dims = dimensions() if dims is None else dims
    headline = dims[0]["id"] if dims else None
    closed = {"closed_at__gte": start, "closed_at__lt": end}
    of_closed = {f"case__{key}": value for key, value in closed.items()}
    cases = source(Case).filter(**closed).values_list("id", "owner", "opened_at")
    phases = dict(source(PhaseReached).filter(**of_closed).values_list("case", "phase"))
    consents = {
        case: (given, withdrawn_at)
        for case, given, withdrawn_at in source(FollowUpConsent)
        .filter(**of_closed)
        .values_list("case", "given", "withdrawn_at")
    }
    statuses: defaultdict[int, set] = defaultdict(set)
    for case, status in source(FollowUp).filter(**of_closed).values_list("case", "status"):
        statuses[case].add(status)
    # per (case, dimension, occasion): the deciding rating's (day, assessment) and level —
    # the earliest at intake, the latest at closure and at a follow-up
    levels: dict[tuple, tuple] = {}
    occasions = (Occasion.INTAKE, Occasion.CLOSURE, Occasion.FOLLOW_UP)
    ratings = (
        source(Rating)
        .filter(
            **{f"assessment__case__{key}": value for key, value in closed.items()},
            assessment__occasion__in=occasions,
        )
        .values_list(
            "assessment__case",
            "dimension",
            "assessment__occasion",
            "assessment__assessed_on",
            "assessment",
            "level",
        )
    )
    for case, dimension, occasion, day, assessment, level in ratings:
        key = (case, dimension, occasion)
        order = (day, assessment)
        known = levels.get(key)
        if (
            known is None
            or (occasion == Occasion.INTAKE and order < known[0])
            or (occasion != Occasion.INTAKE and order > known[0])
        ):
            levels[key] = (order, level)
    zone = timezone.get_current_timezone()
    found: defaultdict[int, Counter] = defaultdict(Counter)

    def level(case, dimension, occasion):
        known = levels.get((case, dimension, occasion))
        return None if known is None else known[1]

    for case, owner, opened_at in cases:
        counter = found[owner]
        counter["cases|"] += 1
        top = "none"
        for dimension in dims:
            at_intake = level(case, dimension["id"], Occasion.INTAKE)
            at_closure = change(at_intake, level(case, dimension["id"], Occasion.CLOSURE))
            later = change(at_intake, level(case, dimension["id"], Occasion.FOLLOW_UP))
            counter[f"closure|{dimension['code']}|{at_closure}"] += 1
            counter[f"follow_up|{dimension['code']}|{later}"] += 1
            if dimension["id"] == headline:
                top = at_closure
        counter[f"phase|{phases.get(case, '')}|{top}"] += 1
        counter[f"opened|{opened_at.astimezone(zone).year}|{top}"] += 1
        counter[f"state|{_follow_up_state(consents.get(case), statuses[case])}"] += 1
    return found


# -- building (as aggregates.build_month, for the months cases were closed in) ------------


def build_month(month: date, *, dims: list[dict] | None = None, force: bool = False) -> bool:
    """Replace one month's outcome figures with a fresh count; False if already current.
    The month's ``OutcomeBuild`` row is held FOR UPDATE; exactly the stale marks read here
    are removed."""
    with transaction.atomic():
        OutcomeBuild.objects.bulk_create([OutcomeBuild(month=month)], ignore_conflicts=True)
        build = OutcomeBuild.objects.select_for_update().get(month=month)
        marks = list(StaleOutcomeMonth.objects.filter(month=month).values_list("id", flat=True))
        if build.built_at is not None and not marks and not force:
            return False
        start, end = month_bounds(month)
        counted = count_closed(start, end, dims)
        OutcomeFigures.objects.filter(month=month).delete()
        OutcomeFigures.objects.bulk_create(
            [
                OutcomeFigures(month=month, organisation=owner, figures=dict(counter))
                for owner, counter in counted.items()
            ],
            batch_size=500,
        )
        if marks:
            StaleOutcomeMonth.objects.filter(id__in=marks).delete()
        build.built_at = timezone.now()
        build.save(update_fields=["built_at"])
    return True


def _build_each(months, *, force: bool = False) -> int:
    if not months:
        return 0
    dims = dimensions()
    return sum(build_month(month, dims=dims, force=force) for month in sorted(months))


def refresh(months: list[date]) -> int:
    """Build every month of ``months`` that is stale or was never built; return how many."""
    built = set(
        OutcomeBuild.objects.filter(month__in=months, built_at__isnull=False).values_list(
            "month", flat=True
        )
    )
    stale = set(StaleOutcomeMonth.objects.filter(month__in=months).values_list("month", flat=True))
    return _build_each((set(months) - built) | stale)


def refresh_stale() -> int:
    """Build the months marked stale and those forgotten (the worker)."""
    due = set(StaleOutcomeMonth.objects.values_list("month", flat=True))
    due |= set(OutcomeBuild.objects.filter(built_at__isnull=True).values_list("month", flat=True))
    return _build_each(due)


def rebuild_all() -> int:
    """Count every month in which a case was closed again (``stats rebuild``)."""
    forget()
    closed = source(Case).filter(closed_at__isnull=False)
    first = closed.order_by("closed_at").values_list("closed_at", flat=True).first()
    last = closed.order_by("-closed_at").values_list("closed_at", flat=True).first()
    if first is None:
        return 0
    months = months_between(month_bounds(month_of(first))[0], month_bounds(month_of(last))[1])
    return _build_each(months, force=True)


def forget() -> None:
    """Have every built month counted again on its next read."""
    OutcomeBuild.objects.update(built_at=None)


def read(
    start: datetime,
    end: datetime,
    *,
    organisation_id: int | None = None,
    recount: bool = True,
) -> dict[int, Counter]:
    """The figures of the cases closed in [start, end) (whole local months), per owning
    organisation (only ``organisation_id``'s when given): owner -> Counter."""
    months = months_between(start, end)
    if recount:
        refresh(months)
    rows = source(OutcomeFigures).filter(month__in=months)
    if organisation_id is not None:
        rows = rows.filter(organisation=organisation_id)
    found: defaultdict[int, Counter] = defaultdict(Counter)
    for owner, figures in rows.values_list("organisation", "figures"):
        found[owner].update(figures)
    return found


# -- keeping the figures (and the phase reached) in step -----------------------------------

CASE_FIELDS = frozenset({"closed_at", "owner", "opened_at"})


def _mark(*moments) -> None:
    months = {month_of(moment) for moment in moments if moment is not None}
    StaleOutcomeMonth.objects.bulk_create(
        [StaleOutcomeMonth(month=month) for month in sorted(months)]
    )


def _mark_case(case_id) -> None:
    """Mark the closing month of a case, if it is closed."""
    _mark(*source(Case).filter(pk=case_id).values_list("closed_at", flat=True))


def _touches(fields, update_fields) -> bool:
    return update_fields is None or bool(fields & set(update_fields))


def _case_before(sender, instance, raw=False, update_fields=None, **kwargs):
    """Remember when a case was closed before a save that may change it."""
    if raw or instance._state.adding or not _touches({"closed_at"}, update_fields):
        return
    instance._stats_closed_before = (
        source(Case).filter(pk=instance.pk).values_list("closed_at", flat=True).first()
    )


def _case_saved(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    if created or _touches(CASE_FIELDS, update_fields):
        _mark(instance.closed_at, getattr(instance, "_stats_closed_before", None))
    if (
        instance.status == Case.Status.OPEN
        and instance.phase in _RANK
        and (created or _touches({"phase"}, update_fields))
    ):
        _raise_phase(instance.pk, instance.phase)


def _raise_phase(case_id: int, phase: str) -> None:
    """The furthest phase an open case reached: created at its first, raised, never
    lowered (a case moved back keeps the furthest)."""
    PhaseReached.objects.bulk_create(
        [PhaseReached(case_id=case_id, phase=phase)], ignore_conflicts=True
    )
    lower = OPEN_PHASES[: _RANK[phase]]
    if lower:
        PhaseReached.objects.filter(case_id=case_id, phase__in=lower).update(phase=phase)


def _case_deleted(sender, instance, **kwargs):
    _mark(instance.closed_at)


def _of_case(sender, instance, raw=False, **kwargs):
    """An assessment, a consent or a follow-up changed: its case's closing month."""
    if not raw:
        _mark_case(instance.case_id)


def _rating(sender, instance, raw=False, **kwargs):
    if not raw:
        case = source(Assessment).filter(pk=instance.assessment_id).values_list("case", flat=True)
        for case_id in case:
            _mark_case(case_id)


def connect() -> None:
    """Connect the receivers (``StatsConfig.ready``)."""
    uid = "casebridge.stats.outcome_figures"
    pre_save.connect(_case_before, sender=Case, dispatch_uid=f"{uid}.case.pre")
    post_save.connect(_case_saved, sender=Case, dispatch_uid=f"{uid}.case")
    post_delete.connect(_case_deleted, sender=Case, dispatch_uid=f"{uid}.case.del")
    for model in (Assessment, FollowUp, FollowUpConsent):
        post_save.connect(_of_case, sender=model, dispatch_uid=f"{uid}.{model.__name__}")
        post_delete.connect(_of_case, sender=model, dispatch_uid=f"{uid}.{model.__name__}.del")
    post_save.connect(_rating, sender=Rating, dispatch_uid=f"{uid}.rating")
    post_delete.connect(_rating, sender=Rating, dispatch_uid=f"{uid}.rating.del")
