"""``casebridge stats report``: the annual report for operators."""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from casebridge.stats import aggregates, indicators, outcome_figures, report, selectors

OPTION = {"year": "--year", "state": "--state"}


class Command(BaseCommand):
    help = (
        "Statistics for operators. 'report' writes the annual report of the whole network "
        "(the dashboard's figures after disclosure control) as PDF, CSV or XLSX; 'rebuild' "
        "counts the monthly figures (contacts, and the outcomes of closed cases) again from "
        "the data (after a bulk import or a restore)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        report = sub.add_parser(
            "report",
            help="the annual report of the whole network (audited as stats.report)",
        )
        report.add_argument("--year", type=int, required=True, help="calendar year, e.g. 2026")
        report.add_argument("--format", dest="fmt", choices=["pdf", "csv", "xlsx"], default="pdf")
        report.add_argument(
            "--output",
            default="",
            help="file to write ('-' for standard output); default: the report's own name "
            "(annual-report-2026.pdf, statistics-2026.xlsx) in this directory",
        )
        report.add_argument("--state", default="", help="one federal state, e.g. DE-HH")
        sub.add_parser(
            "rebuild",
            help="count every month's figures again from the contacts, referrals and cases",
        )
        report.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="language of the labels (default: LANGUAGE_CODE)",
        )

    def handle(self, *args, action, **options):
        if action == "rebuild":
            months = aggregates.rebuild_all()
            closings = outcome_figures.rebuild_all()
            self.stdout.write(
                f"built the figures of {months} month(s) and the outcome figures of "
                f"{closings} month(s) of closing"
            )
            return
        self.report(**options)

    def report(self, *, year, fmt, output, state, language, **options):

        with translation.override(language):
            try:
                board = selectors.annual_report(year=year, state_code=state or None, fmt=fmt)
            except ValidationError as error:
                raise CommandError(_message(error)) from None
            body, _content_type = report.render(board, fmt)
            name = output or report.filename(board, fmt)
        if name == "-":
            sys.stdout.buffer.write(body)
            sys.stdout.flush()
            return
        target = Path(name)
        try:
            target.write_bytes(body)
        except OSError as exc:
            raise CommandError(f"--output: cannot write {target}: {exc.strerror}") from None
        indicators = len(board.indicators)
        self.stdout.write(f"wrote {target} ({fmt}, {indicators} indicators, k={board.k})")


def _message(error: ValidationError) -> str:

    lines = []
    for field, messages in error.message_dict.items():
        text = " ".join(messages)
        if field == "state":
            text += " (" + ", ".join(code for _id, code, _label in indicators.states()) + ")"
        lines.append(f"{OPTION.get(field, field)}: {text}")
    return "; ".join(lines)
