"""Database functions the indicators need on SQLite and PostgreSQL alike."""

from __future__ import annotations

import statistics

from django.db.models import Aggregate, FloatField, Func


class DaysBetween(Func):
    """Days from the first date/time expression to the second, as a fraction."""

    arity = 2
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        start, end = (compiler.compile(e) for e in self.get_source_expressions())
        return f"(julianday({end[0]}) - julianday({start[0]}))", (*end[1], *start[1])

    def as_postgresql(self, compiler, connection, **extra):
        start, end = (compiler.compile(e) for e in self.get_source_expressions())
        sql = (
            f"(EXTRACT(EPOCH FROM (CAST({end[0]} AS timestamptz) - "
            f"CAST({start[0]} AS timestamptz))) / 86400.0)"
        )
        return sql, (*end[1], *start[1])


class Median(Aggregate):
    """The median of a numeric expression: percentile_cont on PostgreSQL, a registered
    aggregate on SQLite (``register_sqlite_functions``)."""

    function = "CB_MEDIAN"
    name = "Median"
    output_field = FloatField()
    allow_distinct = False

    def as_postgresql(self, compiler, connection, **extra):
        # set on a copy, not passed as template=: Aggregate.as_sql passes its own template
        # when there is a filter (a FILTER clause), and twice is a TypeError
        clone = self.copy()
        clone.function = "percentile_cont"
        clone.template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
        return clone.as_sql(compiler, connection, **extra)


class _SqliteMedian:
    def __init__(self):
        self.values: list[float] = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return statistics.median(self.values) if self.values else None


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """Give every new SQLite connection the median aggregate (connection_created)."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("CB_MEDIAN", 1, _SqliteMedian)
