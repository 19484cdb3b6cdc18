"""Day filters compare the indexed column with local midnights, never a cast of each row."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from casebridge.audit.services import audit_record
from casebridge.dates import day_range, local_midnight
from casebridge.hotline import selectors
from casebridge.hotline.models import Contact
from casebridge.privacy.selectors import events_for_dpo


def test_a_day_range_is_from_local_midnight_to_the_next():
    bounds = day_range("at", date(2026, 3, 28), date(2026, 3, 29))  # DST begins on the 29th
    assert bounds["at__gte"] == local_midnight(date(2026, 3, 28))
    assert bounds["at__lt"] == local_midnight(date(2026, 3, 30))
    assert timezone.localtime(bounds["at__lt"]).hour == 0
    assert day_range("at", None, None) == {}


@pytest.mark.django_db
def test_the_contact_list_of_a_day_takes_the_local_day_and_casts_no_row(personas, make_contact):
    day = timezone.localdate() - timedelta(days=3)
    late = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(
        hours=23, minutes=30
    )
    inside = make_contact(started_at=late, ended_at=late + timedelta(minutes=10))
    after = make_contact(
        started_at=late + timedelta(hours=1), ended_at=late + timedelta(hours=1, minutes=5)
    )
    with CaptureQueriesContext(connection) as queries:
        found = selectors.contact_list(personas.hotline, day_from=day, day_to=day)
    assert [c.pk for c in found] == [inside.pk]
    assert after.pk in [c.pk for c in selectors.contact_list(personas.hotline, day_from=day)]
    listing = next(q["sql"] for q in queries if 'FROM "hotline_contact"' in q["sql"])
    assert "cast_date" not in listing.lower() and "::date" not in listing.lower()
    assert Contact.objects.count() == 2


@pytest.mark.django_db
def test_the_audit_log_of_a_day_casts_no_row(personas):
    # an event of today made here: the model loaded at the run's start may be of yesterday
    # when the run passes midnight (it did in CI)
    audit_record(actor=personas.dpo, action="audit.log.view", obj=None)
    today = timezone.localdate()
    with CaptureQueriesContext(connection) as queries:
        events = list(events_for_dpo(personas.dpo, day_from=today, day_to=today))
    assert events
    listing = [q["sql"] for q in queries if 'FROM "audit_auditevent"' in q["sql"]]
    assert listing and not any("cast_date" in sql.lower() for sql in listing)
