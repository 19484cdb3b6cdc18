"""Statistics API: the same protected tables as the pages, and the same files."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from casebridge.apischema import Day, Input, QueryInt
from casebridge.stats import export, report, selectors
from casebridge.stats.partnership import NetworkFigures

router = Router(tags=["statistics"])


class StatsQuery(Input):
    scope: str | None = Field(None, description="'network' or 'org-<id>'; default: the first")
    year: QueryInt | None = Field(None, description="the calendar year; default: this year")
    date_from: Day | None = Field(
        None, alias="from", description="instead of year: 1 January of the year"
    )
    date_to: Day | None = Field(
        None, alias="to", description="instead of year: 31 December of the same year"
    )
    state: str | None = Field(None, description="federal state code, e.g. DE-HH")


class ValueOut(Schema):
    value: int | None
    status: str


class MedianOut(Schema):
    label: str
    days: float | None
    withheld: bool


class NoticeOut(Schema):
    field: str = Field(..., description="the filter it concerns, e.g. year")
    message: str


class IndicatorOut(Schema):
    code: str
    title: str
    definition: str = Field(description="what is counted, over which period; may be empty")
    row_heading: str
    column_heading: str
    rows: list[str]
    columns: list[str]
    cells: list[list[ValueOut]]
    row_totals: list[ValueOut] | None
    column_totals: list[ValueOut] | None
    total: ValueOut | None = Field(
        ..., description="null where the table has no grand total (a row per dimension)"
    )
    medians: list[MedianOut]
    caveats: list[str] = Field(
        ..., description="what a reader must know beside the figures (outcome tables)"
    )
    notices: list[NoticeOut] = Field(
        ..., description="e.g. a year whose closed cases hold no outcome judgements"
    )


class SourceOut(Schema):
    as_of: datetime | None = Field(
        ..., description="the moment the figures are current at (the primary's clock)"
    )
    database: Literal["primary", "standby"] | None = Field(
        ..., description="where they were read: the standby database or the primary"
    )
    as_of_text: str = Field(
        ..., description='e.g. "Figures as of 2026-05-04 14:05 (standby database)"'
    )


class DashboardOut(SourceOut):
    scope: str
    year: int
    from_: date = Field(..., alias="from")
    to: date
    state: str | None
    k: int
    notices: list[NoticeOut]
    indicators: list[IndicatorOut]


def _board(request, query: StatsQuery, codes=None, fmt: str = ""):
    year = selectors.year_of_range(query.date_from, query.date_to)
    if year is not None and query.year is not None and year != query.year:
        raise ValidationError({"year": _("Give the year or the two dates, not both.")})
    return selectors.dashboard(
        request.auth,
        scope_key=query.scope,
        year=query.year if query.year is not None else year,
        state_code=query.state,
        codes=codes,
        purpose="api",
        fmt=fmt,
    )


@router.get("/indicators", response=DashboardOut, by_alias=True)
def stats_indicators(request, query: Query[StatsQuery]):
    """Every indicator for the scope, year and state, after disclosure control (every
    table of the scope and year is protected together; see the operations guide)."""
    return export.dashboard_dict(_board(request, query))


@router.get("/indicators/{code}", response=IndicatorOut)
def stats_indicator(request, code: str, query: Query[StatsQuery]):
    """One indicator; 422 naming ``indicator`` when there is no such code."""
    board = _board(request, query, codes=[code])
    return export.published_dict(board.indicators[0], board.notices)


class ExportQuery(StatsQuery):
    format: str = Field("pdf", description="pdf (the report with charts), xlsx or csv")


@router.get(
    "/export",
    response={200: None},
    openapi_extra={
        "responses": {
            200: {
                "description": "The file",
                "content": {content_type: {} for content_type in report.FORMATS.values()},
            }
        }
    },
)
def stats_export(request, query: Query[ExportQuery]):
    """Every indicator as a file: the PDF report, XLSX (a sheet per indicator) or CSV."""
    if query.format not in report.FORMATS:
        raise ValidationError({"format": _("Choose pdf, xlsx or csv.")})
    board = _board(request, query, fmt=query.format)
    body, content_type = report.render(board, query.format)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{report.filename(board, query.format)}"'
    )
    return response


# -- partnership health (issue 20) --------------------------------------------------------


class PartnershipQuery(Input):
    year: QueryInt | None = Field(None, description="the calendar year; default: this year")


class PartnershipVacanciesOut(Schema):
    organisation_type: str = Field(description="the organisation type's code; empty: all")
    label: str
    organisations: int = Field(description="active organisations of the type")
    never_with_contact_point: int
    functions: int
    functions_with_days_without_anybody: int
    days_without_anybody: int = Field(description="summed over the functions")
    longest_days_without_anybody: int
    without_anybody_at_end: int = Field(description="functions without anybody on counted_to")


class PartnershipContactPointsOut(Schema):
    definition: str
    counted_to: date = Field(description="31 December, or today for the current year")
    types: list[PartnershipVacanciesOut]
    total: PartnershipVacanciesOut


class PartnershipQuarterOut(Schema):
    invited: int
    attended: int


class PartnershipAttendanceOut(Schema):
    organisation: str = Field(description="the organisation's code")
    name: str
    organisation_type: str
    invited: int = Field(description="meetings held to which a member was invited")
    attended: int = Field(description="of which at least one member attended")
    not_recorded: int = Field(description="of which nobody's attendance was recorded")
    share_attended: int | None = Field(description="per cent of the recorded ones; None: none")
    quarters: list[PartnershipQuarterOut]


class PartnershipMeetingsHeldOut(Schema):
    kind: str
    label: str
    held: int


class PartnershipMeetingsOut(Schema):
    definition: str
    held: list[PartnershipMeetingsHeldOut]
    organisations: list[PartnershipAttendanceOut]


class PartnershipLessonsRowOut(Schema):
    outcome: str = Field(description="how it went (code); empty: all lessons")
    label: str
    recorded: int
    acted_on: int = Field(description="a procedure draft was started from the lesson")
    in_force: int = Field(description="a version drafted from it was activated")


class PartnershipLessonsOut(Schema):
    definition: str
    outcomes: list[PartnershipLessonsRowOut]
    total: PartnershipLessonsRowOut


class PartnershipOut(SourceOut):
    year: int
    from_: date = Field(..., alias="from")
    to: date
    k: int
    indicators: list[IndicatorOut] = Field(
        description="the partnership indicators, after disclosure control"
    )
    contact_points: PartnershipContactPointsOut
    meetings: PartnershipMeetingsOut
    lessons: PartnershipLessonsOut


def _vacancies(row) -> dict:
    return {
        "organisation_type": row.code,
        "label": row.label,
        "organisations": row.organisations,
        "never_with_contact_point": row.without_any,
        "functions": row.functions,
        "functions_with_days_without_anybody": row.vacant,
        "days_without_anybody": row.days,
        "longest_days_without_anybody": row.longest,
        "without_anybody_at_end": row.at_end,
    }


def _lessons(row) -> dict:
    return {
        "outcome": row.code,
        "label": row.label,
        "recorded": row.recorded,
        "acted_on": row.acted_on,
        "in_force": row.in_force,
    }


def _network(figures: NetworkFigures) -> dict:
    definitions = figures.definitions
    return {
        "contact_points": {
            "definition": definitions["contact_points"],
            "counted_to": figures.last_counted,
            "types": [_vacancies(row) for row in figures.vacancies],
            "total": _vacancies(figures.vacancy_total),
        },
        "meetings": {
            "definition": definitions["attendance"],
            "held": [
                {"kind": kind, "label": str(label), "held": figures.meetings_held[kind]}
                for kind, label in figures.meeting_kinds
            ],
            "organisations": [
                {
                    "organisation": row.code,
                    "name": row.organisation,
                    "organisation_type": row.organisation_type,
                    "invited": row.invited,
                    "attended": row.attended,
                    "not_recorded": row.unrecorded,
                    "share_attended": row.share,
                    "quarters": [
                        {"attended": attended, "invited": invited}
                        for attended, invited in row.quarters
                    ],
                }
                for row in figures.attendance
            ],
        },
        "lessons": {
            "definition": definitions["lessons"],
            "outcomes": [_lessons(row) for row in figures.lessons],
            "total": _lessons(figures.lessons_total),
        },
    }


@router.get("/partnership", response=PartnershipOut, by_alias=True)
def stats_partnership(request, query: Query[PartnershipQuery]):
    """Partnership health for one calendar year, as on the page: the partnership indicators
    of the whole network after disclosure control, and the network's own figures (contact
    points, meetings, lessons learned), each with its definition. For whoever may see the
    network's statistics (403 otherwise); a year without any figure answers 422 naming
    ``year``."""
    board = selectors.partnership(request.auth, year=query.year, purpose="api")
    return {
        "year": board.period.first.year,
        "from": board.period.first,
        "to": board.period.last,
        "k": board.k,
        **export.source_dict(board),
        "indicators": [export.published_dict(item) for item in board.indicators],
        **_network(board.network),
    }
