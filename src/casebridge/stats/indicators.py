"""The indicators of issue 7: counts aggregated in the database, as raw tables.

Every function takes ``Filters`` (a period, optionally an organisation) and returns
``Counts``: the table's counts in every federal state at once (and in "no state"), with
its medians for each filter. Nothing here leaves the system as it is:
``publication.py`` protects every table of a scope and year together and
``selectors.py`` is the only way out.

Every query starts from ``registry.source()`` and names only columns listed in
``registry.READABLE`` (``tests/stats/test_registry.py`` checks the SQL).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connections
from django.db.models import (
    BooleanField,
    Count,
    F,
    IntegerField,
    Q,
    Value,
    When,
)
from django.db.models import Case as CaseWhen
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.cases.models import Case, Goal, Handover, Participant, Phase
from casebridge.cooperation_models.models import Term
from casebridge.dates import in_force
from casebridge.dbrouting import read_alias
from casebridge.hotline.models import Channel
from casebridge.labels import pick_label
from casebridge.network.models import Organisation, OrganisationType, Region, Sector
from casebridge.sharing.models import (
    ContactDisclosure,
    Disclosure,
    InformationRequest,
    Obligation,
    Protocol,
)
from casebridge.stats import aggregates, outcome_figures
from casebridge.stats.functions import DaysBetween, Median
from casebridge.stats.registry import source

NOT_RECORDED = _("not recorded")


SLOT_NONE = 0  # the slot of what has no federal state (never a filter of its own)


@dataclass(frozen=True)
class Filters:
    """What the indicators count: [start, end), optionally one organisation's data.

    Every indicator counts every federal state at once (``Counts.slots``): disclosure
    control protects all state filters together. ``shared`` holds what several indicators
    read from one query (the contact profile, the region tree) for the life of this
    object, i.e. one dashboard; a new dashboard builds new ``Filters``.
    """

    start: datetime
    end: datetime
    organisation_id: int | None = None
    refreshed: bool = False  # the caller has counted the period's changed months already
    shared: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass
class Counts:
    """An indicator's counts per slot — a federal state's region id, or 0 for none.

    ``medians(state)`` gives its medians for one filter — a state id, or None for the
    whole network — as (label, median, how many values): asked only for the filter a
    request shows, since a median is not a sum of the states' medians. A median may name,
    as a fourth element, the values of its table that count what stands behind it
    (``("col", j)``, ``("cell", i, j)``, ...): it is then published when those are
    (``publication.Publication.medians``); without them, only when the table hides nothing.
    """

    rows: list[str]
    columns: list[str]
    slots: dict[int, list[list[int]]]
    medians: Callable[[int | None], list[tuple]] = field(default=lambda state: [])

    def cells(self, slots) -> list[list[int]]:
        """The counts summed over ``slots``."""
        found = [[0] * len(self.columns) for _row in self.rows]
        for slot in slots:
            for i, line in enumerate(self.slots.get(slot, ())):
                for j, n in enumerate(line):
                    found[i][j] += n
        return found


@dataclass(frozen=True)
class Indicator:
    """One published table. Indicators of one ``population`` count the same units (the
    contacts of the period, the cases active in it, ...), so their totals are equal in
    every state; ``rows_are_states``: the rows are the slots themselves.

    ``present``: the indicator describes cases as they are now (their phase, goals, lead
    workers), so it is published for the current year only. For two years it would count
    the same open cases twice — a case open at the end of one year is active in the next,
    in the same phase — and the two years' tables could be played against each other.
    """

    code: str
    title: str
    group: str
    row_heading: str
    compute: Callable[[Filters], Counts]
    population: str
    column_heading: str = ""
    rows_are_states: bool = False
    present: bool = False
    # what is counted, over which period, what the outcomes mean: shown beside the figure
    definition: str = ""
    # many fixed rows of which few hold anything (pairs of kinds, organisations): pages and
    # reports leave out the rows that are all published zeros (the API and CSV keep them)
    sparse: bool = False
    # False: published for the whole network only, never for one federal state. Tables as
    # fine as pairs of organisation types would be hidden almost whole per state, and
    # protecting them for 16 state filters costs seventeen times the variables
    by_state: bool = True
    # the column the bar chart shows instead of the row totals (the outcome tables by
    # dimension, whose rows all add up to the closed cases: their chart shows "better")
    chart_column: int | None = None
    # margins that are another figure (``relations()`` says so too): every row total is
    # the total of this population; every column total is this row (indicator code, row
    # index) of another table. Disclosure control then treats them as that one figure.
    row_totals_are: str | None = None
    column_totals_are: tuple[str, int] | None = None
    # False: no column totals and no grand total (``disclosure.Table.column_margins``)
    column_margins: bool = True


@dataclass(frozen=True)
class Part:
    """A population's total in a slot, or a row, a column or one cell of one of its
    indicators there (``row`` and ``column`` None: every row, every column)."""

    population: str
    indicator: str | None = None
    row: int | None = None  # the row's position in the indicator's table
    column: int | None = None  # the column's position


# -- helpers ------------------------------------------------------------------------------


def _terms(kind: str) -> list[tuple[int, str]]:
    rows = source(Term).filter(kind=kind, active=True).order_by("position", "code")
    return [
        (row["id"], pick_label(row["labels"], fallback=row["code"]))
        for row in rows.values("id", "code", "labels")
    ]


def _has_retired_terms(kind: str) -> bool:
    return source(Term).filter(kind=kind, active=False).exists()


def states() -> list[tuple[int, str, str]]:
    """Return (id, code, label) of every federal state, by code."""
    rows = source(Region).filter(level="state", active=True).order_by("code")
    return [
        (r["id"], r["code"], pick_label(r["labels"], fallback=r["code"]))
        for r in rows.values("id", "code", "labels")
    ]


def _slot_of(filters: Filters) -> dict[int, int]:
    """Region id -> slot (its federal state's id), read once per dashboard."""
    if "regions" not in filters.shared:
        filters.shared["regions"] = aggregates.state_regions()
    return filters.shared["regions"]


def _owner_slot(filters: Filters) -> dict[int, int]:
    """Organisation id -> the slot of its seat, read once per dashboard. Case figures
    group by the owning organisation (a column of the case: no join) and are summed per
    state here — cheaper than joining every case to its owner's region."""
    if "owners" not in filters.shared:
        slot_of = _slot_of(filters)
        filters.shared["owners"] = {
            row["id"]: slot_of.get(row["region"], SLOT_NONE)
            for row in source(Organisation).values("id", "region")
        }
    return filters.shared["owners"]


def _slot_counts(filters: Filters, queryset, key, owner: str) -> dict[int, Counter]:
    """Count ``queryset`` by ``key`` (a field or an annotation) in every slot: grouped by
    the owning organisation in the database (a few hundred rows), summed per state here."""
    slot_of = _owner_slot(filters)
    found: dict[int, Counter] = defaultdict(Counter)
    for row in queryset.values(owner, key).annotate(n=Count("id")).order_by():
        found[slot_of.get(row[owner], SLOT_NONE)][row[key]] += row["n"]
    return found


def _owners_in(filters: Filters, state: int) -> list[int]:
    return [owner for owner, slot in _owner_slot(filters).items() if slot == state]


def _vocabulary(per_slot: dict[int, Counter], labels: list[tuple], *, rest: bool) -> Counts:
    """A one-column table: rows in vocabulary order (zeros included), then, where
    ``rest``, one row for everything else (retired vocabulary, nothing recorded). The rows
    never depend on the data: a row that appears only when it is not zero would tell."""
    rows = [str(label) for _key, label in labels] + ([str(NOT_RECORDED)] if rest else [])
    known = {key for key, _label in labels}
    slots = {}
    for slot, counts in per_slot.items():
        line = [counts.get(key, 0) for key, _label in labels]
        if rest:
            line.append(sum(n for key, n in counts.items() if key not in known))
        slots[slot] = [[n] for n in line]
    return Counts(rows, [""], slots)


def _sectors(filters: Filters) -> list[tuple[int, str]]:
    """(id, label) of every sector in the model's order, read once per dashboard."""
    if "sectors" not in filters.shared:
        filters.shared["sectors"] = [
            (row["id"], pick_label(row["labels"], fallback=row["code"]))
            for row in source(Sector).order_by("position", "code").values("id", "code", "labels")
        ]
    return filters.shared["sectors"]


def _monthly(filters: Filters) -> dict[int, dict[str, Counter]]:
    """The period's monthly figures per state (``aggregates``), read once per ``Filters``:
    the contact indicators are their margins, the funnel their steps and day histograms."""
    if "monthly" not in filters.shared:
        filters.shared["monthly"] = aggregates.read_by_state(
            filters.start,
            filters.end,
            organisation_id=filters.organisation_id,
            recount=not filters.refreshed,
        )
    return filters.shared["monthly"]


def _contact_counts(filters: Filters, key: str, parse=int) -> dict[int, Counter]:
    """Contacts per slot counted by ``key`` (one of ``aggregates.DIMENSIONS``)."""
    return {
        state: Counter(
            {
                (None if value == aggregates.NONE else parse(value)): n
                for value, n in figures.get(key, {}).items()
            }
        )
        for state, figures in _monthly(filters).items()
    }


def _case_scope(queryset, filters: Filters, prefix: str = ""):
    if filters.organisation_id is not None:
        queryset = queryset.filter(**{f"{prefix}owner": filters.organisation_id})
    return queryset


def _active(filters: Filters, prefix: str = "") -> Q:
    """Cases open at some time in the period, as a condition on ``prefix`` + case fields
    (a join the query needs anyway, not a second one through ``IN (cases)``)."""
    condition = Q(**{f"{prefix}opened_at__lt": filters.end}) & (
        Q(**{f"{prefix}closed_at__isnull": True}) | Q(**{f"{prefix}closed_at__gte": filters.start})
    )
    if filters.organisation_id is not None:
        condition &= Q(**{f"{prefix}owner": filters.organisation_id})
    return condition


def _active_cases(filters: Filters):
    """Cases open at some time in the period."""
    return source(Case).filter(_active(filters))


def _closed_cases(filters: Filters):
    queryset = source(Case).filter(closed_at__gte=filters.start, closed_at__lt=filters.end)
    return _case_scope(queryset, filters)


def _open_cases(filters: Filters):
    """Cases open at the end of the period: active in it and not closed in it, so that
    active = closed + open in every state (an attacker knows that too)."""
    queryset = (
        source(Case)
        .filter(opened_at__lt=filters.end)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=filters.end))
    )
    return _case_scope(queryset, filters)


# -- contacts -----------------------------------------------------------------------------


def contacts_by_caller_category(filters: Filters) -> Counts:
    counts = _contact_counts(filters, "caller_category")
    return _vocabulary(
        counts, _terms("caller_category"), rest=_has_retired_terms("caller_category")
    )


def contacts_by_channel(filters: Filters) -> Counts:
    counts = _contact_counts(filters, "channel", parse=str)
    return _vocabulary(counts, [(c.value, str(c.label)) for c in Channel], rest=False)


def contacts_by_contact_category(filters: Filters) -> Counts:
    counts = _contact_counts(filters, "contact_category")
    return _vocabulary(
        counts, _terms("contact_category"), rest=_has_retired_terms("contact_category")
    )


def contacts_by_language(filters: Filters) -> Counts:
    counts = _contact_counts(filters, "language")
    return _vocabulary(counts, _terms("language"), rest=_has_retired_terms("language"))


def contacts_by_state(filters: Filters) -> Counts:
    """Contacts by the federal state of the person of concern ('not recorded' without)."""
    labels = [(state_id, label) for state_id, _code, label in states()]
    per_slot = {
        state: Counter({state: figures.get("contacts", {}).get(aggregates.NONE, 0)})
        for state, figures in _monthly(filters).items()
    }
    return _vocabulary(per_slot, labels, rest=True)


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
FUNNEL_MEDIANS = (
    ("days.contact_referral", _("contact → referral")),
    ("days.referral_accepted", _("referral → accepted")),
    ("days.accepted_appointment", _("accepted → first appointment")),
    ("days.referral_case", _("referral → case")),
)


def referral_funnel(filters: Filters) -> Counts:
    """Each contact of the period at the furthest step it reached (the steps are nested).

    A partition, so that disclosure control sees additive counts: the funnel figures
    (contacts, referred, accepted, ...) are sums of its published cells. Medians of the
    calendar days between steps are over the referrals of those contacts.
    """
    monthly = _monthly(filters)
    counts = _vocabulary(
        _contact_counts(filters, "funnel"), [(key, label) for key, label in FUNNEL], rest=False
    )
    histograms = {
        measure: {
            state: Counter({int(days): n for days, n in figures.get(measure, {}).items()})
            for state, figures in monthly.items()
        }
        for measure, _label in FUNNEL_MEDIANS
    }

    def medians(state: int | None) -> list[tuple[str, float | None, int]]:
        found = []
        for measure, label in FUNNEL_MEDIANS:
            merged: Counter = Counter()
            for slot, histogram in histograms[measure].items():
                if state is None or slot == state:
                    merged.update(histogram)
            found.append((str(label), *aggregates.histogram_median(merged)))
        return found

    counts.medians = medians
    return counts


# -- cases --------------------------------------------------------------------------------


def _active_by_phase(filters: Filters) -> dict[int, Counter]:
    """The active cases per slot and phase, read once per dashboard (the cases by phase,
    and the total of active cases that lead-worker changes start from)."""
    if "active_by_phase" not in filters.shared:
        filters.shared["active_by_phase"] = _slot_counts(
            filters, _active_cases(filters), "phase", "owner"
        )
    return filters.shared["active_by_phase"]


def cases_by_phase(filters: Filters) -> Counts:
    """Cases open at some time in the period, by their current phase."""
    counts = _active_by_phase(filters)
    return _vocabulary(counts, [(p.value, str(p.label)) for p in Phase], rest=False)


DURATION_BANDS = [
    (0, 90, _("under 3 months")),
    (90, 180, _("3 to 6 months")),
    (180, 365, _("6 to 12 months")),
    (365, 730, _("1 to 2 years")),
    (730, None, _("2 years and more")),
]


def cases_by_duration(filters: Filters) -> Counts:
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
    closed = _closed_cases(filters).annotate(days=days, band=band)
    counts = _vocabulary(
        _slot_counts(filters, closed, "band", "owner"),
        [(index, label) for index, (_l, _h, label) in enumerate(DURATION_BANDS)],
        rest=False,
    )

    def medians(state: int | None) -> list[tuple[str, float | None, int]]:
        closed = _closed_cases(filters)
        if state is not None:
            closed = closed.filter(owner__in=_owners_in(filters, state))
        figures = closed.aggregate(value=Median(days), n=Count("id"))
        return [(str(_("case duration")), figures["value"], figures["n"])]

    counts.medians = medians
    return counts


def cases_by_closing_reason(filters: Filters) -> Counts:
    counts = _slot_counts(filters, _closed_cases(filters), "closing_reason", "owner")
    return _vocabulary(counts, _terms("case_closing_reason"), rest=True)


# -- outcomes of closed cases (issue 20, part 3) ------------------------------------------
#
# Read from ``outcome_figures`` (monthly counters of the cases closed in each month, per
# owning organisation). Every closed case of the period is counted once in each row of
# the two tables by dimension (its change there, or "not judged at both") and once in
# the tables of the top-level result and of follow-ups: so each row of a table by
# dimension, and each of those tables, adds up to the cases closed (population
# "cases.closed"), which ``relations()`` tells disclosure control.
#
# They are published for the whole network (or the partner's own organisation) only, never
# per federal state (``by_state=False``, as partnership health): a state closes a few dozen
# cases a year, so per state almost every cell would be small and hidden, and protecting
# 17 slots of six tables linked to every case table costs what the rest of the year does
# (the coordinator's first dashboard of the test year: 3.0 s per state, 1.1 s for the
# network, 0.9 s without outcome tables).

CHANGE_COLUMNS = [
    ("better", _("better")),
    ("same", _("unchanged")),
    ("worse", _("worse")),
    ("none", _("not judged at both")),
]
NOT_JUDGED = 3  # the column of cases without a judgement at both points
FOLLOW_UP_ROWS = [
    ("not_asked", _("no answer on follow-up recorded")),
    ("refused", _("follow-up refused or consent withdrawn")),
    ("planned", _("agreed, follow-up to come")),
    ("reached", _("reached at a follow-up")),
    ("not_reached", _("agreed, not reached")),
]
REACHED = 3  # the row of cases reached at a follow-up
INTAKE_YEARS = 4  # the year of closure, the two before, and earlier
# the tables of the top-level result: their columns add up to its row (the first) in the
# table by dimension at closure
HEADLINE_TABLES = (
    "outcome_top_by_phase",
    "outcome_top_by_partner_type",
    "outcome_top_by_intake_year",
)
OUTCOME_CAVEATS = [
    _(
        "These are professional judgements, not measurements: at intake, at closure and at "
        "follow-ups a named counsellor chooses a level on each dimension's scale and gives "
        "the reasons. Nothing here is computed about a person."
    ),
    _(
        "There is no control group. A change between intake and closure shows what the "
        "counsellors judged, not what the counselling caused: people change for many "
        "reasons, and nobody knows how those not counselled would have fared."
    ),
    _(
        "Selection: only cases judged on a dimension at both points count as better, "
        "unchanged or worse; the column “not judged at both” counts the others, and they may "
        "differ from those judged. Follow-ups reach only people who agreed to be contacted "
        "and could be found."
    ),
    _(
        "Better or worse means a higher or lower level than at intake on that dimension's "
        "own scale. The levels are ordered, not measured: steps are not comparable between "
        "dimensions, so the figures are counts of cases, never averages."
    ),
]


def _dimensions(filters: Filters) -> list[dict]:
    """The model's active outcome dimensions, the top-level result first (read once per
    dashboard)."""
    if "dimensions" not in filters.shared:
        filters.shared["dimensions"] = outcome_figures.dimensions()
    return filters.shared["dimensions"]


def _outcomes(filters: Filters) -> dict[int, Counter]:
    """The closed cases' outcome counters of the period per owning organisation."""
    if "outcomes" not in filters.shared:
        filters.shared["outcomes"] = outcome_figures.read(
            filters.start,
            filters.end,
            organisation_id=filters.organisation_id,
            recount=not filters.refreshed,
        )
    return filters.shared["outcomes"]


def _outcome_table(filters: Filters, rows: list[str], key) -> Counts:
    """A rows × change table: ``key(row index, change)`` names the counter's key."""
    slot_of = _owner_slot(filters)
    slots: dict[int, list[list[int]]] = {}
    for owner, figures in _outcomes(filters).items():
        cells = slots.setdefault(
            slot_of.get(owner, SLOT_NONE), [[0] * len(CHANGE_COLUMNS) for _r in rows]
        )
        for i in range(len(rows)):
            for j, (change, _label) in enumerate(CHANGE_COLUMNS):
                cells[i][j] += figures.get(key(i, change), 0)
    return Counts(rows, [str(label) for _c, label in CHANGE_COLUMNS], slots)


def _change_by_dimension(filters: Filters, stage: str) -> Counts:
    dimensions = _dimensions(filters)
    rows = [pick_label(d["labels"], fallback=d["code"]) for d in dimensions]
    return _outcome_table(
        filters, rows, lambda i, change: f"{stage}|{dimensions[i]['code']}|{change}"
    )


def outcome_change_at_closure(filters: Filters) -> Counts:
    """Cases closed in the period, per outcome dimension (the top-level result first): the
    level judged at closure against the one judged at intake."""
    return _change_by_dimension(filters, "closure")


def outcome_change_at_follow_up(filters: Filters) -> Counts:
    """Cases closed in the period, per outcome dimension: the level judged at the latest
    follow-up against the one judged at intake (so far: follow-ups come 6 and 12 months
    after closure, and the figures of a year grow until they are done)."""
    return _change_by_dimension(filters, "follow_up")


def outcome_top_by_phase(filters: Filters) -> Counts:
    """The top-level result's change (intake → closure) of the cases closed in the period,
    by the furthest phase they reached while open (``stats.PhaseReached``)."""
    phases = [(p.value, str(p.label)) for p in Phase if p != Phase.CLOSURE]
    rows = [label for _code, label in phases] + [str(NOT_RECORDED)]
    codes = [code for code, _label in phases] + [""]
    return _outcome_table(filters, rows, lambda i, change: f"phase|{codes[i]}|{change}")


def _lead_sectors(filters: Filters) -> tuple[list[tuple[int, str]], dict[int, int]]:
    """The sectors that may lead cases (the model's lead case roles name them), in the
    model's order — the partner types of the counselling network — and each
    organisation's sector."""
    leading = set()
    for row in source(Term).filter(kind="case_role").values("attributes"):
        attributes = row["attributes"] or {}
        if attributes.get("lead"):
            leading.update(attributes.get("sectors") or [])
    sector_of, codes = {}, {}
    for row in source(Organisation).values("id", "type__sector", "type__sector__code"):
        sector_of[row["id"]] = row["type__sector"]
        codes[row["type__sector"]] = row["type__sector__code"]
    sectors = [(sid, label) for sid, label in _sectors(filters) if codes.get(sid) in leading]
    return sectors, sector_of


def outcome_top_by_partner_type(filters: Filters) -> Counts:
    """The top-level result's change of the cases closed in the period, by the sector of
    the organisation leading the case (NGO-led or state-led counselling in Germany; "other"
    for an organisation of another sector)."""
    dimensions = _dimensions(filters)
    sectors, sector_of = _lead_sectors(filters)
    rows = [label for _id, label in sectors] + [str(_("other"))]
    row_of = {sector_id: i for i, (sector_id, _label) in enumerate(sectors)}
    slot_of = _owner_slot(filters)
    headline = dimensions[0]["code"] if dimensions else ""
    slots: dict[int, list[list[int]]] = {}
    for owner, figures in _outcomes(filters).items():
        cells = slots.setdefault(
            slot_of.get(owner, SLOT_NONE), [[0] * len(CHANGE_COLUMNS) for _r in rows]
        )
        row = row_of.get(sector_of.get(owner), len(sectors))
        for j, (change, _label) in enumerate(CHANGE_COLUMNS):
            cells[row][j] += figures.get(f"closure|{headline}|{change}", 0)
    return Counts(rows, [str(label) for _c, label in CHANGE_COLUMNS], slots)


def outcome_top_by_intake_year(filters: Filters) -> Counts:
    """The top-level result's change of the cases closed in the period, by the calendar
    year they were opened: the year itself, the two before, and earlier (fixed rows)."""
    year = timezone.localtime(filters.start).year
    rows = [str(year - back) for back in range(INTAKE_YEARS - 1)]
    rows.append(str(_("%(year)d or earlier") % {"year": year - INTAKE_YEARS + 1}))
    slot_of = _owner_slot(filters)
    slots: dict[int, list[list[int]]] = {}
    column = {change: j for j, (change, _label) in enumerate(CHANGE_COLUMNS)}
    for owner, figures in _outcomes(filters).items():
        cells = slots.setdefault(
            slot_of.get(owner, SLOT_NONE), [[0] * len(CHANGE_COLUMNS) for _r in rows]
        )
        for key, n in figures.items():
            measure, opened, change = key.split("|") if key.count("|") == 2 else ("", "", "")
            if measure == "opened":
                band = min(max(year - int(opened), 0), INTAKE_YEARS - 1)
                cells[band][column[change]] += n
    return Counts(rows, [str(label) for _c, label in CHANGE_COLUMNS], slots)


def follow_up_state(filters: Filters) -> Counts:
    """Cases closed in the period by where their follow-up stands: reached at a follow-up;
    no answer to the question recorded; refused or withdrawn; agreed and a follow-up still
    to come; agreed and every follow-up ended without reaching the person."""
    per_slot: dict[int, Counter] = defaultdict(Counter)
    slot_of = _owner_slot(filters)
    for owner, figures in _outcomes(filters).items():
        slot = slot_of.get(owner, SLOT_NONE)
        for state, _label in FOLLOW_UP_ROWS:
            per_slot[slot][state] += figures.get(f"state|{state}", 0)
    return _vocabulary(per_slot, FOLLOW_UP_ROWS, rest=False)


def outcome_caveats() -> list[str]:
    """What a reader must know beside the outcome figures (the page, the report, the API),
    in the active language; the model names the top-level result."""
    dimensions = outcome_figures.dimensions()
    found = [str(text) for text in OUTCOME_CAVEATS]
    if dimensions:
        headline = pick_label(dimensions[0]["labels"], fallback=dimensions[0]["code"])
        found.append(
            _(
                "The top-level result is “%(headline)s”. The phase reached is the furthest "
                "phase a case was in before it closed, as recorded since this statistic "
                "began; cases closed before have none (“not recorded”)."
            )
            % {"headline": headline}
        )
    return found


def unavailable() -> set[str]:
    """Indicators this cooperation model cannot fill: the outcome tables without outcome
    dimensions (another country's model may have none)."""
    if source(Term).filter(kind="outcome_dimension", active=True).exists():
        return set()
    return {indicator.code for indicator in INDICATORS if indicator.group == "outcomes"}


def _outcome_relations(counts: dict[str, Counts]) -> list:
    """What an attacker knows of the outcome tables besides their totals (see above):
    every row of a table by dimension counts every closed case; the columns of each table
    of the top-level result are its row in the table at closure; and no more cases are
    judged at a follow-up on a dimension than were reached at one."""
    found: list = []
    for code, population in (
        ("outcome_change_at_closure", "outcomes.closure"),
        ("outcome_change_at_follow_up", "outcomes.follow_up"),
    ):
        for row in range(len(counts[code].rows) if code in counts else 0):
            found.append(("equal", (Part(population, code, row),), (Part("cases.closed"),)))
    closure = counts.get("outcome_change_at_closure")
    if closure is not None and closure.rows:
        for code in HEADLINE_TABLES:
            for column in range(len(CHANGE_COLUMNS)):
                found.append(
                    (
                        "equal",
                        (Part("cases.closed", code, column=column),),
                        (Part("outcomes.closure", "outcome_change_at_closure", 0, column),),
                    )
                )
    follow = counts.get("outcome_change_at_follow_up")
    for row in range(len(follow.rows) if follow is not None else 0):
        found.append(
            (
                "at_least",
                (
                    Part("outcomes.follow_up", "outcome_change_at_follow_up", row, NOT_JUDGED),
                    Part("cases.closed", "follow_up_state", REACHED),
                ),
                (Part("cases.closed"),),
            )
        )
    return found


def relations(counts: dict[str, Counts]) -> list:
    """``RELATIONS`` and those that depend on the tables' shapes (the outcome dimensions
    the model has): everything disclosure control must assume an attacker knows."""
    return [*RELATIONS, *_outcome_relations(counts)]


def goals_by_status(filters: Filters) -> Counts:
    """Goals of the cases open in the period: horizon × status."""
    goals = source(Goal).filter(_active(filters, "case__"))
    horizons, statuses = list(Goal.Horizon), list(Goal.Status)
    rows = {h.value: i for i, h in enumerate(horizons)}
    columns = {s.value: j for j, s in enumerate(statuses)}
    slot_of = _owner_slot(filters)
    slots: dict[int, list[list[int]]] = {}
    grouped = goals.values("case__owner", "horizon", "status").annotate(n=Count("id")).order_by()
    for row in grouped:
        slot = slot_of.get(row["case__owner"], SLOT_NONE)
        cells = slots.setdefault(slot, [[0] * len(statuses) for _h in horizons])
        cells[rows[row["horizon"]]][columns[row["status"]]] += row["n"]
    return Counts([str(h.label) for h in horizons], [str(s.label) for s in statuses], slots)


LEAD_CHANGE_BANDS = [_("none"), _("one"), _("two"), _("three or more")]


def lead_worker_changes(filters: Filters) -> Counts:
    """Cases open in the period by the number of handovers between workers."""
    # handovers counted per case (one GROUP BY, not a sub-select per case), then those
    # cases counted per state and number in the database around it; the cases without
    # any handover are the rest of the active cases
    per_case = (
        source(Handover)
        .filter(_active(filters, "participant__case__"))
        .annotate(owner=F("participant__case__owner"))
        .values("participant__case", "owner")
        .annotate(changes=Count("id"))
        .order_by()
    )
    inner, params = per_case.query.sql_with_params()
    # Django's own SQL with its parameters kept apart: nothing from outside is pasted in
    sql = "SELECT owner, CASE WHEN changes >= 3 THEN 3 ELSE changes END, COUNT(*) FROM ({}) c"
    slot_of = _owner_slot(filters)
    bands: dict[int, Counter] = defaultdict(Counter)
    # on the database the queryset would read from (the standby's, when it serves)
    with connections[read_alias(Handover)].cursor() as cursor:
        cursor.execute(sql.format(inner) + " GROUP BY 1, 2", params)
        for owner, band, n in cursor.fetchall():
            bands[slot_of.get(owner, SLOT_NONE)][band] += n
    for slot, n in _active_by_phase(filters).items():
        bands[slot][0] += n.total() - sum(bands[slot].values())
    labels = [(index, label) for index, label in enumerate(LEAD_CHANGE_BANDS)]
    return _vocabulary(bands, labels, rest=False)


LEAD = [(True, _("with an active lead worker")), (False, _("without an active lead worker"))]


def cases_without_lead(filters: Filters) -> Counts:
    """Cases open at the end of the period with and without an active, named lead worker
    (at the end of the period, or now for a period that has not ended)."""
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
        .filter(in_force(at), role__in=lead_roles, lead_worker__isnull=False)
        .values("case")
    )
    led = CaseWhen(
        When(id__in=led_cases, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    open_cases = _open_cases(filters).annotate(led=led)
    return _vocabulary(_slot_counts(filters, open_cases, "led", "owner"), LEAD, rest=False)


OBLIGATION_OUTCOMES = [
    (0, _("met on time")),
    (1, _("met late")),
    (2, _("open and overdue")),
    (3, _("open, not yet due")),
    (4, _("cancelled")),
]


def _obligation_outcome():
    """An obligation's position in ``OBLIGATION_OUTCOMES``, as of now."""
    fulfilled = Q(status=Obligation.Status.FULFILLED)
    return CaseWhen(
        When(fulfilled & Q(fulfilled_at__lte=F("due_at")), then=Value(0)),
        When(fulfilled, then=Value(1)),
        When(status=Obligation.Status.OPEN, due_at__lt=timezone.now(), then=Value(2)),
        When(status=Obligation.Status.OPEN, then=Value(3)),
        default=Value(4),
        output_field=IntegerField(),
    )


def _due_obligations(filters: Filters):
    """SOP obligations due in the period, with their outcome as of now."""
    return _case_scope(
        source(Obligation).filter(due_at__gte=filters.start, due_at__lt=filters.end),
        filters,
        prefix="case__",
    ).annotate(outcome=_obligation_outcome())


def obligations_compliance(filters: Filters) -> Counts:
    """SOP obligations due in the period by outcome."""
    counts = _slot_counts(filters, _due_obligations(filters), "outcome", "case__owner")
    return _vocabulary(counts, OBLIGATION_OUTCOMES, rest=False)


def _approved_disclosures(filters: Filters):
    """Disclosures approved (decided) in the period."""
    return _case_scope(
        source(Disclosure).filter(
            status=Disclosure.Status.APPROVED,
            decided_at__gte=filters.start,
            decided_at__lt=filters.end,
        ),
        filters,
        prefix="case__",
    )


def disclosures_by_legal_basis(filters: Filters) -> Counts:
    """Approved disclosures decided in the period, by legal basis."""
    disclosures = _approved_disclosures(filters)
    counts = _slot_counts(filters, disclosures, "legal_basis", "case__owner")
    return _vocabulary(counts, _terms("legal_basis"), rest=True)


def disclosures_by_direction(filters: Filters) -> Counts:
    """Approved disclosures decided in the period: sector they came from × sector they
    went to. Every sector is a row and a column, so the table's shape tells nothing."""
    sectors = _sectors(filters)
    index = {sector_id: i for i, (sector_id, _label) in enumerate(sectors)}
    from_sector = "from_participant__organisation__type__sector"
    to_sector = "to_participant__organisation__type__sector"
    slot_of = _owner_slot(filters)
    grouped = (
        _approved_disclosures(filters)
        .values("case__owner", from_sector, to_sector)
        .annotate(n=Count("id"))
        .order_by()
    )
    slots: dict[int, list[list[int]]] = {}
    for row in grouped:
        slot = slot_of.get(row["case__owner"], SLOT_NONE)
        cells = slots.setdefault(slot, [[0] * len(sectors) for _s in sectors])
        # every participant's organisation has a type with a sector
        cells[index[row[from_sector]]][index[row[to_sector]]] += row["n"]
    labels = [label for _id, label in sectors]
    return Counts(labels, labels, slots)


def hotline_informed(filters: Filters) -> Counts:
    """What the hotline sent to outside organisations in the period (its disclosures
    approved by a second person), by legal basis × the recipient's sector: the column of
    the security sector is "security authorities informed". Counted in the state of the
    hotline that sent them; every basis is a row and every sector a column."""
    sectors = _sectors(filters)
    column = {sector_id: j for j, (sector_id, _label) in enumerate(sectors)}
    bases = _terms("legal_basis")
    row_of = {term_id: i for i, (term_id, _label) in enumerate(bases)}
    rest = len(bases)  # a retired basis
    sent = source(ContactDisclosure).filter(
        status=ContactDisclosure.Status.SENT,
        decided_at__gte=filters.start,
        decided_at__lt=filters.end,
    )
    if filters.organisation_id is not None:
        sent = sent.filter(contact__organisation=filters.organisation_id)
    to_sector = "recipient__type__sector"
    slot_of = _owner_slot(filters)
    grouped = (
        sent.values("contact__organisation", "legal_basis", to_sector)
        .annotate(n=Count("id"))
        .order_by()
    )
    slots: dict[int, list[list[int]]] = {}
    for row in grouped:
        slot = slot_of.get(row["contact__organisation"], SLOT_NONE)
        cells = slots.setdefault(slot, [[0] * len(sectors) for _r in range(rest + 1)])
        cells[row_of.get(row["legal_basis"], rest)][column[row[to_sector]]] += row["n"]
    rows = [str(label) for _id, label in bases] + [str(NOT_RECORDED)]
    return Counts(rows, [label for _id, label in sectors], slots)


# -- partnership health (issue 20, part 4) ------------------------------------------------
#
# Flows between the sectors in both directions, obligations per pair of organisation types
# and handovers per organisation: figures about people's cases, so they are indicators like
# the others and pass the same disclosure control. The network's own figures (contact
# points, meetings, lessons learned) are not about cases: ``stats/partnership.py``.


def _organisation_types(filters: Filters) -> list[tuple[int, str]]:
    """(id, label) of every organisation type in the model's order, read once per dashboard."""
    if "organisation_types" not in filters.shared:
        rows = source(OrganisationType).order_by("position", "code")
        filters.shared["organisation_types"] = [
            (row["id"], pick_label(row["labels"], fallback=row["code"]))
            for row in rows.values("id", "code", "labels")
        ]
    return filters.shared["organisation_types"]


def _pairs(kinds: list[tuple[int, str]]) -> list[str]:
    """Every ordered pair of ``kinds`` as a row label, "from → to", the first kind's rows
    first: the rows never depend on the data."""
    return [f"{source_label} → {target}" for _id, source_label in kinds for _i, target in kinds]


REQUEST_OUTCOMES = [
    (0, _("answered by the date asked")),
    (1, _("answered late")),
    (2, _("refused")),
    (3, _("withdrawn")),
    (4, _("open and overdue")),
    (5, _("open, not yet due")),
]


def _asked_requests(filters: Filters):
    """Requests for information asked in the period."""
    return _case_scope(
        source(InformationRequest).filter(
            requested_at__gte=filters.start, requested_at__lt=filters.end
        ),
        filters,
        prefix="case__",
    )


def requests_by_direction(filters: Filters) -> Counts:
    """Requests for information asked in the period: sector that asked → sector asked
    (every ordered pair of sectors is a row) × what became of them by now. Medians of the
    days from the request to its answer (the approval of the disclosure that answers it)
    or refusal, overall and per sector asked; each names the values behind it, so it is
    published when they are."""
    sectors = _sectors(filters)
    index = {sector_id: i for i, (sector_id, _label) in enumerate(sectors)}
    width = len(sectors)
    status = InformationRequest.Status
    outcome = CaseWhen(
        When(status=status.ANSWERED, decided_at__lte=F("due_at"), then=Value(0)),
        When(status=status.ANSWERED, then=Value(1)),
        When(status=status.REFUSED, then=Value(2)),
        When(status=status.WITHDRAWN, then=Value(3)),
        When(due_at__lt=timezone.now(), then=Value(4)),
        default=Value(5),
        output_field=IntegerField(),
    )
    from_sector = "from_participant__organisation__type__sector"
    to_sector = "to_participant__organisation__type__sector"
    slot_of = _owner_slot(filters)
    grouped = (
        _asked_requests(filters)
        .annotate(outcome=outcome)
        .values("case__owner", from_sector, to_sector, "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    slots: dict[int, list[list[int]]] = {}
    for row in grouped:
        slot = slot_of.get(row["case__owner"], SLOT_NONE)
        cells = slots.setdefault(slot, [[0] * len(REQUEST_OUTCOMES) for _r in range(width**2)])
        cells[index[row[from_sector]] * width + index[row[to_sector]]][row["outcome"]] += row["n"]
    counts = Counts(_pairs(sectors), [str(label) for _o, label in REQUEST_OUTCOMES], slots)
    days = DaysBetween("requested_at", "decided_at")
    answered = Q(status=status.ANSWERED)
    refused = Q(status=status.REFUSED)

    def medians(state: int | None) -> list[tuple]:
        requests = _asked_requests(filters)
        if state is not None:
            requests = requests.filter(case__owner__in=_owners_in(filters, state))
        figures = requests.aggregate(
            answer=Median(days, filter=answered),
            answers=Count("id", filter=answered),
            refusal=Median(days, filter=refused),
            refusals=Count("id", filter=refused),
        )
        found = [
            (
                str(_("request → answer")),
                figures["answer"],
                figures["answers"],
                (("col", 0), ("col", 1)),
            ),
            (str(_("request → refusal")), figures["refusal"], figures["refusals"], (("col", 2),)),
        ]
        per_sector = {
            row[to_sector]: (row["value"], row["n"])
            for row in requests.filter(answered)
            .values(to_sector)
            .annotate(value=Median(days), n=Count("id"))
            .order_by()
        }
        for j, (sector_id, label) in enumerate(sectors):
            value, n = per_sector.get(sector_id, (None, 0))
            behind = tuple(("cell", i * width + j, c) for i in range(width) for c in (0, 1))
            found.append(
                (str(_("request to %(sector)s → answer") % {"sector": label}), value, n, behind)
            )
        return found

    counts.medians = medians
    return counts


def _named_senders() -> dict[tuple[int, str], dict]:
    """(protocol id, rule code) -> the sender a rule names (a case role, organisation type
    or sector code); rules that name none are the case's lead's."""
    found = {}
    for row in source(Protocol).values("id", "rules"):
        for rule in row["rules"] or []:
            if rule.get("sender"):
                found[(row["id"], rule.get("code"))] = rule["sender"]
    return found


def _sender_types(obligations, senders: dict[tuple[int, str], dict]):
    """For the obligations under a rule that names its sender: rows (owner, sender type id
    or None, recipient type id, outcome, count). The sender is the first participant of the
    case (in the order they joined) that the rule names, as the SOP engine picks it."""
    named = Q(pk__in=[])
    for protocol, rule in senders:
        named |= Q(protocol=protocol, rule=rule)
    grouped = list(
        obligations.filter(named)
        .values(
            "case", "case__owner", "protocol", "rule", "recipient__organisation__type", "outcome"
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    if not grouped:
        return []
    parties: dict[int, list[dict]] = defaultdict(list)
    participants = (
        source(Participant)
        .filter(case__in=obligations.filter(named).values("case"))
        .values(
            "case",
            "organisation__type",
            "organisation__type__code",
            "organisation__type__sector__code",
            "role__code",
        )
        .order_by("id")
    )
    for participant in participants:
        parties[participant["case"]].append(participant)
    found = []
    for row in grouped:
        sender = senders[(row["protocol"], row["rule"])]
        match = next(
            (
                party
                for party in parties[row["case"]]
                if (sender.get("role") and party["role__code"] == sender["role"])
                or (
                    sender.get("organisation_type")
                    and party["organisation__type__code"] == sender["organisation_type"]
                )
                or (
                    sender.get("sector")
                    and party["organisation__type__sector__code"] == sender["sector"]
                )
            ),
            None,
        )
        found.append(
            (
                row["case__owner"],
                match["organisation__type"] if match else None,
                row["recipient__organisation__type"],
                row["outcome"],
                row["n"],
            )
        )
    return found


def obligations_by_pair(filters: Filters) -> Counts:
    """SOP obligations due in the period: organisation type that must inform → type of the
    recipient (every ordered pair of types is a row, then one for an obligation whose sender
    or recipient takes no part in the case) × outcome, as ``obligations_compliance`` — of
    which each column is a row (``RELATIONS``).

    Who must inform is the party the rule names as its sender, else the case's lead: the
    owning organisation (obligations follow the lead on a transfer,
    ``access.protocol.obligations_follow_lead``)."""
    types = _organisation_types(filters)
    index = {type_id: i for i, (type_id, _label) in enumerate(types)}
    width = len(types)
    outside = width**2
    obligations = _due_obligations(filters)
    senders = _named_senders()
    rows: list[tuple] = list(_sender_types(obligations, senders))
    lead_sent = obligations
    for protocol, rule in senders:
        lead_sent = lead_sent.exclude(protocol=protocol, rule=rule)
    grouped = (
        lead_sent.values(
            "case__owner", "case__owner__type", "recipient__organisation__type", "outcome"
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in grouped:
        sender, recipient = row["case__owner__type"], row["recipient__organisation__type"]
        rows.append((row["case__owner"], sender, recipient, row["outcome"], row["n"]))
    slot_of = _owner_slot(filters)
    slots: dict[int, list[list[int]]] = {}
    for owner, sender, recipient, outcome, n in rows:
        cells = slots.setdefault(
            slot_of.get(owner, SLOT_NONE),
            [[0] * len(OBLIGATION_OUTCOMES) for _r in range(outside + 1)],
        )
        if sender in index and recipient in index:
            cells[index[sender] * width + index[recipient]][outcome] += n
        else:
            cells[outside][outcome] += n
    labels = [*_pairs(types), str(_("sender or recipient not taking part in the case"))]
    return Counts(labels, [str(label) for _o, label in OBLIGATION_OUTCOMES], slots)


def handovers_by_organisation(filters: Filters) -> Counts:
    """Handovers recorded in the period (a participation's worker changed), by the
    organisation of that participation: every active organisation is a row, in the order
    of their names, then one for organisations no longer active."""
    organisations = list(
        source(Organisation).filter(active=True).order_by("name", "id").values("id", "name")
    )
    row_of = {row["id"]: i for i, row in enumerate(organisations)}
    handovers = source(Handover).filter(at__gte=filters.start, at__lt=filters.end)
    if filters.organisation_id is not None:
        handovers = handovers.filter(participant__case__owner=filters.organisation_id)
    slot_of = _owner_slot(filters)
    slots: dict[int, list[list[int]]] = {}
    grouped = (
        handovers.values("participant__case__owner", "participant__organisation")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in grouped:
        slot = slot_of.get(row["participant__case__owner"], SLOT_NONE)
        cells = slots.setdefault(slot, [[0] for _r in range(len(organisations) + 1)])
        cells[row_of.get(row["participant__organisation"], len(organisations))][0] += row["n"]
    labels = [row["name"] for row in organisations] + [str(_("organisations no longer active"))]
    return Counts(labels, [""], slots)


INDICATORS: list[Indicator] = [
    Indicator(
        "contacts_by_caller_category",
        _("Contacts by caller category"),
        "contacts",
        _("Caller category"),
        contacts_by_caller_category,
        "contacts",
    ),
    Indicator(
        "contacts_by_channel",
        _("Contacts by channel"),
        "contacts",
        _("Channel"),
        contacts_by_channel,
        "contacts",
    ),
    Indicator(
        "contacts_by_contact_category",
        _("Contacts by contact category"),
        "contacts",
        _("Contact category"),
        contacts_by_contact_category,
        "contacts",
    ),
    Indicator(
        "contacts_by_language",
        _("Contacts by language"),
        "contacts",
        _("Language"),
        contacts_by_language,
        "contacts",
    ),
    Indicator(
        "contacts_by_state",
        _("Contacts by federal state"),
        "contacts",
        _("Federal state"),
        contacts_by_state,
        "contacts",
        rows_are_states=True,
    ),
    Indicator(
        "referral_funnel",
        _("Referral funnel: furthest step reached"),
        "referrals",
        _("Step"),
        referral_funnel,
        "contacts",
    ),
    Indicator(
        "cases_by_phase",
        _("Cases by phase"),
        "cases",
        _("Phase"),
        cases_by_phase,
        "cases.active",
        present=True,
    ),
    Indicator(
        "cases_by_duration",
        _("Closed cases by duration"),
        "cases",
        _("Duration"),
        cases_by_duration,
        "cases.closed",
    ),
    Indicator(
        "cases_by_closing_reason",
        _("Closed cases by closing reason"),
        "cases",
        _("Closing reason"),
        cases_by_closing_reason,
        "cases.closed",
    ),
    # outcomes of closed cases (issue 20): judgements, never measurements; the caveats
    # stand beside them on the page and in the report (``outcome_caveats``)
    Indicator(
        "outcome_change_at_closure",
        _("Change from intake to closure, by outcome dimension"),
        "outcomes",
        _("Dimension"),
        outcome_change_at_closure,
        "outcomes.closure",
        _("At closure"),
        chart_column=0,
        row_totals_are="cases.closed",
        column_margins=False,
        by_state=False,
    ),
    Indicator(
        "outcome_top_by_phase",
        _("Top-level result from intake to closure, by phase reached"),
        "outcomes",
        _("Furthest phase before closure"),
        outcome_top_by_phase,
        "cases.closed",
        _("At closure"),
        column_totals_are=("outcome_change_at_closure", 0),
        by_state=False,
    ),
    Indicator(
        "outcome_top_by_partner_type",
        _("Top-level result from intake to closure, by partner type"),
        "outcomes",
        _("Lead organisation's sector"),
        outcome_top_by_partner_type,
        "cases.closed",
        _("At closure"),
        column_totals_are=("outcome_change_at_closure", 0),
        by_state=False,
    ),
    Indicator(
        "outcome_top_by_intake_year",
        _("Top-level result from intake to closure, by year of intake"),
        "outcomes",
        _("Year the case was opened"),
        outcome_top_by_intake_year,
        "cases.closed",
        _("At closure"),
        column_totals_are=("outcome_change_at_closure", 0),
        by_state=False,
    ),
    Indicator(
        "follow_up_state",
        _("Closed cases by follow-up"),
        "outcomes",
        _("Follow-up"),
        follow_up_state,
        "cases.closed",
        by_state=False,
    ),
    Indicator(
        "outcome_change_at_follow_up",
        _("Change from intake to the latest follow-up, by outcome dimension"),
        "outcomes",
        _("Dimension"),
        outcome_change_at_follow_up,
        "outcomes.follow_up",
        _("At the latest follow-up"),
        chart_column=0,
        row_totals_are="cases.closed",
        column_margins=False,
        by_state=False,
    ),
    Indicator(
        "goals_by_status",
        _("Goals by horizon and status"),
        "cases",
        _("Horizon"),
        goals_by_status,
        "goals",
        _("Status"),
        present=True,
    ),
    Indicator(
        "lead_worker_changes",
        _("Cases by lead-worker changes"),
        "continuity",
        _("Changes"),
        lead_worker_changes,
        "cases.active",
        present=True,
        definition=_(
            "Cases open at some time in the year, by how often a worker taking part in them "
            "handed the case over to a colleague since it was opened. Describes the cases as "
            "they are now, so it is published for the current year only."
        ),
    ),
    Indicator(
        "cases_without_lead",
        _("Open cases with and without a lead worker"),
        "continuity",
        _("Lead worker"),
        cases_without_lead,
        "cases.open",
        present=True,
    ),
    Indicator(
        "obligations_compliance",
        _("SOP obligations by outcome"),
        "compliance",
        _("Outcome"),
        obligations_compliance,
        "obligations",
        definition=_(
            "Obligations the SOP created that fell due in the year, by what became of them "
            "by today. On time: fulfilled by the deadline; late: fulfilled after it; open "
            "and overdue: not fulfilled and the deadline has passed."
        ),
    ),
    Indicator(
        "disclosures_by_legal_basis",
        _("Disclosures by legal basis"),
        "transparency",
        _("Legal basis"),
        disclosures_by_legal_basis,
        "disclosures",
    ),
    Indicator(
        "disclosures_by_direction",
        _("Disclosures by direction"),
        "transparency",
        _("From sector"),
        disclosures_by_direction,
        "disclosures",
        _("To sector"),
        definition=_(
            "Disclosures approved in the year, by the sector of the participant who passed "
            "the information on (row) and the sector of the recipient (column): both "
            "directions of every pair of sectors side by side."
        ),
    ),
    Indicator(
        "hotline_informed",
        _("Hotline: organisations informed, by legal basis and sector"),
        "transparency",
        _("Legal basis"),
        hotline_informed,
        "hotline_disclosures",
        _("Recipient's sector"),
    ),
    Indicator(
        "requests_by_direction",
        _("Requests for information by direction"),
        "partnership",
        _("Asked by → asked"),
        requests_by_direction,
        "requests",
        _("What became of them"),
        sparse=True,
        by_state=False,
        definition=_(
            "Requests for information asked in the year, by the sector of the participant "
            "who asked and the sector of the participant asked, and what became of them by "
            "today. Answered by the date asked: the disclosure answering it was approved by "
            "the date the request set. The medians count the days from the request to its "
            "answer or refusal."
        ),
    ),
    Indicator(
        "obligations_by_pair",
        _("SOP obligations by pair of organisation types"),
        "partnership",
        _("Must inform → is informed"),
        obligations_by_pair,
        "obligations",
        _("Outcome"),
        sparse=True,
        by_state=False,
        definition=_(
            "Obligations the SOP created that fell due in the year, by the type of the "
            "organisation that must inform (the party the rule names as its sender, else the "
            "organisation leading the case) and the type of the recipient. On time: "
            "fulfilled by the deadline; late: fulfilled after it; open and overdue: not "
            "fulfilled and the deadline has passed."
        ),
    ),
    Indicator(
        "handovers_by_organisation",
        _("Handovers by organisation"),
        "partnership",
        _("Organisation"),
        handovers_by_organisation,
        "handovers",
        sparse=True,
        by_state=False,
        definition=_(
            "Handovers recorded in the year: a worker taking part in a case for an "
            "organisation handed it over to a colleague. Counted for the organisation whose "
            "worker changed."
        ),
    ),
]
BY_CODE = {indicator.code: indicator for indicator in INDICATORS}

# What an attacker knows of the populations besides their equal totals, per state: the
# cases active in a period are those closed in it and those still open at its end, a
# case closed in it is in the phase "closure", and the obligations of each outcome are
# the same in the table by pair of organisation types (a column) and in the one by outcome
# (a row). Requests and handovers stand apart: requests are counted when asked, the
# disclosures that answer them when approved (often another year); a handover of the period
# says nothing linear about the number of changes per case since opening.
RELATIONS: list[tuple[str, tuple[Part, ...], tuple[Part, ...]]] = [
    ("equal", (Part("cases.active"),), (Part("cases.closed"), Part("cases.open"))),
    (
        "at_least",
        (Part("cases.active", "cases_by_phase", list(Phase).index(Phase.CLOSURE)),),
        (Part("cases.closed"),),
    ),
    *(
        (
            "equal",
            (Part("obligations", "obligations_by_pair", column=outcome),),
            (Part("obligations", "obligations_compliance", row=outcome),),
        )
        for outcome, _label in OBLIGATION_OUTCOMES
    ),
]
