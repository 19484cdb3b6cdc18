"""The monthly figures stay exact: every change through the services shows at the next
read, the rebuild takes in exactly the changes it saw, and histogram medians are medians."""

from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from casebridge.cases.services import case_open
from casebridge.hotline import services as hotline
from casebridge.stats import aggregates, indicators, selectors
from casebridge.stats.models import MonthBuild, MonthFigures, StaleMonth
from tests.builders import org

pytestmark = pytest.mark.django_db


def _months(first: date, last: date, **narrowing) -> indicators.Filters:
    """Whole months from ``first``'s to ``last``'s (the monthly figures count whole local
    months; dashboards ask for twelve of them at a time)."""
    start = aggregates.month_bounds(first.replace(day=1))[0]
    end = aggregates.month_bounds(last.replace(day=1))[1]
    return indicators.Filters(start, end, **narrowing)


def _this_month(**narrowing) -> indicators.Filters:
    return _months(timezone.localdate(), timezone.localdate(), **narrowing)


def _funnel(filters) -> list[int]:
    fresh = replace(filters, shared={})  # a Filters keeps what it read: one per dashboard
    counts = indicators.referral_funnel(fresh)
    return [line[0] for line in counts.cells([*counts.slots])]


def _medians(filters) -> dict:
    """The funnel's medians for the whole network: label -> (median, how many)."""
    counts = indicators.referral_funnel(replace(filters, shared={}))
    return {label: (value, n) for label, value, n in counts.medians(None)}


def _everything(filters, state_region_ids=None) -> dict:
    totals, by_state = aggregates.read(
        filters.start,
        filters.end,
        organisation_id=filters.organisation_id,
        state_region_ids=state_region_ids,
    )
    return {"totals": {k: dict(v) for k, v in totals.items() if v}, "states": dict(by_state)}


def test_each_service_change_shows_at_the_next_read(personas, make_contact):
    partner = org(personas.partner)
    network, scoped = _this_month(), _this_month(organisation_id=partner.pk)
    assert _funnel(network) == [0, 0, 0, 0, 0]  # built now, empty, and marked built
    assert MonthBuild.objects.filter(built_at__isnull=False).exists()

    make_contact()
    contact = make_contact(referral_to=partner)
    assert _funnel(network) == [1, 1, 0, 0, 0]
    assert _funnel(scoped) == [0, 1, 0, 0, 0]  # the partner sees the contact referred to it

    referral = contact.referrals.get()
    hotline.referral_accept(actor=personas.partner, referral=referral)
    assert _funnel(network) == [1, 0, 1, 0, 0]
    hotline.referral_appointment(
        actor=personas.partner, referral=referral, on=timezone.localdate() + timedelta(days=3)
    )
    assert _funnel(scoped) == [0, 0, 0, 1, 0]
    referral.refresh_from_db()
    case_open(actor=personas.partner, owner=partner, pseudonym="F. Test", referral=referral)
    assert _funnel(scoped) == [0, 0, 0, 0, 1]
    medians = _medians(_this_month())
    assert medians["referral → case"] == (0, 1)
    assert medians["accepted → first appointment"][0] == 3
    assert not StaleMonth.objects.exists()  # the reads took every change in


def test_moving_a_contact_to_another_month_counts_it_there(personas, make_contact):
    contact = make_contact()
    today = timezone.localdate()
    earlier = date(today.year - 1, today.month, 15)
    last_year = _months(earlier, earlier)
    before = aggregates.read(last_year.start, last_year.end)[0]["contacts"][aggregates.NONE]
    assert aggregates.read(*_bounds(_this_month()))[0]["contacts"][aggregates.NONE] == 1
    moved = timezone.make_aware(timezone.datetime.combine(earlier, timezone.datetime.min.time()))
    hotline.contact_update(
        actor=personas.hotline,
        contact=contact,
        values={"started_at": moved, "ended_at": moved + timedelta(minutes=5)},
    )
    assert aggregates.read(*_bounds(_this_month()))[0]["contacts"][aggregates.NONE] == 0
    after = aggregates.read(last_year.start, last_year.end)[0]["contacts"][aggregates.NONE]
    assert after == before + 1


def _bounds(filters):
    return filters.start, filters.end


def test_a_save_that_changes_no_statistical_field_marks_nothing(personas, make_contact):
    contact = make_contact(follow_up_on=timezone.localdate() + timedelta(days=2))
    aggregates.refresh_stale()
    assert not StaleMonth.objects.exists()
    hotline.follow_up_done(actor=personas.hotline, contact=contact)
    assert not StaleMonth.objects.exists()


def test_the_figures_always_equal_a_count_from_scratch(stats_data, personas):
    """After the bulk data (and forget_built_months()), reading builds every month; the
    result is what a build from nothing gives, for the network, a partner and a state."""
    today = timezone.localdate()
    period = _months(date(today.year - 2, 1, 1), today)
    busiest = org(personas.partner).pk
    hamburg = next(state for state in indicators.states() if state[1] == "DE-HH")
    in_hamburg = frozenset(
        region for region, state in aggregates.state_regions().items() if state == hamburg[0]
    )
    views = [
        (period, None),
        (replace(period, organisation_id=busiest), None),
        (period, in_hamburg),
    ]
    read = [_everything(view, states) for view, states in views]
    assert read[0]["totals"]["contacts"][aggregates.NONE] == stats_data["contacts"]
    MonthFigures.objects.all().delete()
    aggregates.rebuild_all()
    assert [_everything(view, states) for view, states in views] == read


def test_a_build_removes_only_the_marks_it_saw(monkeypatch, make_contact):
    make_contact()
    month = aggregates.month_of(timezone.now())
    seen = list(StaleMonth.objects.values_list("id", flat=True))
    assert seen
    counted = aggregates.count_month

    def count_while_a_change_lands(*args):
        StaleMonth.objects.create(month=month)  # as if committed while counting
        return counted(*args)

    monkeypatch.setattr(aggregates, "count_month", count_while_a_change_lands)
    assert aggregates.build_month(month) is True
    left = list(StaleMonth.objects.values_list("id", flat=True))
    assert len(left) == 1 and left[0] not in seen
    monkeypatch.setattr(aggregates, "count_month", counted)
    assert aggregates.build_month(month) is True  # the later change is taken in
    assert aggregates.build_month(month) is False  # and then the month is current


def test_the_worker_builds_stale_months(make_contact):
    make_contact()
    assert StaleMonth.objects.exists()
    call_command("worker", "--once")
    assert not StaleMonth.objects.exists()
    assert MonthFigures.objects.filter(organisation=0).exists()


def test_between_rounds_the_worker_counts_changed_months_every_stats_interval(
    monkeypatch, make_contact
):
    from casebridge.ops.management.commands import worker

    class Stop(Exception):
        pass

    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 1:
            make_contact()  # a change while the worker waits
            assert StaleMonth.objects.exists()
        if len(sleeps) == 2:
            assert not StaleMonth.objects.exists()  # counted after the first pause
            raise Stop

    monkeypatch.setattr(worker, "time", SimpleNamespace(sleep=sleep))  # this module's only
    with pytest.raises(Stop):
        call_command("worker", "--interval", "60", "--stats-interval", "20")
    assert sleeps == [20, 20]


def test_rebuild_command_counts_everything_again(make_contact, capsys):
    make_contact()
    MonthFigures.objects.all().delete()
    call_command("stats", "rebuild")
    assert "1 month" in capsys.readouterr().out
    total = aggregates.read(*_bounds(_this_month()))[0]["contacts"]
    assert total == {aggregates.NONE: 1}


def test_periods_must_be_whole_months():
    now = timezone.now()
    with pytest.raises(ValueError):
        aggregates.months_between(now - timedelta(days=30), now)


@given(st.lists(st.integers(min_value=-5, max_value=400), min_size=0, max_size=60))
def test_the_histogram_median_is_the_median(values):
    counts = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    median, n = aggregates.histogram_median(counts)
    assert n == len(values)
    assert median == (statistics.median(values) if values else None)


def test_a_dashboard_counts_changed_months_once_before_its_indicators(
    personas, make_contact, monkeypatch
):
    make_contact()
    calls = []
    counted = aggregates.refresh

    def refresh(months):
        calls.append(len(months))
        return counted(months)

    monkeypatch.setattr(aggregates, "refresh", refresh)
    board = selectors.dashboard(personas.coordinator)
    assert calls == [12]  # once, for the year's months, not again per indicator
    assert len(board.indicators) == len(indicators.INDICATORS)
    assert not StaleMonth.objects.exists()
    totals = aggregates.read(*_bounds(_this_month()), recount=False)[0]
    assert totals["contacts"] == {aggregates.NONE: 1}  # counted before the indicators read
