"""Local calendar days as instants, for filtering indexed date-time columns.

A filter such as ``started_at__date__gte=day`` casts every row's value (on SQLite through
a Python function, on PostgreSQL past the index); ``local_midnight`` turns the day into
the instant the column is compared with instead.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone


def local_midnight(day: date) -> datetime:
    """The start of ``day`` in the current time zone, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_range(field: str, day_from: date | None, day_to: date | None) -> dict:
    """Filter keywords for ``field`` within the local days [day_from, day_to] (either open)."""
    bounds = {}
    if day_from:
        bounds[f"{field}__gte"] = local_midnight(day_from)
    if day_to:
        bounds[f"{field}__lt"] = local_midnight(day_to + timedelta(days=1))
    return bounds


def in_force(at, prefix: str = "") -> Q:
    """Rows valid at ``at``: begun (``valid_from``) and not yet ended (``valid_until``).
    Memberships and participations share this rule; ``prefix`` reaches it through a
    relation (``"participant__"``)."""
    return Q(**{f"{prefix}valid_from__lte": at}) & (
        Q(**{f"{prefix}valid_until__isnull": True}) | Q(**{f"{prefix}valid_until__gt": at})
    )


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day where it is shorter
    (31 January + 1 month = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))
