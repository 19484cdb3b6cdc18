"""Published statistics as plain data: the API's body, the CSV rows and the XLSX workbook
come from here (the PDF report from ``report.py``). Every one of them takes a ``Dashboard``
from ``selectors``, so nothing reaches a file that disclosure control has not seen."""

from __future__ import annotations

import csv
import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from casebridge.stats.disclosure import Value
from casebridge.stats.partnership import NetworkTable, network_tables
from casebridge.stats.selectors import Dashboard, Published

SUPPRESSED = "•"

CSV_COLUMNS = ["indicator", "row", "column", "value", "status"]


def _value(value: Value) -> dict:
    return {"value": value.value, "status": value.status}


def _notice(notice) -> dict:
    return {"field": notice.field, "message": notice.message}


def published_dict(item: Published, notices=()) -> dict:
    """An indicator as the API gives it, with its caveats and the notices about its group
    (``notices``: the dashboard's)."""
    table = item.table
    return {
        "code": item.code,
        "title": item.title,
        "definition": item.definition,
        "row_heading": item.row_heading,
        "column_heading": item.column_heading,
        "rows": table.rows,
        "columns": table.columns,
        "cells": [[_value(cell) for cell in line] for line in table.cells],
        "row_totals": [_value(v) for v in table.row_totals] if table.row_totals else None,
        "column_totals": [_value(v) for v in table.column_totals] if table.column_totals else None,
        "total": None if table.total is None else _value(table.total),
        "medians": [
            {"label": m.label, "days": m.value, "withheld": m.value is None} for m in item.medians
        ],
        "caveats": list(item.caveats),
        "notices": [_notice(n) for n in notices if n.group == item.group],
    }


def dashboard_dict(board: Dashboard) -> dict:
    return {
        "scope": board.scope.key,
        "year": board.period.first.year,
        "from": board.period.first,
        "to": board.period.last,
        "state": board.state[1] if board.state else None,
        "k": board.k,
        **source_dict(board),
        "notices": [_notice(notice) for notice in board.notices],
        "indicators": [published_dict(item, board.notices) for item in board.indicators],
    }


def source_dict(board: Dashboard) -> dict:
    """As of when the figures were counted, from which database, and the sentence that
    says so (``Dashboard.as_of``)."""
    if board.source is None:
        return {"as_of": None, "database": None, "as_of_text": ""}
    return {
        "as_of": board.source.as_of,
        "database": board.source.database,
        "as_of_text": board.as_of,
    }


def rows(board: Dashboard):
    """One CSV row per published or hidden value; hidden values have an empty value."""
    for item in board.indicators:
        table = item.table
        for label, line in zip(table.rows, table.cells, strict=True):
            for column, cell in zip(table.columns, line, strict=True):
                yield [item.code, label, column, cell.value, cell.status]
        if table.row_totals:
            for label, v in zip(table.rows, table.row_totals, strict=True):
                yield [item.code, label, "total", v.value, v.status]
        if table.column_totals:
            for column, v in zip(table.columns, table.column_totals, strict=True):
                yield [item.code, "total", column, v.value, v.status]
        if table.total is not None:
            yield [item.code, "total", "total", table.total.value, table.total.status]
        for m in item.medians:
            yield [
                item.code,
                f"median days: {m.label}",
                "",
                m.value,
                "withheld" if m.value is None else "published",
            ]
    # the network's own figures (no case, no disclosure control: status "network")
    for table in _network(board):
        for label, values in table.rows + ([table.footer] if table.footer else []):
            for column, value in zip(table.columns, values, strict=True):
                yield [f"network.{table.code}", label, column, value, "network"]


def _network(board: Dashboard) -> list[NetworkTable]:
    return network_tables(board.network) if board.network is not None else []


def to_csv(board: Dashboard) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    first = ["# k", board.k, "year", board.period.first.year]
    if board.source is not None:  # as of when, and from which database (``dbrouting``)
        first += ["as of", board.source.as_of.isoformat(), "database", board.source.database]
    writer.writerow(first)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows(board))
    return buffer.getvalue()


def suppression_note(k: int) -> str:
    return _(
        "• marks a number that is not shown to protect people: it is below %(k)d, or it "
        "would let a reader work out such a number from this or any other published table "
        "of the year. Medians are shown only when at least %(k)d values stand behind them "
        "and the numbers that count those values are shown."
    ) % {"k": k}


def description(board: Dashboard) -> list[tuple[str, str]]:
    """What a file holds: scope, year, state, threshold (for its first lines)."""
    return [
        (_("Data of"), board.scope.label),
        (_("Year"), str(board.period.first.year)),
        (_("Federal state"), board.state[2] if board.state else _("all states")),
        (_("Threshold k"), str(board.k)),
        *([(_("Counted"), board.as_of)] if board.as_of else []),
    ]


def filename(board: Dashboard, extension: str) -> str:
    return f"statistics-{board.period.first.year}.{extension}"


def _cell(value: Value):
    return SUPPRESSED if value.suppressed else value.value


def to_xlsx(board: Dashboard) -> bytes:
    """A workbook: an overview sheet, then one sheet per indicator (named by its code)."""
    book = Workbook()
    overview = book.active
    overview.title = _("Overview")[:31]
    bold = Font(bold=True)
    overview.append([_("Statistics")])
    overview["A1"].font = Font(bold=True, size=14)
    for label, value in description(board):
        overview.append([label, value])
    overview.append([])
    overview.append([suppression_note(board.k)])
    overview.cell(overview.max_row, 1).alignment = Alignment(wrap_text=True)
    overview.append([])
    overview.append([_("Sheet"), _("Indicator")])
    for cell in overview[overview.max_row]:
        cell.font = bold
    for item in board.indicators:
        overview.append([item.code, item.title])
    for table in _network(board):
        overview.append([table.code, table.title])
    overview.column_dimensions["A"].width = 32
    overview.column_dimensions["B"].width = 60
    for notice in board.notices:
        overview.append([notice.message])
    for item in board.indicators:
        _indicator_sheet(book.create_sheet(item.code[:31]), item, board.k)
    for table in _network(board):
        _network_sheet(book.create_sheet(table.code[:31]), table)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _indicator_sheet(sheet, item: Published, k: int) -> None:
    table = item.table
    bold = Font(bold=True)
    sheet.append([item.title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([item.definition] if item.definition else [])
    if table.one_dimensional:
        header = [item.row_heading, _("Count")]
    else:
        header = [item.row_heading, *table.columns, _("Total")]
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for label, line, row_total in item.lines:
        values = [_cell(v) for v in line]
        if row_total is not None:
            values.append(_cell(row_total))
        sheet.append([label, *values])
        sheet.cell(sheet.max_row, 1).font = bold
    if table.total is not None:
        footer = [_("Total")]
        if table.column_totals:
            footer += [_cell(v) for v in table.column_totals]
        footer.append(_cell(table.total))
        sheet.append(footer)
        for cell in sheet[sheet.max_row]:
            cell.font = bold
    if item.medians:
        sheet.append([])
        for median in item.medians:
            sheet.append(
                [
                    _("Median days, %(step)s") % {"step": median.label},
                    SUPPRESSED if median.value is None else median.value,
                ]
            )
    sheet.append([])
    for text in item.caveats:
        sheet.append([text])
    sheet.append([suppression_note(k)])
    sheet.column_dimensions["A"].width = 40
    for index in range(2, len(header) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 16


def _network_sheet(sheet, table: NetworkTable) -> None:
    """One of the network's own figures (partnership health): title, definition, table."""
    bold = Font(bold=True)
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([table.definition])
    sheet.cell(2, 1).alignment = Alignment(wrap_text=True)
    if table.note:
        sheet.append([table.note])
    sheet.append([table.row_heading, *table.columns])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for label, values in table.rows:
        sheet.append([label, *values])
    if table.footer:
        sheet.append([table.footer[0], *table.footer[1]])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
    sheet.column_dimensions["A"].width = 40
    for index in range(2, len(table.columns) + 2):
        sheet.column_dimensions[get_column_letter(index)].width = 16
