"""Statistics as they may leave the system: scoped by role, through disclosure control.

Pages, exports, the API and the report all call ``dashboard()`` or ``annual_report()``;
there is no other way to a published figure. A persona sees one kind of scope — the whole
network (coordinators, data protection officers) or its own organisations (counsellors),
never both, since an organisation's counts are part of the network's and the two could be
compared. The period is one calendar year: fixed periods, so that no period is the
difference of two others. Every indicator of the scope, for the network and every federal
state, is protected at once (``publication.publish``) with the cooperation model's
threshold k, whatever part of it a request shows. Each call is audited (scope, year,
state and indicator codes only).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge import dbrouting
from casebridge.access.policy import organisations_with
from casebridge.accounts.models import Role
from casebridge.audit.services import audit_record
from casebridge.cooperation_models.models import CooperationModel
from casebridge.dates import local_midnight
from casebridge.network.models import Organisation
from casebridge.stats import aggregates, indicators, outcome_figures, registry
from casebridge.stats.disclosure import ProtectedTable
from casebridge.stats.models import Protection
from casebridge.stats.partnership import NetworkFigures, network_figures
from casebridge.stats.publication import Publication, PublishedMedian, publish

DEFAULT_K = 5
NETWORK_ROLES = frozenset({Role.COORDINATOR, Role.DATA_PROTECTION_OFFICER})
OWN_ROLES = frozenset({Role.PARTNER_COUNSELLOR, Role.HOTLINE_COUNSELLOR})
STATS_ROLES = NETWORK_ROLES | OWN_ROLES
MIN_YEAR = 2000


@dataclass(frozen=True)
class Scope:
    """Whose data: the whole network (``organisation_id`` None) or one organisation's.

    ``kind`` is "network", "hotline" or "partner"; ``groups`` limits the indicators to
    those groups (the hotline owns no cases, so its dashboard shows contacts and
    referrals), None meaning all.
    """

    key: str
    label: str
    organisation_id: int | None = None
    kind: str = "network"
    groups: tuple[str, ...] | None = None


HOTLINE_GROUPS = ("contacts", "referrals")
# groups only the network's scope offers: partnership health compares the organisations
# of the network with each other, which is the coordinators' (and the DPO's) view
NETWORK_GROUPS = ("partnership",)
# what the partnership page shows (issue 20), in its order: the flows between the sectors,
# the obligations per pair of organisation types, the continuity of staff
PARTNERSHIP_CODES = (
    "disclosures_by_direction",
    "requests_by_direction",
    "obligations_compliance",
    "obligations_by_pair",
    "lead_worker_changes",
    "handovers_by_organisation",
)


@dataclass(frozen=True)
class Period:
    first: date  # first day of the first month
    last: date  # last day of the last month

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        following = date.fromordinal(self.last.toordinal() + 1)
        return local_midnight(following)


@dataclass
class Published:
    code: str
    title: str
    group: str
    row_heading: str
    column_heading: str
    table: ProtectedTable
    medians: list[PublishedMedian]
    definition: str = ""
    sparse: bool = False

    @property
    def shown(self) -> ProtectedTable:
        """The table as pages and reports show it: a sparse one without its all-zero rows."""
        return self.table.without_zero_rows() if self.sparse else self.table

    # what a reader must know beside these figures (the outcome tables' caveats)
    caveats: list[str] = field(default_factory=list)
    chart_column: int | None = None  # the column the chart shows (else the row totals)

    @property
    def chart_title(self) -> str:
        """The table's title, and the column its chart shows where it shows one."""
        if self.chart_column is None:
            return self.title
        return f"{self.title}: {self.table.columns[self.chart_column]}"

    @property
    def lines(self) -> list[tuple]:
        """(row label, cells, row total or None) for a table template."""
        shown = self.shown
        totals = shown.row_totals or [None] * len(shown.rows)
        return list(zip(shown.rows, shown.cells, totals, strict=True))


@dataclass(frozen=True)
class Notice:
    """What a reader must be told about the figures asked for, naming the filter it
    concerns (``field``) and the group of indicators it is about: e.g. a year whose closed
    cases hold no outcome judgements. It restates published figures only."""

    field: str
    message: str
    group: str


@dataclass
class Dashboard:
    scope: Scope
    period: Period
    state: tuple[int, str, str] | None
    k: int
    indicators: list[Published]
    # the network's own partnership figures (no case, no disclosure control): in the files
    # of the whole network, and on the partnership page
    network: NetworkFigures | None = None
    notices: list[Notice] = field(default_factory=list)
    # the database the counts were read from and as of when (``dbrouting.choose``)
    source: dbrouting.ReadFrom | None = None

    @property
    def as_of(self) -> str:
        """ "Figures as of 2026-05-04 14:05 (standby database)", in the reader's time zone:
        what a page, a file and the API say about where and when the figures were counted."""
        if self.source is None:
            return ""
        moment = timezone.localtime(self.source.as_of)
        values = {"time": moment.strftime("%H:%M"), "date": moment.date().isoformat()}
        if self.source.standby:
            return _("Figures as of %(date)s %(time)s (standby database)") % values
        if self.source.note:
            return _("Figures as of %(date)s %(time)s (main database: %(reason)s)") % {
                **values,
                "reason": self.source.note,
            }
        return _("Figures as of %(date)s %(time)s") % values

    @property
    def current(self) -> bool:
        """The year is this year (which alone shows the cases as they are now)."""
        return self.period.first.year == timezone.localdate().year

    @property
    def empty(self) -> bool:
        """Nothing was counted: every table's total is a published zero (a hidden total is
        not zero) and the network's figures, if any, hold nothing either."""
        return all(_nothing(item.table) for item in self.indicators) and (
            self.network is None or self.network.empty
        )

    def item(self, code: str) -> Published | None:
        return next((item for item in self.indicators if item.code == code), None)


def _nothing(table: ProtectedTable) -> bool:
    """The table counts nothing: its total is a published zero, or (a table without one)
    every cell is."""
    if table.total is not None:
        return table.total.value == 0
    return all(cell.value == 0 for line in table.cells for cell in line)


def threshold() -> int:
    """Return k from the loaded cooperation model ([statistics] k), 5 without one."""
    model = CooperationModel.objects.order_by("-loaded_at").first()
    if model is None:
        return DEFAULT_K
    settings = model.settings or {}
    statistics = settings.get("statistics") or {}
    return int(statistics.get("k") or settings.get("statistics_threshold") or DEFAULT_K)


def scopes_for(actor) -> list[Scope]:
    """The scopes the actor may see: the network for coordinators and data protection
    officers; otherwise their own organisations, for hotline and partner counsellors.
    Never both: an organisation's figures are part of the network's, and the two side by
    side could be subtracted to find what disclosure control hides."""
    if organisations_with(actor, NETWORK_ROLES):
        return [Scope("network", _("whole network"))]
    found = []
    own = organisations_with(actor, OWN_ROLES)
    for organisation in Organisation.objects.filter(pk__in=own).order_by("name"):
        if organisation.is_hotline:
            scope = Scope(
                f"org-{organisation.pk}",
                organisation.name,
                organisation.pk,
                kind="hotline",
                groups=HOTLINE_GROUPS,
            )
        else:
            scope = Scope(f"org-{organisation.pk}", organisation.name, organisation.pk, "partner")
        found.append(scope)
    return found


def scope_for(actor, key: str | None) -> Scope:
    """The scope ``key`` (default: the first one) if the actor may see it; 403 otherwise."""
    scopes = scopes_for(actor)
    if not scopes:
        raise PermissionDenied
    if not key:
        return scopes[0]
    for scope in scopes:
        if scope.key == key:
            return scope
    raise ValidationError({"scope": _("Choose one of the scopes offered.")})


def period_of(year: int | None) -> Period:
    """The calendar year ``year`` (default: this year) as a period."""
    today = timezone.localdate()
    year = today.year if year is None else year
    if not MIN_YEAR <= year <= today.year:
        raise ValidationError(
            {
                "year": _("Give a year between %(first)d and %(last)d.")
                % {"first": MIN_YEAR, "last": today.year}
            }
        )
    return Period(date(year, 1, 1), date(year, 12, 31))


def year_of_range(first: date | None, last: date | None) -> int | None:
    """The year that ``first`` … ``last`` spans, for callers that give a period as two
    dates: statistics are published per calendar year, so nothing else is accepted."""
    if first is None and last is None:
        return None
    if (
        first is None
        or last is None
        or (first.month, first.day) != (1, 1)
        or (last.month, last.day) != (12, 31)
        or first.year != last.year
    ):
        raise ValidationError(
            {
                "from": _(
                    "Statistics are published for whole calendar years: give the year, "
                    "or 1 January and 31 December of one year."
                )
            }
        )
    return first.year


def state_of(code: str | None) -> tuple[int, str, str] | None:
    if not code:
        return None
    for state in indicators.states():
        if state[1] == code:
            return state
    raise ValidationError({"state": _("Choose one of the federal states offered.")})


def _published(
    publication: Publication, indicator: indicators.Indicator, state, caveats
) -> Published:
    slot = state[0] if state else None
    return Published(
        code=indicator.code,
        title=str(indicator.title),
        group=indicator.group,
        row_heading=str(indicator.row_heading),
        column_heading=str(indicator.column_heading),
        table=publication.table(indicator.code, slot),
        medians=publication.medians(indicator.code, slot),
        definition=str(indicator.definition),
        sparse=indicator.sparse,
        caveats=caveats.get(indicator.group, []),
        chart_column=indicator.chart_column,
    )


def dashboard(
    actor,
    *,
    scope_key: str | None = None,
    year: int | None = None,
    state_code: str | None = None,
    codes: list[str] | None = None,
    purpose: str = "dashboard",
    fmt: str = "",
) -> Dashboard:
    """Every indicator (or those in ``codes``) for the scope, year and state, protected;
    ``fmt`` names the file format for the audit event of an export. A file of the whole
    network holds the network's partnership figures too; a file of a year (or a state)
    without any figure is refused, naming the field."""
    scope = scope_for(actor, scope_key)
    period = period_of(year)
    state = state_of(state_code)
    board = _build(scope, period, state, codes)
    if fmt:
        _with_network(board)
        _refuse_empty(board)
    _audit(actor, f"stats.{purpose}", board, **({"format": fmt} if fmt else {}))
    return board


def annual_report(*, year: int, state_code: str | None = None, fmt: str) -> Dashboard:
    """The whole network's figures for one calendar year, for the command line.

    Whoever can run ``casebridge`` on the server can read the database anyway, so the
    command sees the network as a coordinator does — through the same disclosure control —
    and is audited as ``stats.report`` by "system" with the format.
    """
    scope = Scope("network", _("whole network"))
    board = _build(scope, period_of(year), state_of(state_code))
    _with_network(board)
    _refuse_empty(board)
    _audit(None, "stats.report", board, format=fmt, via="command line")
    return board


def partnership(actor, *, year: int | None = None, purpose: str = "partnership") -> Dashboard:
    """Partnership health (issue 20) for one calendar year: the partnership indicators of
    the whole network (``PARTNERSHIP_CODES``, those offered for the year), protected with
    every other table of the network's year, and the network's own figures. For whoever
    may see the network's statistics (403 otherwise); a year without any figure is refused,
    naming ``year``."""
    scope = next((scope for scope in scopes_for(actor) if scope.kind == "network"), None)
    if scope is None:
        raise PermissionDenied
    period = period_of(year)
    offered_codes = {indicator.code for indicator in offered(scope, period)}
    board = _build(scope, period, None, [c for c in PARTNERSHIP_CODES if c in offered_codes])
    board.network = network_figures(period.first, period.last)
    _refuse_empty(board)
    _audit(actor, f"stats.{purpose}", board)
    return board


def sees_network(actor) -> bool:
    """The actor may see the network's statistics (and so partnership health)."""
    return any(scope.kind == "network" for scope in scopes_for(actor))


def _with_network(board: Dashboard) -> None:
    """Add the network's partnership figures to the files of the whole network (not to a
    state's: they are the network's, not counted per state)."""
    if board.scope.kind == "network" and board.state is None:
        board.network = network_figures(board.period.first, board.period.last)


def _refuse_empty(board: Dashboard) -> None:
    if not board.empty:
        return
    if board.state is not None:
        raise ValidationError(
            {
                "state": _(
                    "Nothing was recorded for %(state)s in %(year)d: there is no figure to report."
                )
                % {"state": board.state[2], "year": board.period.first.year}
            }
        )
    raise ValidationError(
        {
            "year": _("Nothing was recorded in %(year)d: there is no figure to report.")
            % {"year": board.period.first.year}
        }
    )


def offered(scope: Scope, period: Period) -> list[indicators.Indicator]:
    """The indicators of the scope for the year: those describing the present only for the
    current year, the network's groups (``NETWORK_GROUPS``) only for the network."""
    current = period.first.year == timezone.localdate().year
    unavailable = indicators.unavailable()
    return [
        indicator
        for indicator in indicators.INDICATORS
        if (scope.groups is None or indicator.group in scope.groups)
        and (scope.kind == "network" or indicator.group not in NETWORK_GROUPS)
        and (current or not indicator.present)
        and indicator.code not in unavailable
    ]


def _build(scope: Scope, period: Period, state, codes: list[str] | None = None) -> Dashboard:
    chosen = offered_now = offered(scope, period)
    if codes is not None:
        unknown = [code for code in codes if code not in indicators.BY_CODE]
        if unknown:
            raise ValidationError({"indicator": _("There is no such indicator.")})
        codes_offered = {indicator.code for indicator in offered_now}
        for code in codes:
            if code in codes_offered:
                continue
            if indicators.BY_CODE[code] in offered(scope, period_of(None)):
                message = _(
                    "This indicator describes the cases as they are now and is published "
                    "for the current year only."
                )
            else:
                message = _("This indicator is not offered for these data.")
            raise ValidationError({"indicator": message})
        chosen = [indicators.BY_CODE[code] for code in codes]
        if state is not None and not all(indicator.by_state for indicator in chosen):
            raise ValidationError(
                {
                    "state": _(
                        "This indicator is published for the whole network only: choose all states."
                    )
                }
            )
    elif state is not None:
        # a state's dashboard leaves out what is published for the whole network only
        chosen = [indicator for indicator in offered_now if indicator.by_state]
    k = threshold()
    publication, source = _publication(scope, period, offered_now, k)
    groups = {indicator.group for indicator in chosen}
    caveats = {"outcomes": indicators.outcome_caveats()} if "outcomes" in groups else {}
    published = [_published(publication, indicator, state, caveats) for indicator in chosen]
    notices = _outcome_notices(publication, period, state) if "outcomes" in groups else []
    return Dashboard(scope, period, state, k, published, notices=notices, source=source)


def _outcome_notices(publication: Publication, period: Period, state) -> list[Notice]:
    """ "No outcome assessments …" for a year whose closed cases none was judged at both
    intake and closure — said only where the published table at closure shows it (every
    "better", "unchanged" and "worse" a published zero), so the sentence tells nothing
    that disclosure control hides. The outcome tables are the whole network's (or the
    organisation's): a state's dashboard has none, and no notice."""
    if "outcome_change_at_closure" not in publication.counts or state:
        return []
    table = publication.table("outcome_change_at_closure", None)
    judged = range(indicators.NOT_JUDGED)
    if any(line[j].value != 0 for line in table.cells for j in judged):  # a count, or hidden
        return []
    message = _(
        "No outcome assessments were recorded for cases closed in %(year)d: none was "
        "judged both at intake and at closure."
    ) % {"year": period.first.year}
    return [Notice("year", message, "outcomes")]


def _publication(
    scope: Scope, period: Period, offered, k: int
) -> tuple[Publication, dbrouting.ReadFrom]:
    """Every offered indicator for every state of the scope and year, protected together
    — whichever of them the request shows, so that two requests never differ in what
    they hide for the same figure — and where the counts were read: on the standby
    database when one has caught up with the primary (``dbrouting``), else here. The
    months are brought up to date on the primary first; the protection decisions are
    read and stored on the primary."""
    # count changed months first, each in its own short transaction, not inside the
    # indicators' one: that would hold the months' build locks until the page is done,
    # and on SQLite a write after the read transaction's first read fails (BUSY_SNAPSHOT)
    months = aggregates.months_between(period.start, period.end)
    aggregates.refresh(months)
    if any(indicator.group == "outcomes" for indicator in offered):
        outcome_figures.refresh(months)
    filters = indicators.Filters(
        start=period.start,
        end=period.end,
        organisation_id=scope.organisation_id,
        refreshed=True,
    )
    source = dbrouting.choose()
    with dbrouting.reads_from(source, registry.READABLE), tuned(source.alias):
        counts = {indicator.code: indicator.compute(filters) for indicator in offered}
        states = indicators.states()
    relations = indicators.relations(counts)
    return publish(offered, counts, states, k, relations, store=StoredDecisions()), source


class StoredDecisions:
    """Protection decisions in the database (``stats.Protection``), shared by every app
    server and the worker."""

    def get(self, digest: str):
        row = Protection.objects.filter(digest=digest).values_list("hidden", flat=True).first()
        return None if row is None else frozenset(frozenset(cells) for cells in row)

    def put(self, digest: str, hidden) -> None:
        Protection.objects.bulk_create(
            [
                Protection(
                    digest=digest,
                    hidden=sorted(sorted(cells) for cells in hidden),
                    decided_at=timezone.now(),
                )
            ],
            ignore_conflicts=True,
        )


DECISIONS_KEPT_DAYS = 7


def decide_ahead() -> None:
    """Protect this year's network figures now if their counts changed (the worker), so
    that the next coordinator's dashboard finds the decision made; forget decisions
    older than a week (they are solved again when needed)."""
    scope = Scope("network", _("whole network"))
    period = period_of(None)
    _publication(scope, period, offered(scope, period), threshold())
    old = timezone.now() - timedelta(days=DECISIONS_KEPT_DAYS)
    Protection.objects.filter(decided_at__lt=old).delete()


@contextmanager
def tuned(using: str = "default"):
    """A transaction for the indicators' queries on the database ``using`` (the standby's
    when it serves them); on PostgreSQL, for these few large aggregates only: no JIT (its
    compile time, ~0.1 s per query, exceeds what it saves at this size) and room to hash
    and sort the period's rows in memory instead of spilling to disk (see
    bench/results.md)."""
    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def _audit(actor, action: str, board: Dashboard, **extra) -> None:
    audit_record(
        actor=actor,
        action=action,
        details={
            "scope": board.scope.organisation_id or "network",
            "from": board.period.first.isoformat(),
            "to": board.period.last.isoformat(),
            "state": board.state[1] if board.state else "",
            "indicators": [item.code for item in board.indicators],
            "k": board.k,
            # where the counts were read (the event itself is always the primary's)
            **({"database": board.source.database} if board.source else {}),
            **extra,
        },
    )
