"""Server-rendered bar charts: geometry for an SVG template, no JavaScript, no styles."""

from __future__ import annotations

from dataclasses import dataclass

from casebridge.stats.disclosure import ProtectedTable, Value

BAR = 24
GAP = 6
LABEL_WIDTH = 260
PLOT_WIDTH = 420
VALUE_WIDTH = 60


@dataclass
class Bar:
    label: str
    value: Value
    y: int
    width: int
    text_y: int


@dataclass
class Chart:
    width: int
    height: int
    label_width: int
    bars: list[Bar]
    bar: int = BAR  # the height of a bar


def series(table: ProtectedTable, column: int | None = None) -> list[tuple[str, Value]]:
    """What a chart shows: the cells of a one-column table, else the row totals — or the
    cells of ``column`` where the indicator names one (its rows share one total)."""
    if column is not None:
        return [(label, line[column]) for label, line in zip(table.rows, table.cells, strict=True)]
    if table.one_dimensional:
        return [(label, line[0]) for label, line in zip(table.rows, table.cells, strict=True)]
    return list(zip(table.rows, table.row_totals or [], strict=True))


def bar_chart(table: ProtectedTable, column: int | None = None) -> Chart:
    """Horizontal bars scaled to the largest published value; hidden values get no bar."""
    points = series(table, column)
    largest = max((value.value for _label, value in points if value.value), default=0)
    bars = []
    for index, (label, value) in enumerate(points):
        y = index * (BAR + GAP)
        width = round(PLOT_WIDTH * value.value / largest) if largest and value.value else 0
        bars.append(Bar(label, value, y, width, y + BAR // 2 + 5))
    return Chart(
        width=LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        height=max(1, len(points)) * (BAR + GAP),
        label_width=LABEL_WIDTH,
        bars=bars,
    )
