"""Published statistics as plain data: the API's body and the CSV rows come from here."""

from __future__ import annotations

import csv
import io

from casebridge.stats.disclosure import Value
from casebridge.stats.selectors import Dashboard, Published

CSV_COLUMNS = ["indicator", "row", "column", "value", "status"]


def _value(value: Value) -> dict:
    return {"value": value.value, "status": value.status}


def published_dict(item: Published) -> dict:
    table = item.table
    return {
        "code": item.code,
        "title": item.title,
        "row_heading": item.row_heading,
        "column_heading": item.column_heading,
        "rows": table.rows,
        "columns": table.columns,
        "cells": [[_value(cell) for cell in line] for line in table.cells],
        "row_totals": [_value(v) for v in table.row_totals] if table.row_totals else None,
        "column_totals": [_value(v) for v in table.column_totals] if table.column_totals else None,
        "total": _value(table.total),
        "medians": [
            {"label": m.label, "days": m.value, "withheld": m.count_below_k} for m in item.medians
        ],
    }


def dashboard_dict(board: Dashboard) -> dict:
    return {
        "scope": board.scope.key,
        "from": board.period.first,
        "to": board.period.last,
        "state": board.state[1] if board.state else None,
        "k": board.k,
        "indicators": [published_dict(item) for item in board.indicators],
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
            for column, v in zip(table.columns, table.column_totals or [], strict=True):
                yield [item.code, "total", column, v.value, v.status]
        yield [item.code, "total", "total", table.total.value, table.total.status]
        for m in item.medians:
            yield [
                item.code,
                f"median days: {m.label}",
                "",
                m.value,
                "withheld" if m.value is None else "published",
            ]


def to_csv(board: Dashboard) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["# k", board.k, "from", board.period.first, "to", board.period.last])
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows(board))
    return buffer.getvalue()
