"""Statistics as they may leave the system: scoped by role, through disclosure control.

Pages, exports, the API and the report all call ``dashboard()`` or ``indicator()``; there
is no other way to a published figure. Counts pass ``disclosure.protect`` with the
cooperation model's threshold k; a median is shown only when at least k values stand
behind it. Periods are whole calendar months (a period ending mid-month could be
differenced against one ending a day later). Each call is audited (scope, period and
indicator codes only).
"""

from __future__ import annotations

import calendar
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.accounts.models import Role
from casebridge.audit.services import audit_record
from casebridge.cooperation_models.models import CooperationModel
from casebridge.dates import local_midnight
from casebridge.network.models import Organisation
from casebridge.sharing.policy import organisations_with
from casebridge.stats import aggregates, indicators
from casebridge.stats.disclosure import ProtectedTable, protect

DEFAULT_K = 5
NETWORK_ROLES = frozenset({Role.COORDINATOR, Role.DATA_PROTECTION_OFFICER})
OWN_ROLES = frozenset({Role.PARTNER_COUNSELLOR, Role.HOTLINE_COUNSELLOR})
STATS_ROLES = NETWORK_ROLES | OWN_ROLES
MAX_YEARS = 10
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
class PublishedMedian:
    label: str
    value: float | None  # None: fewer than k values (or none)
    count_below_k: bool


@dataclass
class Published:
    code: str
    title: str
    group: str
    row_heading: str
    column_heading: str
    table: ProtectedTable
    medians: list[PublishedMedian]

    @property
    def lines(self) -> list[tuple]:
        """(row label, cells, row total or None) for a table template."""
        totals = self.table.row_totals or [None] * len(self.table.rows)
        return list(zip(self.table.rows, self.table.cells, totals, strict=True))


@dataclass
class Dashboard:
    scope: Scope
    period: Period
    state: tuple[int, str, str] | None
    k: int
    indicators: list[Published]


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
    officers, their own organisation for hotline and partner counsellors."""
    found = []
    if organisations_with(actor, NETWORK_ROLES):
        found.append(Scope("network", _("whole network")))
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


def period_of(first: date | None, last: date | None) -> Period:
    """Whole months from ``first``'s month to ``last``'s; default: this calendar year."""
    today = timezone.localdate()
    first = first or date(today.year, 1, 1)
    last = last or date(today.year, 12, 31)
    if last < first:
        raise ValidationError({"to": _("The end must not lie before the start.")})
    if (last.year - first.year) > MAX_YEARS:
        raise ValidationError(
            {"to": _("A period can span at most %(years)d years.") % {"years": MAX_YEARS}}
        )
    last_day = calendar.monthrange(last.year, last.month)[1]
    return Period(date(first.year, first.month, 1), date(last.year, last.month, last_day))


def state_of(code: str | None) -> tuple[int, str, str] | None:
    if not code:
        return None
    for state in indicators.states():
        if state[1] == code:
            return state
    raise ValidationError({"state": _("Choose one of the federal states offered.")})


def _filters(scope: Scope, period: Period, state) -> indicators.Filters:
    return indicators.Filters(
        start=period.start,
        end=period.end,
        state_region_ids=indicators.state_region_ids(state[0]) if state else None,
        organisation_id=scope.organisation_id,
    )


def _publish(indicator: indicators.Indicator, filters: indicators.Filters, k: int) -> Published:
    result = indicator.compute(filters)
    medians = [
        PublishedMedian(
            figure.label,
            round(figure.value, 1) if figure.value is not None and figure.count >= k else None,
            figure.count < k,
        )
        for figure in result.medians
    ]
    return Published(
        code=indicator.code,
        title=str(indicator.title),
        group=indicator.group,
        row_heading=str(indicator.row_heading),
        column_heading=str(indicator.column_heading),
        table=protect(result.table, k),
        medians=medians,
    )


def dashboard(
    actor,
    *,
    scope_key: str | None = None,
    first: date | None = None,
    last: date | None = None,
    state_code: str | None = None,
    codes: list[str] | None = None,
    purpose: str = "dashboard",
    fmt: str = "",
) -> Dashboard:
    """Every indicator (or those in ``codes``) for the scope, period and state, protected;
    ``fmt`` names the file format for the audit event of an export."""
    scope = scope_for(actor, scope_key)
    period = period_of(first, last)
    state = state_of(state_code)
    board = _build(scope, period, state, codes)
    _audit(actor, f"stats.{purpose}", board, **({"format": fmt} if fmt else {}))
    return board


def annual_report(*, year: int, state_code: str | None = None, fmt: str) -> Dashboard:
    """The whole network's figures for one calendar year, for the command line.

    Whoever can run ``casebridge`` on the server can read the database anyway, so the
    command sees the network as a coordinator does — through the same disclosure control —
    and is audited as ``stats.report`` by "system" with the format.
    """
    today = timezone.localdate()
    if not MIN_YEAR <= year <= today.year + 1:
        raise ValidationError(
            {
                "year": _("Give a year between %(first)d and %(last)d.")
                % {"first": MIN_YEAR, "last": today.year + 1}
            }
        )
    scope = Scope("network", _("whole network"))
    board = _build(scope, period_of(date(year, 1, 1), date(year, 12, 31)), state_of(state_code))
    _audit(None, "stats.report", board, format=fmt, via="command line")
    return board


def _build(scope: Scope, period: Period, state, codes: list[str] | None = None) -> Dashboard:
    chosen = [
        indicator
        for indicator in indicators.INDICATORS
        if scope.groups is None or indicator.group in scope.groups
    ]
    if codes is not None:
        unknown = [code for code in codes if code not in indicators.BY_CODE]
        if unknown:
            raise ValidationError({"indicator": _("There is no such indicator.")})
        offered = {indicator.code for indicator in chosen}
        if any(code not in offered for code in codes):
            raise ValidationError({"indicator": _("This indicator is not offered for these data.")})
        chosen = [indicators.BY_CODE[code] for code in codes]
    k = threshold()
    # count changed months first, each in its own short transaction, not inside the
    # indicators' one: that would hold the months' build locks until the page is done,
    # and on SQLite a write after the read transaction's first read fails (BUSY_SNAPSHOT)
    aggregates.refresh(aggregates.months_between(period.start, period.end))
    filters = replace(_filters(scope, period, state), refreshed=True)
    with tuned():
        published = [_publish(indicator, filters, k) for indicator in chosen]
    return Dashboard(scope, period, state, k, published)


@contextmanager
def tuned():
    """A transaction for the indicators' queries; on PostgreSQL, for these few large
    aggregates only: no JIT (its compile time, ~0.1 s per query, exceeds what it saves at
    this size) and room to hash and sort the period's rows in memory instead of spilling
    to disk (see bench/results.md)."""
    with transaction.atomic():
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
            **extra,
        },
    )
