"""Monthly figures of contacts and the referral funnel, built from the live rows.

A dashboard over twelve months at a million contacts would otherwise group half a million
contacts and join their referrals on every view (2.3 s on PostgreSQL; bench/results.md).
Instead each calendar month (local time, by when the contact started) is counted once per
scope and federal state into ``MonthFigures``:

- scopes: the whole network (0), the organisation that took the contact, and every
  partner it was referred to — a partner's figures count the contacts it has seen, with
  all their referrals, as the live queries did;
- measures (``MEASURES``): contacts; contacts by channel, caller category, contact
  category and language; contacts by the furthest funnel step their referrals reached;
  and, per referral, histograms of the calendar days between the funnel's steps, from
  which medians are exact.

**Always current.** Saving a contact, a referral or a case (its statistical fields only)
marks the contact's month stale in the writer's own transaction (``StaleMonth``, by the
signal receivers at the end). Readers call ``refresh()`` for the months they read, which
rebuilds every stale or never-built month first; the worker rebuilds stale months each
round, so a reader rarely waits. Retention and erasure keep every statistical field (see
``privacy.erasure``) and therefore change no figure. Data written past the ORM's
signals (bulk loads) must call ``forget_built_months()``; ``casebridge stats rebuild`` does that.

The builder reads through ``registry.source()`` like every indicator: the same columns.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from datetime import date, datetime
from functools import partial

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from casebridge.cases.models import Case
from casebridge.cooperation_models.models import CooperationModel
from casebridge.dates import local_midnight
from casebridge.hotline.models import Contact, Referral
from casebridge.network.models import Region
from casebridge.stats.models import MonthBuild, MonthFigures, OutcomeBuild, StaleMonth
from casebridge.stats.registry import source

# contact dimensions counted per contact (and their Contact fields)
DIMENSIONS = ("channel", "caller_category", "contact_category", "language")
# days between funnel steps, per referral: (measure, counted when)
DAY_MEASURES = (
    "days.contact_referral",
    "days.referral_accepted",
    "days.accepted_appointment",
    "days.referral_case",
)
MEASURES = ("contacts", *DIMENSIONS, "funnel", *DAY_MEASURES)
NONE = ""  # the key of "not recorded" (JSON keys are strings)

# the fields whose change can change a figure, per model (all of them on READABLE)
WATCHED = {
    Contact: frozenset({"started_at", "organisation", "person_region", *DIMENSIONS}),
    Referral: frozenset(
        {"contact", "partner", "status", "sent_at", "responded_at", "first_appointment_on"}
    ),
    Case: frozenset({"referral", "opened_at"}),
}


# -- months -------------------------------------------------------------------------------


def month_of(moment: datetime) -> date:
    """The first day of the local calendar month of ``moment``."""
    return timezone.localtime(moment).date().replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    days = calendar.monthrange(month.year, month.month)[1]
    following = date.fromordinal(month.toordinal() + days)
    return (
        local_midnight(month),
        local_midnight(following),
    )


def months_between(start: datetime, end: datetime) -> list[date]:
    """The months of [start, end), which must both be local month boundaries."""
    first, last = month_of(start), month_of(end)
    if month_bounds(first)[0] != start or month_bounds(last)[0] != end:
        raise ValueError("monthly figures need a period of whole local calendar months")
    months = []
    while first < last:
        months.append(first)
        first = month_bounds(first)[1].date()
    return months


# -- the federal state of a region ----------------------------------------------------------


def state_regions() -> dict[int, int]:
    """Return region id -> the id of its federal state, for every region in a state."""
    regions = {row["id"]: row for row in source(Region).values("id", "level", "parent")}
    found = {}
    for region_id in regions:
        node = regions[region_id]
        while node is not None and node["level"] != "state":
            node = regions.get(node["parent"])
        if node is not None:
            found[region_id] = node["id"]
    return found


# -- building -----------------------------------------------------------------------------


def _step(status: str, first_appointment_on, case_id) -> int:
    """The furthest funnel step a referral reached (1–4; a contact without one is 0)."""
    if case_id is not None:
        return 4
    if first_appointment_on is not None:
        return 3
    if status == Referral.Status.ACCEPTED:
        return 2
    return 1


def _days(earlier, later, zone) -> int:
    """Calendar days from one local date to another (a date stays a date)."""
    if isinstance(earlier, datetime):
        earlier = earlier.astimezone(zone).date()
    if isinstance(later, datetime):
        later = later.astimezone(zone).date()
    return (later - earlier).days


def _referral_days(started_at, referral: dict, zone) -> list[tuple[str, str]]:
    """The (measure, days) pairs one referral contributes."""
    sent = referral["sent_at"]
    found = [("days.contact_referral", _days(started_at, sent, zone))]
    if referral["status"] == Referral.Status.ACCEPTED and referral["responded_at"]:
        responded = referral["responded_at"]
        found.append(("days.referral_accepted", _days(sent, responded, zone)))
        if referral["first_appointment_on"] is not None:
            appointment = _days(responded, referral["first_appointment_on"], zone)
            found.append(("days.accepted_appointment", appointment))
    if referral["case_opened_at"] is not None:
        found.append(("days.referral_case", _days(sent, referral["case_opened_at"], zone)))
    return [(measure, str(days)) for measure, days in found]


def count_month(month: date, states: dict[int, int]) -> dict[tuple[int, int], dict]:
    """Count one month from the live rows: (organisation, state) -> measure -> {value: n}."""
    start, end = month_bounds(month)
    zone = timezone.get_current_timezone()
    referrals: dict[int, list[dict]] = {}
    rows = (
        source(Referral)
        .filter(contact__started_at__gte=start, contact__started_at__lt=end)
        .values(
            "contact",
            "partner",
            "status",
            "sent_at",
            "responded_at",
            "first_appointment_on",
            contact_started_at=F("contact__started_at"),
            case_id=F("case__id"),
            case_opened_at=F("case__opened_at"),
        )
    )
    for row in rows:
        referrals.setdefault(row["contact"], []).append(row)
    # one flat Counter of (measure, value) per (scope, state), filled a contact at a time
    flat: defaultdict[tuple[int, int], Counter] = defaultdict(Counter)
    contacts = source(Contact).filter(started_at__gte=start, started_at__lt=end)
    fields = ("id", "organisation", "person_region", *DIMENSIONS)
    for contact_id, organisation, region, *dimensions in contacts.values_list(*fields):
        state = states.get(region, 0)
        values = [("contacts", NONE)]
        values += [
            (key, NONE if value is None else str(value))
            for key, value in zip(DIMENSIONS, dimensions, strict=True)
        ]
        own = referrals.get(contact_id)
        if own is None:
            values.append(("funnel", "0"))
            flat[(0, state)].update(values)
            flat[(organisation, state)].update(values)
            continue
        steps = (_step(r["status"], r["first_appointment_on"], r["case_id"]) for r in own)
        values.append(("funnel", str(max(steps))))
        for referral in own:
            values += _referral_days(referral["contact_started_at"], referral, zone)
        for scope in {0, organisation, *(r["partner"] for r in own)}:
            flat[(scope, state)].update(values)
    cells: dict[tuple[int, int], dict] = {}
    for key, counter in flat.items():
        nested = cells[key] = {}
        for (measure, value), n in counter.items():
            nested.setdefault(measure, {})[value] = n
    return cells


def build_month(month: date, *, states: dict | None = None, force: bool = False) -> bool:
    """Replace one month's figures with a fresh count; False if it was already current.

    The month's ``MonthBuild`` row is held FOR UPDATE (created first if need be, which on
    SQLite takes the write lock before anything is read), so two builders of one month
    run one after the other and the second finds the month current. Exactly the stale
    marks read here are removed: a change committed after they were read keeps its mark.
    """
    with transaction.atomic():
        MonthBuild.objects.bulk_create([MonthBuild(month=month)], ignore_conflicts=True)
        build = MonthBuild.objects.select_for_update().get(month=month)
        marks = list(StaleMonth.objects.filter(month=month).values_list("id", flat=True))
        if build.built_at is not None and not marks and not force:
            return False
        cells = count_month(month, states if states is not None else state_regions())
        MonthFigures.objects.filter(month=month).delete()
        MonthFigures.objects.bulk_create(
            [
                MonthFigures(
                    month=month,
                    organisation=scope,
                    state=state,
                    figures=figures,
                )
                for (scope, state), figures in cells.items()
            ],
            batch_size=500,
        )
        if marks:
            StaleMonth.objects.filter(id__in=marks).delete()
        build.built_at = timezone.now()
        build.save(update_fields=["built_at"])
    return True


def refresh(months: list[date]) -> int:
    """Build every month of ``months`` that is stale or was never built; return how many."""
    built = set(
        MonthBuild.objects.filter(month__in=months, built_at__isnull=False).values_list(
            "month", flat=True
        )
    )
    stale = set(StaleMonth.objects.filter(month__in=months).values_list("month", flat=True))
    return _build_each((set(months) - built) | stale)


def refresh_stale() -> int:
    """Build the months marked stale and those whose figures were forgotten (the worker)."""
    due = set(StaleMonth.objects.values_list("month", flat=True))
    due |= set(MonthBuild.objects.filter(built_at__isnull=True).values_list("month", flat=True))
    return _build_each(due)


def _build_each(months, *, force: bool = False) -> int:
    """Build the given months in order, reading the region tree once; return how many."""
    if not months:
        return 0
    states = state_regions()
    return sum(build_month(month, states=states, force=force) for month in sorted(months))


def rebuild_all() -> int:
    """Forget every month and build each month that has contacts (``stats rebuild``)."""
    forget_built_months()
    first = source(Contact).order_by("started_at").values_list("started_at", flat=True).first()
    last = source(Contact).order_by("-started_at").values_list("started_at", flat=True).first()
    if first is None:
        return 0
    months = months_between(month_bounds(month_of(first))[0], month_bounds(month_of(last))[1])
    return _build_each(months, force=True)


def forget_built_months() -> None:
    """Mark every built month for rebuilding (after a bulk load or a new region tree):
    the contacts' months and the closed cases' outcome months (``outcome_figures``)."""
    MonthBuild.objects.update(built_at=None)
    OutcomeBuild.objects.update(built_at=None)


# -- reading ------------------------------------------------------------------------------


def read_by_state(
    start: datetime,
    end: datetime,
    *,
    organisation_id: int | None = None,
    recount: bool = True,
) -> dict[int, dict[str, Counter]]:
    """The figures of [start, end) for a scope (None: the network) summed per federal state
    id (0: none): state -> measure -> Counter of value keys. ``recount=False`` when the
    caller has just refreshed the months itself."""
    months = months_between(start, end)
    if recount:
        refresh(months)
    rows = source(MonthFigures).filter(month__in=months, organisation=organisation_id or 0)
    found: dict[int, dict[str, Counter]] = {}
    for state, figures in rows.values_list("state", "figures"):
        totals = found.setdefault(state, {})
        for measure, counts in figures.items():
            totals.setdefault(measure, Counter()).update(counts)
    return found


def read(
    start: datetime,
    end: datetime,
    *,
    organisation_id: int | None = None,
    state_region_ids: frozenset[int] | None = None,
    recount: bool = True,
) -> tuple[dict[str, Counter], Counter]:
    """The summed figures of [start, end) for a scope, optionally only some states:
    (measure -> Counter of value keys, contacts per state id (0: none))."""
    per_state = read_by_state(start, end, organisation_id=organisation_id, recount=recount)
    totals: dict[str, Counter] = {measure: Counter() for measure in MEASURES}
    by_state: Counter = Counter()
    for state, figures in per_state.items():
        if state_region_ids is not None and state not in state_region_ids:
            continue
        for measure, counts in figures.items():
            totals.setdefault(measure, Counter()).update(counts)
        by_state[state] += figures.get("contacts", {}).get(NONE, 0)
    return totals, by_state


def histogram_median(counts: Counter) -> tuple[float | None, int]:
    """The median of integer values given as {str(value): count}, and how many there are
    (the middle value, or the mean of the two middle values, as percentile_cont(0.5))."""
    n = sum(counts.values())
    if not n:
        return None, 0
    ordered = sorted((int(value), count) for value, count in counts.items())

    def value_at(position: int) -> int:  # the value at this 0-based position, in order
        for value, count in ordered:
            if position < count:
                return value
            position -= count
        raise IndexError(position)

    return (value_at((n - 1) // 2) + value_at(n // 2)) / 2, n


# -- keeping the figures in step --------------------------------------------------------------


def _mark(*moments) -> None:
    months = {month_of(moment) for moment in moments if moment is not None}
    StaleMonth.objects.bulk_create([StaleMonth(month=month) for month in sorted(months)])


def _watched(sender, created: bool, update_fields) -> bool:
    return created or update_fields is None or bool(WATCHED[sender] & set(update_fields))


def _contact_before(sender, instance, raw=False, update_fields=None, **kwargs):
    """Remember the month a contact had before a save that may move it to another."""
    if raw or instance._state.adding or not _watched(sender, False, update_fields):
        return
    instance._stats_month_before = (
        source(Contact).filter(pk=instance.pk).values_list("started_at", flat=True).first()
    )


def _contact_saved(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    if raw or not _watched(sender, created, update_fields):
        return
    _mark(instance.started_at, getattr(instance, "_stats_month_before", None))


def _referral_saved(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    if raw or not _watched(sender, created, update_fields):
        return
    started = source(Contact).filter(pk=instance.contact_id).values_list("started_at", flat=True)
    _mark(*started)


def _case_saved(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    if raw or instance.referral_id is None or not _watched(sender, created, update_fields):
        return
    started = (
        source(Referral)
        .filter(pk=instance.referral_id)
        .values_list("contact__started_at", flat=True)
    )
    _mark(*started)


def _model_loaded(sender, instance, raw=False, **kwargs):
    if not raw:
        forget_built_months()  # the region tree (and so the states) may have changed


def connect() -> None:
    """Connect the receivers that keep the figures in step (``StatsConfig.ready``)."""
    uid = "casebridge.stats.aggregates"
    pre_save.connect(_contact_before, sender=Contact, dispatch_uid=f"{uid}.contact.pre")
    post_save.connect(_contact_saved, sender=Contact, dispatch_uid=f"{uid}.contact")
    post_save.connect(_referral_saved, sender=Referral, dispatch_uid=f"{uid}.referral")
    post_save.connect(_case_saved, sender=Case, dispatch_uid=f"{uid}.case")
    post_save.connect(_model_loaded, sender=CooperationModel, dispatch_uid=f"{uid}.model")
    # nothing deletes these today; if something does, its month is counted again
    for model, receiver in (
        (Contact, _contact_saved),
        (Referral, _referral_saved),
        (Case, _case_saved),
    ):
        deleted = partial(receiver, created=True)
        post_delete.connect(
            deleted, sender=model, weak=False, dispatch_uid=f"{uid}.{model.__name__}.del"
        )
