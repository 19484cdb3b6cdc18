"""The statistics report as a file: PDF (figures and charts), CSV or XLSX.

The dashboard page, the API and ``casebridge stats report`` all hand a ``Dashboard`` from
``selectors`` to ``render()``: the same protected figures in every format.

The PDF is drawn with reportlab (pure PyPI, no system libraries). The bar charts are drawn
with reportlab's own graphics from the same geometry as the page's SVG
(``charts.bar_chart``) rather than converting that SVG with svglib: the SVG is a Django
template styled with ``currentColor`` for the page's themes, so converting it would mean
rendering HTML templates into a PDF and adding svglib with its lxml/cssselect2 stack,
while the geometry is already at hand. Text uses Bitstream Vera, which ships inside
reportlab and is embedded, so umlauts survive and the text can be copied; the few
characters Vera lacks (arrows) are spelled out.
"""

from __future__ import annotations

import io
import os
from functools import cache
from xml.sax.saxutils import escape

import reportlab
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import (
    Table as PdfTable,
)

from casebridge.stats import charts, export
from casebridge.stats.partnership import NetworkTable, network_tables
from casebridge.stats.selectors import PARTNERSHIP_CODES, Dashboard, Published

FORMATS = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BAR_COLOUR = colors.HexColor("#2b6cb0")
FONT, BOLD = "CasebridgeVera", "CasebridgeVeraBold"

SPELLED_OUT = {"→": "->", "←": "<-"}


def render(board: Dashboard, fmt: str) -> tuple[bytes, str]:
    """Return the file's bytes and its content type; ``fmt`` is a key of ``FORMATS``."""
    if fmt == "csv":
        body = export.to_csv(board).encode()
    elif fmt == "xlsx":
        body = export.to_xlsx(board)
    elif fmt == "pdf":
        body = to_pdf(board)
    else:
        raise ValueError(fmt)
    return body, FORMATS[fmt]


def filename(board: Dashboard, fmt: str) -> str:
    """``annual-report-2026.pdf`` for the PDF, else ``statistics-2026.<format>``."""
    if fmt == "pdf":
        return f"annual-report-{board.period.first.year}.pdf"
    return export.filename(board, fmt)


def title(board: Dashboard) -> str:
    return _("Annual report %(year)d") % {"year": board.period.first.year}


@cache
def _fonts() -> None:
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    pdfmetrics.registerFont(TTFont(FONT, os.path.join(folder, "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, os.path.join(folder, "VeraBd.ttf")))


@cache
def _glyphs() -> frozenset[int]:
    _fonts()
    return frozenset(pdfmetrics.getFont(FONT).face.charToGlyph)


def printable(value) -> str:
    """Text the embedded font can show: arrows spelled out, anything else missing as '?'."""
    glyphs = _glyphs()
    out = []
    for char in str(value):
        char = SPELLED_OUT.get(char, char)
        out.append(char if len(char) > 1 or ord(char) in glyphs or char in "\n\t" else "?")
    return "".join(out)


def _para(text, style) -> Paragraph:
    return Paragraph(escape(printable(text)), style)


def _styles() -> dict[str, ParagraphStyle]:
    _fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=18, leading=22),
        "section": ParagraphStyle(
            "section", parent=body, fontName=BOLD, fontSize=15, leading=19, spaceBefore=12
        ),
        "heading": ParagraphStyle(
            "heading", parent=body, fontName=BOLD, fontSize=12, leading=15, spaceBefore=8
        ),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=10),
        "head": ParagraphStyle("head", parent=body, fontSize=HEAD_SIZE, leading=8.5),
    }


def _group_heading(group: str) -> str:
    """The heading over a group whose figures come with caveats."""
    return {"outcomes": _("Outcomes of closed cases: read with care")}.get(group, group)


def _value(value) -> str:
    return export.SUPPRESSED if value.suppressed else str(value.value)


def chart_drawing(item: Published, width: float) -> Drawing:
    """The page's bar chart (``charts.bar_chart``), scaled to ``width`` points."""
    chart = charts.bar_chart(item.shown, item.chart_column)
    scale = width / chart.width
    height = chart.height * scale
    drawing = Drawing(width, height)
    for bar in chart.bars:
        top = height - bar.y * scale  # SVG counts y downwards, PDF upwards
        baseline = height - bar.text_y * scale
        drawing.add(
            String(
                (chart.label_width - 8) * scale,
                baseline,
                printable(bar.label if len(bar.label) <= 30 else bar.label[:29] + "…"),
                fontName=FONT,
                fontSize=13 * scale,
                textAnchor="end",
            )
        )
        if bar.width:
            drawing.add(
                Rect(
                    chart.label_width * scale,
                    top - charts.BAR * scale,
                    bar.width * scale,
                    charts.BAR * scale,
                    fillColor=BAR_COLOUR,
                    strokeColor=None,
                )
            )
        drawing.add(
            String(
                (chart.label_width + bar.width + 6) * scale,
                baseline,
                _value(bar.value),
                fontName=FONT,
                fontSize=13 * scale,
            )
        )
    return drawing


def _table(item: Published, styles) -> PdfTable:
    table = item.table
    cell = styles["cell"]
    if table.one_dimensional:
        header = [item.row_heading, _("Count")]
    else:
        header = [item.row_heading, *table.columns, _("Total")]
    data = [[_para(header[0], cell), *(_para(text, styles["head"]) for text in header[1:])]]
    for label, line, row_total in item.lines:
        values = [_value(v) for v in line]
        if row_total is not None:
            values.append(_value(row_total))
        data.append([_para(label, cell), *values])
    if table.total is not None:  # the tables by dimension have no column margins
        footer = [_para(_("Total"), cell)]
        footer += [_value(v) for v in table.column_totals or []]
        footer.append(_value(table.total))
        data.append(footer)
    return _grid(data, header, footer=table.total is not None)


HEAD_SIZE, PADDING = 7, 3


def _widths(header: list[str]) -> list[float]:
    """Column widths: each figure column as wide as the longest word of its heading (so no
    word is split), at least 12 mm; the label column gets the rest, up to 60 mm, and what
    is left is shared among the figures. Many long headings share the page evenly."""
    usable = A4[0] - 40 * mm
    need = [
        max(
            12 * mm,
            max(
                (pdfmetrics.stringWidth(w, FONT, HEAD_SIZE) for w in printable(text).split()),
                default=0,
            )
            + 2 * PADDING
            + 1,
        )
        for text in header[1:]
    ]
    first = min(60 * mm, usable - sum(need))
    if first < 30 * mm:
        return [30 * mm] + [(usable - 30 * mm) / max(1, len(need))] * len(need)
    surplus = (usable - first - sum(need)) / max(1, len(need))
    return [first] + [width + surplus for width in need]


def _grid(data: list[list], header: list[str], *, footer: bool) -> PdfTable:
    """A table of the report: a header row, a first column of labels, figures right."""
    pdf = PdfTable(data, colWidths=_widths(header), repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (1, 0), (-1, -1), PADDING),
        ("RIGHTPADDING", (1, 0), (-1, -1), PADDING),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("GRID", (0, 0), (-1, -1), 0.2, colors.grey),
    ]
    if footer:
        style += [
            ("FONTNAME", (0, -1), (-1, -1), BOLD),
            ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black),
        ]
    pdf.setStyle(TableStyle(style))
    return pdf


PARTNERSHIP = "partnership"


def _indicator_block(item: Published, styles, width: float) -> list:
    """An indicator: title, definition, bar chart (not for a sparse table: its rows are
    few of many, and a chart of them could outgrow the page), table, medians."""
    block = [_para(item.title, styles["heading"])]
    if item.definition:
        block.append(_para(item.definition, styles["small"]))
    if not item.sparse:
        block.append(chart_drawing(item, width))
    block += [Spacer(1, 2 * mm), _table(item, styles)]
    if item.sparse:
        note = (
            _("Rows with nothing to count are left out.")
            if item.lines
            else _("Nothing was counted.")
        )
        block.append(_para(note, styles["small"]))
    for median in item.medians:
        shown = export.SUPPRESSED if median.value is None else f"{median.value}"
        block.append(
            _para(
                _("Median days, %(step)s") % {"step": median.label} + f": {shown}",
                styles["body"],
            )
        )
    return block


def _network_block(table: NetworkTable, styles) -> list:
    """One of the network's own figures: title, definition, note, table."""
    cell = styles["cell"]
    block = [_para(table.title, styles["heading"]), _para(table.definition, styles["small"])]
    if table.note:
        block.append(_para(table.note, styles["body"]))
    if not table.rows:
        return [*block, _para(_("Nothing was recorded in this year."), styles["body"])]
    header = [table.row_heading, *table.columns]
    data = [[_para(header[0], cell), *(_para(text, styles["head"]) for text in header[1:])]]
    for label, values in table.rows + ([table.footer] if table.footer else []):
        data.append([_para(label, cell), *(_para(_shown(v), cell) for v in values)])
    block += [Spacer(1, 2 * mm), _grid(data, header, footer=table.footer is not None)]
    return block


def _shown(value) -> str:
    return "–" if value is None else str(value)


def _partnership_section(board: Dashboard, items: list[Published], styles, width) -> list:
    """Partnership health (issue 20): its indicators with their definitions, the related
    figures named, then the network's own figures (in a file of the whole network)."""
    story = [
        _para(_("Partnership health"), styles["section"]),
        _para(
            _(
                "How the organisations of the network work together: flows of information "
                "in both directions, obligations kept per pair of organisation types, "
                "continuity of staff, contact points, meetings and lessons learned. Figures "
                "drawn from cases pass disclosure control; the network's own figures are "
                "about organisations and name no person."
            ),
            styles["body"],
        ),
    ]
    related = [
        item.title
        for item in board.indicators
        if item.code in PARTNERSHIP_CODES and item.group != PARTNERSHIP
    ]
    if related:
        story.append(
            _para(
                _("Related figures above, with their definitions: %(titles)s.")
                % {"titles": "; ".join(related)},
                styles["body"],
            )
        )
    for item in items:
        story.append(KeepTogether(_indicator_block(item, styles, width)))
    if board.network is not None:
        for table in network_tables(board.network):
            story.append(KeepTogether(_network_block(table, styles)))
    return story


def to_pdf(board: Dashboard) -> bytes:
    """The report: title, what it covers, the suppression note, then each indicator with its
    bar chart, its table and its medians; last the section "Partnership health"."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=printable(title(board)),
        author="casebridge",
        subject=printable(_("Statistics after disclosure control")),
    )
    story: list = [_para(title(board), styles["title"]), Spacer(1, 4 * mm)]
    for label, value in export.description(board):
        story.append(_para(f"{label}: {value}", styles["body"]))
    story.append(
        _para(
            _("Produced %(when)s.")
            % {"when": date_format(timezone.localtime(), "DATETIME_FORMAT")},
            styles["body"],
        )
    )
    story += [Spacer(1, 3 * mm), _para(export.suppression_note(board.k), styles["small"])]
    width = A4[0] - 40 * mm
    partnership = [item for item in board.indicators if item.group == PARTNERSHIP]
    introduced: set[str] = set()
    for item in board.indicators:
        if item.group == PARTNERSHIP:
            continue
        if item.caveats and item.group not in introduced:
            # the group's caveats once, before its first figure, and what its notices say
            introduced.add(item.group)
            story.append(_para(_group_heading(item.group), styles["heading"]))
            story += [
                _para(notice.message, styles["body"])
                for notice in board.notices
                if notice.group == item.group
            ]
            story += [_para(text, styles["small"]) for text in item.caveats]
        story.append(KeepTogether(_indicator_block(item, styles, width)))
    if partnership or board.network is not None:
        story += _partnership_section(board, partnership, styles, width)
    document.build(story)
    return buffer.getvalue()
