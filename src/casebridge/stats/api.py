"""Statistics API: the same protected tables as the pages, and the same files."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from casebridge.apischema import Day, Input, QueryInt
from casebridge.stats import export, report, selectors

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
    row_heading: str
    column_heading: str
    rows: list[str]
    columns: list[str]
    cells: list[list[ValueOut]]
    row_totals: list[ValueOut] | None
    column_totals: list[ValueOut] | None
    total: ValueOut
    medians: list[MedianOut]
    caveats: list[str] = Field(
        ..., description="what a reader must know beside the figures (outcome tables)"
    )
    notices: list[NoticeOut] = Field(
        ..., description="e.g. a year whose closed cases hold no outcome judgements"
    )


class DashboardOut(Schema):
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
