"""``casebridge stats report``: the dashboard's figures for a year, as files, audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation
from django.utils.translation import gettext
from openpyxl import load_workbook
from pypdf import PdfReader

from casebridge.accounts.models import User
from casebridge.audit.models import AuditEvent
from casebridge.network.models import Lesson
from casebridge.stats import indicators, selectors

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = io.StringIO()
    call_command("stats", "report", *args, "--language", "en", stdout=out)
    return out.getvalue()


def test_the_report_has_the_coordinators_figures_for_the_year(stats_data, personas, tmp_path):
    year = timezone.localdate().year
    target = tmp_path / "report.csv"
    message = _run("--year", str(year), "--format", "csv", "--output", str(target))
    assert f"wrote {target}" in message
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0][:4] == ["# k", "5", "year", str(year)]
    board = selectors.dashboard(personas.coordinator, year=year)
    by_key = {(row[0], row[1], row[2]): row for row in rows[2:]}
    for item in board.indicators:
        for label, line in zip(item.table.rows, item.table.cells, strict=True):
            for column, cell in zip(item.table.columns, line, strict=True):
                assert by_key[(item.code, label, column)][3] == (
                    "" if cell.suppressed else str(cell.value)
                )
    event = AuditEvent.objects.filter(action="stats.report").latest("id")
    assert event.actor is None and event.actor_label == "system"
    assert event.details["format"] == "csv" and event.details["scope"] == "network"
    assert event.details["via"] == "command line"


def test_pdf_and_xlsx_reports_with_a_state(stats_data, tmp_path, monkeypatch):
    year = timezone.localdate().year
    monkeypatch.chdir(tmp_path)
    _run("--year", str(year), "--state", "DE-HH")
    reader = PdfReader(tmp_path / f"annual-report-{year}.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    assert f"Annual report {year}" in text and "Hamburg" in text
    per_state = [i for i in indicators.INDICATORS if i.by_state]  # a state's report
    for indicator in per_state:
        assert " ".join(str(indicator.title).replace("→", "->").split()) in " ".join(text.split())
    assert "Partnership health" not in text
    _run("--year", str(year), "--format", "xlsx", "--output", "out.xlsx", "--state", "DE-HH")
    book = load_workbook(tmp_path / "out.xlsx")
    assert len(book.sheetnames) == 1 + len(per_state)
    assert ["Federal state", "Hamburg"] in [list(r)[:2] for r in book["Overview"].values]


def test_the_report_goes_to_standard_output_with_a_dash(stats_data, capsysbinary):
    call_command("stats", "report", "--year", "2025", "--format", "pdf", "--output", "-")
    assert capsysbinary.readouterr().out.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--year", "1999"], "--year"),
        (["--year", "nineteen"], "--year"),
        (["--year", "2026", "--format", "doc"], "--format"),
        (["--year", "2026", "--state", "XX"], "--state"),
        (["--year", "2026", "--output", "/nonexistent/dir/report.pdf"], "--output"),
        ([], "--year"),
    ],
)
def test_bad_arguments_name_the_option_and_write_nothing(db, args, option, tmp_path):
    # one lesson learned in 2026, so that the year has a figure and only the option is wrong
    author = User.objects.create_user(username="author", password="x" * 12)
    Lesson.objects.create(
        title="Rückmeldung",
        outcome=Lesson.Outcome.MIXED,
        what_happened="-",
        what_we_learned="-",
        what_we_change="-",
        author=author,
        created_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    before = AuditEvent.objects.filter(action="stats.report").count()
    with pytest.raises(CommandError) as error:
        _run(*args)
    assert option in str(error.value)
    assert list(tmp_path.iterdir()) == []
    if option != "--output":
        assert AuditEvent.objects.filter(action="stats.report").count() == before


def test_a_year_without_any_figure_is_refused_naming_the_year(db, tmp_path):
    """Issue 20: a report for a period without data says so, in the user's language."""
    with pytest.raises(CommandError) as error:
        _run("--year", "2003", "--output", str(tmp_path / "report.pdf"))
    assert str(error.value) == "--year: Nothing was recorded in 2003: there is no figure to report."
    with pytest.raises(CommandError) as error:
        call_command("stats", "report", "--year", "2003", "--language", "de", stdout=io.StringIO())
    with translation.override("de"):
        german = gettext("Nothing was recorded in %(year)d: there is no figure to report.")
    assert str(error.value) == "--year: " + german % {"year": 2003}
    assert list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action="stats.report").exists()
