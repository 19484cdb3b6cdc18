"""Indicators against counts computed in Python from the same rows (an independent oracle)."""

from __future__ import annotations

import statistics
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.utils import timezone

from casebridge.accounts.models import Membership, Role
from casebridge.audit.models import AuditEvent
from casebridge.cases.models import Case, Goal, Handover
from casebridge.hotline.models import Contact, Referral
from casebridge.sharing.models import Obligation
from casebridge.stats import aggregates, indicators, selectors

pytestmark = pytest.mark.django_db


def _window(**narrowing):
    """This calendar year: statistics are published per calendar year."""
    period = selectors.period_of(None)
    return indicators.Filters(period.start, period.end, **narrowing)


def _all_slots(counts) -> list[int]:
    return [*counts.slots]


def _cells(counts, slots=None) -> dict[str, int]:
    """Row label -> count over the given slots (every state and none by default)."""
    cells = counts.cells(_all_slots(counts) if slots is None else slots)
    return {row: line[0] for row, line in zip(counts.rows, cells, strict=True)}


def _median(counts, label, state=None):
    return next((value, n) for found, value, n in counts.medians(state) if found == label)


def test_contacts_by_channel_match_the_rows(stats_data):
    filters = _window()
    expected: dict[str, int] = {}
    for contact in Contact.objects.filter(
        started_at__gte=filters.start, started_at__lt=filters.end
    ):
        label = contact.get_channel_display()
        expected[label] = expected.get(label, 0) + 1
    got = {k: v for k, v in _cells(indicators.contacts_by_channel(filters)).items() if v}
    assert got == expected
    assert sum(expected.values()) > 50


def test_contacts_by_state_sum_to_the_contacts_and_a_state_filter_narrows(stats_data):
    filters = _window()
    total = Contact.objects.filter(started_at__gte=filters.start, started_at__lt=filters.end)
    by_state = indicators.contacts_by_state(filters)
    assert sum(_cells(by_state).values()) == total.count()
    state = next(s for s in indicators.states() if s[1] == "DE-BY")
    ids = [region for region, owner in aggregates.state_regions().items() if owner == state[0]]
    cells = _cells(by_state, [state[0]])
    assert cells[state[2]] == total.filter(person_region__in=ids).count() > 0
    assert sum(cells.values()) == cells[state[2]]
    # every other indicator of the contacts counts the same contacts in that state
    channels = _cells(indicators.contacts_by_channel(filters), [state[0]])
    assert sum(channels.values()) == cells[state[2]]


def test_the_funnel_puts_each_contact_at_its_furthest_step(stats_data):
    filters = _window()
    expected = [0] * 5
    for contact in Contact.objects.filter(
        started_at__gte=filters.start, started_at__lt=filters.end
    ):
        referrals = list(Referral.objects.filter(contact=contact))
        if Case.objects.filter(referral__contact=contact).exists():
            expected[4] += 1
        elif any(r.first_appointment_on for r in referrals):
            expected[3] += 1
        elif any(r.status == "accepted" for r in referrals):
            expected[2] += 1
        elif referrals:
            expected[1] += 1
        else:
            expected[0] += 1
    result = indicators.referral_funnel(filters)
    assert list(_cells(result).values()) == expected
    accepted = [
        (timezone.localdate(r.responded_at) - timezone.localdate(r.sent_at)).days
        for r in Referral.objects.filter(
            contact__started_at__gte=filters.start,
            contact__started_at__lt=filters.end,
            status="accepted",
            responded_at__isnull=False,
        )
    ]
    value, count = _median(result, "referral → accepted")
    assert count == len(accepted) > 10
    assert value == statistics.median(accepted)
    to_case = [
        (timezone.localdate(c.opened_at) - timezone.localdate(c.referral.sent_at)).days
        for c in Case.objects.filter(
            referral__contact__started_at__gte=filters.start,
            referral__contact__started_at__lt=filters.end,
        ).select_related("referral")
    ]
    value, count = _median(result, "referral → case")
    assert (count, value) == (len(to_case), statistics.median(to_case))


def test_a_partners_contacts_and_funnel_are_those_referred_to_it(stats_data):
    """The partner scope counts each contact referred to it once, at the furthest step
    any of its referrals (to whomever) reached."""
    busiest = Referral.objects.values("partner").annotate(n=Count("id")).order_by("-n")[0]
    partner = busiest["partner"]
    filters = _window(organisation_id=partner)
    seen = Contact.objects.filter(
        started_at__gte=filters.start, started_at__lt=filters.end, referrals__partner=partner
    ).distinct()
    assert seen.count() >= 3
    channels = {k: v for k, v in _cells(indicators.contacts_by_channel(filters)).items() if v}
    expected: dict[str, int] = {}
    for contact in seen:
        expected[contact.get_channel_display()] = expected.get(contact.get_channel_display(), 0) + 1
    assert channels == expected
    funnel = _cells(indicators.referral_funnel(filters))
    assert sum(funnel.values()) == seen.count()
    assert funnel["no referral"] == 0  # a contact it saw was referred, at least to it


@pytest.mark.parametrize("years_ago", [0, 1])
def test_cases_goals_continuity_and_obligations_match_the_rows(stats_data, years_ago):
    period = selectors.period_of(timezone.localdate().year - years_ago)
    filters = indicators.Filters(period.start, period.end)
    cases = list(Case.objects.all())
    active = [
        c
        for c in cases
        if c.opened_at < filters.end and (c.closed_at is None or c.closed_at >= filters.start)
    ]
    phases = _cells(indicators.cases_by_phase(filters))
    assert sum(phases.values()) == len(active) > 10
    closed = [c for c in active if c.closed_at and c.closed_at < filters.end]
    durations = _cells(indicators.cases_by_duration(filters))
    assert sum(durations.values()) == len(closed) > 0
    short = sum(1 for c in closed if (c.closed_at - c.opened_at).days < 90)
    assert durations["under 3 months"] == short
    goals = indicators.goals_by_status(filters)
    reached = Goal.objects.filter(
        horizon="long_term", status="reached", case__in=[c.pk for c in active]
    )
    assert goals.cells([*goals.slots])[1][1] == reached.count()
    changes = _cells(indicators.lead_worker_changes(filters))
    per_case = {c.pk: 0 for c in active}
    for handover in Handover.objects.select_related("participant"):
        if handover.participant.case_id in per_case:
            per_case[handover.participant.case_id] += 1
    assert changes["three or more"] == sum(1 for n in per_case.values() if n >= 3)
    assert changes["none"] == sum(1 for n in per_case.values() if n == 0)
    lead = _cells(indicators.cases_without_lead(filters))
    still_open = [c for c in active if c.closed_at is None or c.closed_at >= filters.end]
    assert sum(lead.values()) == len(still_open) == len(active) - len(closed)
    outcomes = _cells(indicators.obligations_compliance(filters))
    due = [o for o in Obligation.objects.all() if filters.start <= o.due_at < filters.end]
    on_time = [o for o in due if o.status == "fulfilled" and o.fulfilled_at <= o.due_at]
    assert outcomes["met on time"] == len(on_time)
    assert sum(outcomes.values()) == len(due)


def test_the_coordinator_sees_the_network_protected_and_the_call_is_audited(stats_data, personas):
    board = selectors.dashboard(personas.coordinator)
    assert board.scope.organisation_id is None
    assert board.k == 5
    assert len(board.indicators) == len(indicators.INDICATORS)
    for item in board.indicators:
        for value in item.table.published().values():
            assert value == 0 or value >= board.k
    event = AuditEvent.objects.filter(action="stats.dashboard").latest("id")
    assert event.details["scope"] == "network"
    assert event.details["indicators"][0] == "contacts_by_caller_category"


def test_a_partner_sees_only_its_own_organisation(stats_data, personas):
    scopes = selectors.scopes_for(personas.partner)
    organisation = personas.partner.memberships.get().organisation
    assert [s.organisation_id for s in scopes] == [organisation.pk]
    with pytest.raises(ValidationError):
        selectors.dashboard(personas.partner, scope_key="network")
    board = selectors.dashboard(personas.partner)
    cases = next(i for i in board.indicators if i.code == "cases_by_phase")
    period = selectors.period_of(None)
    owned = (
        Case.objects.filter(owner=organisation, opened_at__lt=period.end)
        .exclude(closed_at__lt=period.start)
        .count()
    )
    # a total of k or more may still be hidden to protect a small one elsewhere
    assert cases.table.total.value in (owned, None)
    assert owned >= 5 or cases.table.total.value is None


def test_people_without_a_statistics_role_are_refused(personas):
    for user in (personas.police, personas.outsider, personas.prison_expired):
        with pytest.raises(PermissionDenied):
            selectors.dashboard(user)


def test_small_medians_are_withheld(personas):
    board = selectors.dashboard(personas.coordinator, codes=["cases_by_duration"])
    (median,) = board.indicators[0].medians
    assert median.value is None


def test_a_median_is_withheld_where_its_table_hides_a_number(stats_data, personas):
    """'Withheld for lack of values' would say a hidden count is small: a median is shown
    only where its table hides nothing."""
    board = selectors.dashboard(personas.coordinator)
    for item in board.indicators:
        for median in item.medians:
            if median.value is not None:
                assert item.table.suppressed_count == 0


def test_bad_years_and_states_name_the_field(personas):
    for year in (1999, timezone.localdate().year + 2):
        with pytest.raises(ValidationError) as error:
            selectors.dashboard(personas.coordinator, year=year)
        assert "year" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        selectors.dashboard(personas.coordinator, state_code="XX")
    assert "state" in error.value.message_dict


def test_periods_are_calendar_years():
    period = selectors.period_of(2026)
    assert (period.first, period.last) == (date(2026, 1, 1), date(2026, 12, 31))
    assert selectors.year_of_range(date(2025, 1, 1), date(2025, 12, 31)) == 2025
    for first, last in [
        (date(2025, 1, 1), date(2025, 11, 30)),
        (date(2025, 2, 1), date(2025, 12, 31)),
        (date(2025, 1, 1), date(2026, 12, 31)),
        (date(2025, 1, 1), None),
    ]:
        with pytest.raises(ValidationError) as error:
            selectors.year_of_range(first, last)
        assert "from" in error.value.message_dict


def test_a_persona_sees_the_network_or_its_own_organisation_never_both(personas):
    """An organisation's figures are part of the network's: side by side they could be
    subtracted. A coordinator who also counsels for an organisation sees the network."""
    organisation = personas.partner.memberships.get().organisation
    Membership.objects.create(
        user=personas.coordinator, organisation=organisation, role=Role.PARTNER_COUNSELLOR
    )
    assert [scope.key for scope in selectors.scopes_for(personas.coordinator)] == ["network"]
    with pytest.raises(ValidationError):
        selectors.dashboard(personas.coordinator, scope_key=f"org-{organisation.pk}")
