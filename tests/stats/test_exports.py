"""XLSX and the PDF report from the dashboard page and the API: read back, same figures."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from casebridge.audit.models import AuditEvent
from casebridge.stats import charts, indicators
from casebridge.stats.report import printable

pytestmark = pytest.mark.django_db

YEAR = date.today().year  # statistics are published per calendar year
FILTERS = {"year": YEAR, "state": "DE-HB"}


def _expected_sheet_rows(item) -> list[list]:
    """What a sheet's table must hold: published numbers, '•' for hidden ones."""

    def shown(value):
        return "•" if value.suppressed else value.value

    rows = []
    for label, line, row_total in item.lines:
        values = [shown(v) for v in line]
        if row_total is not None:
            values.append(shown(row_total))
        rows.append([label, *values])
    if item.table.total is not None:  # the tables by dimension have no column margins
        footer = ["Total", *[shown(v) for v in item.table.column_totals or []]]
        rows.append([*footer, shown(item.table.total)])
    return rows


def test_xlsx_holds_a_sheet_per_indicator_with_the_protected_figures(stats_data, personas):
    client = personas.client(personas.coordinator)
    board = client.get("/stats/", FILTERS).context["board"]
    response = client.get("/stats/", {**FILTERS, "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(response.content))
    # a state's file: every indicator published per state (partnership health is the
    # network's only)
    per_state = [i.code for i in indicators.INDICATORS if i.by_state]
    assert book.sheetnames == ["Overview", *per_state]
    overview = [[c for c in row if c is not None] for row in book["Overview"].values]
    assert ["Threshold k", "5"] in overview
    assert any(str(row[0]).startswith("• marks a number") for row in overview if row)
    hidden = 0
    for item in board.indicators:
        sheet = [list(row) for row in book[item.code].values]
        assert sheet[0][0] == item.title
        footer = 1 if item.table.total is not None else 0
        body = [
            [c for c in row if c is not None] for row in sheet[3 : 3 + len(item.lines) + footer]
        ]
        assert body == _expected_sheet_rows(item)
        numbers = [c for row in body for c in row[1:] if isinstance(c, int)]
        assert all(n == 0 or n >= board.k for n in numbers)
        hidden += sum(row.count("•") for row in body)
        assert str(sheet[-1][0]).startswith("• marks a number")
    assert hidden > 0  # Bremen over the period has small cells, hidden in the file too
    event = AuditEvent.objects.filter(action="stats.export").latest("id")
    assert event.details["state"] == "DE-HB"


def _pdf_text(content: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(content))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_report_from_the_page_has_every_indicator_chart_and_figure(stats_data, personas):
    client = personas.client(personas.coordinator)
    board = client.get("/stats/", FILTERS).context["board"]
    response = client.get("/stats/", {**FILTERS, "format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader, text = _pdf_text(response.content)
    assert reader.metadata.title == f"Annual report {YEAR}"
    assert "Bremen" in text and "Threshold k: 5" in text
    assert "• marks a number" in text.replace("\n", " ")
    position = 0
    for item in board.indicators:
        found = text.find(printable(item.title), position)
        assert found >= 0, item.title
        position = found
    flat = " ".join(text.split())
    for item in board.indicators:
        for _label, line, _total in item.lines:
            for value in line:
                if not value.suppressed and value.value >= 100:
                    assert str(value.value) in flat
    # the bar charts: one filled rectangle per published non-zero bar, in the bar colour; a
    # sparse table (few of many fixed rows hold anything) has its table only
    bars = sum(
        1
        for item in board.indicators
        if not item.sparse
        for _label, value in charts.series(item.table, item.chart_column)
        if value.value
    )
    drawn = sum(page.get_contents().get_data().count(b" re f") for page in reader.pages)
    assert drawn == bars


def test_a_calendar_year_is_called_the_annual_report(stats_data, personas):
    client = personas.client(personas.coordinator)
    year = date.today().year
    response = client.get(
        "/stats/", {"date_from": f"{year}-01-01", "date_to": f"{year}-12-31", "format": "pdf"}
    )
    assert response["Content-Disposition"] == f'attachment; filename="annual-report-{year}.pdf"'
    reader, text = _pdf_text(response.content)
    assert reader.metadata.title == f"Annual report {year}"
    assert f"Annual report {year}" in text


def test_the_page_offers_the_downloads_and_bad_filters_give_no_file(stats_data, personas):
    client = personas.client(personas.coordinator)
    html = client.get("/stats/", FILTERS).content.decode()
    for fmt in ("pdf", "xlsx", "csv"):
        assert f"format={fmt}" in html
    response = client.get("/stats/", {"year": "1999", "format": "xlsx"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_partner_report_holds_only_its_own_organisation(stats_data, personas):
    client = personas.client(personas.partner)
    organisation = personas.partner.memberships.get().organisation
    response = client.get("/stats/", {"year": YEAR, "format": "pdf"})
    assert response.status_code == 200
    _reader, text = _pdf_text(response.content)
    assert organisation.name in " ".join(text.split())
    assert "whole network" not in text
    assert client.get("/stats/", {"scope": "network", "format": "pdf"}).status_code == 400


def test_api_exports_the_same_files(stats_data, personas):
    client = personas.client(personas.coordinator)
    response = client.get("/api/v1/stats/export", {"format": "xlsx", "year": YEAR})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert "referral_funnel" in book.sheetnames
    response = client.get("/api/v1/stats/export", {"format": "pdf", "year": YEAR})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    response = client.get("/api/v1/stats/export", {"format": "doc"})
    assert response.status_code == 422 and "format" in response.json()["fields"]
    assert AuditEvent.objects.filter(action="stats.api").exists()


@pytest.mark.parametrize("name", ["police", "outsider", "prison_expired"])
def test_others_get_no_files(personas, name):
    client = personas.client(getattr(personas, name))
    assert client.get("/stats/", {"format": "pdf"}).status_code == 403
    assert client.get("/api/v1/stats/export", {"format": "xlsx"}).status_code == 403
