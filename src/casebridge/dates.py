"""Local calendar days as instants, for filtering indexed date-time columns.

A filter such as ``started_at__date__gte=day`` casts every row's value (on SQLite through
a Python function, on PostgreSQL past the index); ``local_midnight`` turns the day into
the instant the column is compared with instead.
"""

from __future__ import annotations

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
