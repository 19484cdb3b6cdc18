"""The indicators of issue 7: counts aggregated in the database, as raw tables.

Every function takes ``Filters`` (a period, optionally a federal state and an
organisation) and returns a ``Result``: a ``disclosure.Table`` of counts and, where the
indicator has them, medians with the number of values behind each. Nothing here leaves
the system as it is: ``selectors.py`` passes every result through disclosure control.

Every query starts from ``registry.source()`` and names only columns listed in
``registry.READABLE`` (``tests/stats/test_registry.py`` checks the SQL).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case as CaseWhen
from django.db.models import (
    Count,
    F,
    IntegerField,
    Q,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.cases.models import Case, Goal, Handover, Participant, Phase
from casebridge.cooperation_models.models import Term, pick_label
from casebridge.hotline.models import Channel
from casebridge.network.models import Region, Sector
from casebridge.sharing.models import Disclosure, Obligation
from casebridge.stats import aggregates
from casebridge.stats.disclosure import Table
from casebridge.stats.functions import DaysBetween, Median
from casebridge.stats.registry import source

NOT_RECORDED = _("not recorded")


@dataclass(frozen=True)
class Filters:
    """What an indicator counts: [start, end), optionally one state and one organisation.

    ``shared`` holds what several indicators read from one query (the contact profile) for
    the life of this object, i.e. one dashboard; a new dashboard builds new ``Filters``.
    """

    start: datetime
    end: datetime
    state_region_ids: frozenset[int] | None = None
    organisation_id: int | None = None
    refreshed: bool = False  # the caller has counted the period's changed months already
    shared: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass
class MedianFigure:
    label: str
    value: float | None
    count: int


@dataclass
class Result:
    table: Table
    medians: list[MedianFigure] = field(default_factory=list)


@dataclass(frozen=True)
class Indicator:
    code: str
    title: str
    group: str
    row_heading: str
    compute: Callable[[Filters], Result]
    column_heading: str = ""


# -- helpers ------------------------------------------------------------------------------


def _terms(kind: str) -> list[tuple[int, str]]:
    rows = source(Term).filter(kind=kind, active=True).order_by("position", "code")
    return [
        (row["id"], pick_label(row["labels"], fallback=row["code"]))
        for row in rows.values("id", "code", "labels")
    ]


def _counts(queryset, key: str) -> dict:
    return {row[key]: row["n"] for row in queryset.values(key).annotate(n=Count("id")).order_by()}


def _vocabulary_table(counts: dict, labels: list[tuple], *, unknown: bool = True) -> Table:
    """Rows in vocabulary order (zeros included), plus 'not recorded' for nulls."""
    data = {label: counts.get(key, 0) for key, label in labels}
    known = {key for key, _label in labels}
    rest = sum(n for key, n in counts.items() if key not in known)
    if unknown or rest:
        data[str(NOT_RECORDED)] = rest
    return Table.one_dimensional(data)


def states() -> list[tuple[int, str, str]]:
    """Return (id, code, label) of every federal state, by code."""
    rows = source(Region).filter(level="state", active=True).order_by("code")
    return [
        (r["id"], r["code"], pick_label(r["labels"], fallback=r["code"]))
        for r in rows.values("id", "code", "labels")
    ]


def state_region_ids(state_id: int) -> frozenset[int]:
    return frozenset(
        region_id for region_id, state in aggregates.state_regions().items() if state == state_id
    )


def _monthly(filters: Filters) -> tuple[dict, Counter]:
    """The period's monthly figures (``aggregates``), read once per ``Filters``: the contact
    indicators are their margins, the funnel their steps and day histograms."""
    if "monthly" not in filters.shared:
        filters.shared["monthly"] = aggregates.read(
            filters.start,
            filters.end,
            organisation_id=filters.organisation_id,
            state_region_ids=filters.state_region_ids,
            recount=not filters.refreshed,
        )
    return filters.shared["monthly"]


def _contact_counts(filters: Filters, key: str, parse=int) -> dict:
    """Contacts counted by ``key`` (one of ``aggregates.DIMENSIONS``), None for unrecorded."""
    totals, _states = _monthly(filters)
    return {
        (None if value == aggregates.NONE else parse(value)): n for value, n in totals[key].items()
    }


def _case_scope(queryset, filters: Filters, prefix: str = ""):
    if filters.state_region_ids is not None:
        queryset = queryset.filter(**{f"{prefix}owner__region__in": filters.state_region_ids})
    if filters.organisation_id is not None:
        queryset = queryset.filter(**{f"{prefix}owner": filters.organisation_id})
    return queryset


def _active_cases(filters: Filters):
    """Cases open at some time in the period."""
    queryset = (
        source(Case)
        .filter(opened_at__lt=filters.end)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=filters.start))
    )
    return _case_scope(queryset, filters)


def _closed_cases(filters: Filters):
    queryset = source(Case).filter(closed_at__gte=filters.start, closed_at__lt=filters.end)
    return _case_scope(queryset, filters)


# -- contacts -----------------------------------------------------------------------------


def contacts_by_caller_category(filters: Filters) -> Result:
    counts = _contact_counts(filters, "caller_category")
    return Result(_vocabulary_table(counts, _terms("caller_category"), unknown=False))


def contacts_by_channel(filters: Filters) -> Result:
    counts = _contact_counts(filters, "channel", parse=str)
    return Result(
        _vocabulary_table(counts, [(c.value, str(c.label)) for c in Channel], unknown=False)
    )


def contacts_by_contact_category(filters: Filters) -> Result:
    counts = _contact_counts(filters, "contact_category")
    return Result(_vocabulary_table(counts, _terms("contact_category"), unknown=False))


def contacts_by_language(filters: Filters) -> Result:
    counts = _contact_counts(filters, "language")
    return Result(_vocabulary_table(counts, _terms("language"), unknown=False))


def contacts_by_state(filters: Filters) -> Result:
    """Contacts by the federal state of the person of concern ('not recorded' without)."""
    _totals, by_state = _monthly(filters)
    labels = [(state_id, label) for state_id, _code, label in states()]
    if filters.state_region_ids is not None:
        labels = [(i, label) for i, label in labels if i in filters.state_region_ids]
    return Result(_vocabulary_table(by_state, labels))


# -- the referral funnel ------------------------------------------------------------------

FUNNEL = [
    (0, _("no referral")),
    (1, _("referred, not accepted")),
    (2, _("accepted, no first appointment")),
    (3, _("first appointment, no case")),
    (4, _("case opened")),
]
FUNNEL_STEPS = [
    _("contacts"),
    _("referrals"),
    _("accepted"),
    _("first appointment"),
    _("case"),
]


def referral_funnel(filters: Filters) -> Result:
    """Each contact of the period at the furthest step it reached (the steps are nested).

    A partition, so that disclosure control sees additive counts: the funnel figures
    (contacts, referred, accepted, ...) are sums of its published cells. Medians of the
    calendar days between steps are over the referrals of those contacts.
    """
    totals, _states = _monthly(filters)
    counts = {int(step): n for step, n in totals["funnel"].items()}
    table = Table.one_dimensional({str(label): counts.get(key, 0) for key, label in FUNNEL})
    medians = [
        MedianFigure(str(label), *aggregates.histogram_median(totals[measure]))
        for measure, label in (
            ("days.contact_referral", _("contact → referral")),
            ("days.referral_accepted", _("referral → accepted")),
            ("days.accepted_appointment", _("accepted → first appointment")),
            ("days.referral_case", _("referral → case")),
        )
    ]
    return Result(table, medians)


# -- cases --------------------------------------------------------------------------------


def cases_by_phase(filters: Filters) -> Result:
    """Cases open at some time in the period, by their current phase."""
    counts = _counts(_active_cases(filters), "phase")
    return Result(
        _vocabulary_table(counts, [(p.value, str(p.label)) for p in Phase], unknown=False)
    )


DURATION_BANDS = [
    (0, 90, _("under 3 months")),
    (90, 180, _("3 to 6 months")),
    (180, 365, _("6 to 12 months")),
    (365, 730, _("1 to 2 years")),
    (730, None, _("2 years and more")),
]


def cases_by_duration(filters: Filters) -> Result:
    """Cases closed in the period, by how long they ran; with the median in days."""
    days = DaysBetween("opened_at", "closed_at")
    band = CaseWhen(
        *[
            When(Q(days__gte=low) & (Q(days__lt=high) if high else Q()), then=Value(index))
            for index, (low, high, _label) in enumerate(DURATION_BANDS)
        ],
        default=Value(0),
        output_field=IntegerField(),
    )
    closed = _closed_cases(filters).annotate(days=days)
    counts = _counts(closed.annotate(band=band), "band")
    table = Table.one_dimensional(
        {str(label): counts.get(index, 0) for index, (_l, _h, label) in enumerate(DURATION_BANDS)}
    )
    figures = _closed_cases(filters).aggregate(value=Median(days), n=Count("id"))
    return Result(table, [MedianFigure(str(_("case duration")), figures["value"], figures["n"])])


def cases_by_closing_reason(filters: Filters) -> Result:
    counts = _counts(_closed_cases(filters), "closing_reason")
    return Result(_vocabulary_table(counts, _terms("case_closing_reason")))


def goals_by_status(filters: Filters) -> Result:
    """Goals of the cases open in the period: horizon × status."""
    goals = source(Goal).filter(case__in=_active_cases(filters).values("id"))
    counts = {
        (row["horizon"], row["status"]): row["n"]
        for row in goals.values("horizon", "status").annotate(n=Count("id")).order_by()
    }
    horizons, statuses = list(Goal.Horizon), list(Goal.Status)
    return Result(
        Table(
            [str(h.label) for h in horizons],
            [str(s.label) for s in statuses],
            [[counts.get((h.value, s.value), 0) for s in statuses] for h in horizons],
        )
    )


LEAD_CHANGE_BANDS = [_("none"), _("one"), _("two"), _("three or more")]


def lead_worker_changes(filters: Filters) -> Result:
    """Cases open in the period by the number of handovers between workers."""
    # handovers counted per case in one GROUP BY (not a sub-select per case), then the
    # cases per number; the cases without any are the rest of the active cases
    active = _active_cases(filters)
    per_case = (
        source(Handover)
        .filter(participant__case__in=active.values("id"))
        .values("participant__case")
        .annotate(changes=Count("id"))
        .order_by()
    )
    bands = per_case.aggregate(
        one=Count("participant__case", filter=Q(changes=1)),
        two=Count("participant__case", filter=Q(changes=2)),
        more=Count("participant__case", filter=Q(changes__gte=3)),
    )
    none = active.count() - bands["one"] - bands["two"] - bands["more"]
    counts = [none, bands["one"], bands["two"], bands["more"]]
    return Result(
        Table.one_dimensional({str(label): counts[i] for i, label in enumerate(LEAD_CHANGE_BANDS)})
    )


def cases_without_lead(filters: Filters) -> Result:
    """Cases open at the end of the period with and without an active, named lead worker."""
    at = min(filters.end, timezone.now())
    lead_roles = [
        row["id"]
        for row in source(Term).filter(kind="case_role").values("id", "attributes")
        if (row["attributes"] or {}).get("lead")
    ]
    # cases with such a participant, as an uncorrelated semi-join (a correlated EXISTS per
    # case made SQLite probe the participants by role for each case: 0.2 s for 2,000 cases)
    led_cases = (
        source(Participant)
        .filter(
            role__in=lead_roles,
            lead_worker__isnull=False,
            valid_from__lte=at,
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
        .values("case")
    )
    open_then = _case_scope(
        source(Case)
        .filter(opened_at__lte=at)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at)),
        filters,
    )
    counts = open_then.aggregate(all=Count("id"), led=Count("id", filter=Q(id__in=led_cases)))
    return Result(
        Table.one_dimensional(
            {
                str(_("with an active lead worker")): counts["led"],
                str(_("without an active lead worker")): counts["all"] - counts["led"],
            }
        )
    )


OBLIGATION_OUTCOMES = [
    (0, _("met on time")),
    (1, _("met late")),
    (2, _("open and overdue")),
    (3, _("open, not yet due")),
    (4, _("cancelled")),
]


def obligations_compliance(filters: Filters) -> Result:
    """SOP obligations due in the period by outcome."""
    now = timezone.now()
    fulfilled = Q(status=Obligation.Status.FULFILLED)
    outcome = CaseWhen(
        When(fulfilled & Q(fulfilled_at__lte=F("due_at")), then=Value(0)),
        When(fulfilled, then=Value(1)),
        When(status=Obligation.Status.OPEN, due_at__lt=now, then=Value(2)),
        When(status=Obligation.Status.OPEN, then=Value(3)),
        default=Value(4),
        output_field=IntegerField(),
    )
    obligations = _case_scope(
        source(Obligation).filter(due_at__gte=filters.start, due_at__lt=filters.end),
        filters,
        prefix="case__",
    )
    counts = _counts(obligations.annotate(outcome=outcome), "outcome")
    return Result(
        Table.one_dimensional({str(label): counts.get(i, 0) for i, label in OBLIGATION_OUTCOMES})
    )


def disclosures_by_legal_basis(filters: Filters) -> Result:
    """Approved disclosures decided in the period: legal basis × direction (sector → sector)."""
    disclosures = _case_scope(
        source(Disclosure).filter(
            status=Disclosure.Status.APPROVED,
            decided_at__gte=filters.start,
            decided_at__lt=filters.end,
        ),
        filters,
        prefix="case__",
    )
    from_sector = "from_participant__organisation__type__sector"
    to_sector = "to_participant__organisation__type__sector"
    rows = list(
        disclosures.values("legal_basis", from_sector, to_sector).annotate(n=Count("id")).order_by()
    )
    sectors = {
        row["id"]: pick_label(row["labels"], fallback=row["code"])
        for row in source(Sector).values("id", "code", "labels")
    }
    directions = sorted(
        {(row[from_sector], row[to_sector]) for row in rows},
        key=lambda pair: (sectors.get(pair[0], ""), sectors.get(pair[1], "")),
    )
    bases = _terms("legal_basis")
    if not directions:
        directions = [(None, None)]
    counts = {(row["legal_basis"], row[from_sector], row[to_sector]): row["n"] for row in rows}
    return Result(
        Table(
            [label for _id, label in bases],
            [
                f"{sectors.get(a, '–')} → {sectors.get(b, '–')}" if a else str(_("none"))
                for a, b in directions
            ],
            [[counts.get((basis, a, b), 0) for a, b in directions] for basis, _label in bases],
        )
    )


INDICATORS: list[Indicator] = [
    Indicator(
        "contacts_by_caller_category",
        _("Contacts by caller category"),
        "contacts",
        _("Caller category"),
        contacts_by_caller_category,
    ),
    Indicator(
        "contacts_by_channel",
        _("Contacts by channel"),
        "contacts",
        _("Channel"),
        contacts_by_channel,
    ),
    Indicator(
        "contacts_by_contact_category",
        _("Contacts by contact category"),
        "contacts",
        _("Contact category"),
        contacts_by_contact_category,
    ),
    Indicator(
        "contacts_by_language",
        _("Contacts by language"),
        "contacts",
        _("Language"),
        contacts_by_language,
    ),
    Indicator(
        "contacts_by_state",
        _("Contacts by federal state"),
        "contacts",
        _("Federal state"),
        contacts_by_state,
    ),
    Indicator(
        "referral_funnel",
        _("Referral funnel: furthest step reached"),
        "referrals",
        _("Step"),
        referral_funnel,
    ),
    Indicator("cases_by_phase", _("Cases by phase"), "cases", _("Phase"), cases_by_phase),
    Indicator(
        "cases_by_duration",
        _("Closed cases by duration"),
        "cases",
        _("Duration"),
        cases_by_duration,
    ),
    Indicator(
        "cases_by_closing_reason",
        _("Closed cases by closing reason"),
        "cases",
        _("Closing reason"),
        cases_by_closing_reason,
    ),
    Indicator(
        "goals_by_status",
        _("Goals by horizon and status"),
        "cases",
        _("Horizon"),
        goals_by_status,
        _("Status"),
    ),
    Indicator(
        "lead_worker_changes",
        _("Cases by lead-worker changes"),
        "continuity",
        _("Changes"),
        lead_worker_changes,
    ),
    Indicator(
        "cases_without_lead",
        _("Open cases with and without a lead worker"),
        "continuity",
        _("Lead worker"),
        cases_without_lead,
    ),
    Indicator(
        "obligations_compliance",
        _("SOP obligations by outcome"),
        "compliance",
        _("Outcome"),
        obligations_compliance,
    ),
    Indicator(
        "disclosures_by_legal_basis",
        _("Disclosures by legal basis and direction"),
        "transparency",
        _("Legal basis"),
        disclosures_by_legal_basis,
        _("Direction"),
    ),
]
BY_CODE = {indicator.code: indicator for indicator in INDICATORS}
