"""Indicators against counts computed in Python from the same rows (an independent oracle)."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.utils import timezone

from casebridge.audit.models import AuditEvent
from casebridge.cases.models import Case, Goal, Handover
from casebridge.hotline.models import Contact, Referral
from casebridge.sharing.models import Obligation
from casebridge.stats import indicators, selectors

pytestmark = pytest.mark.django_db


def _window(**narrowing):
    """The last twelve whole months and this one: the monthly figures count whole local
    calendar months, as every period a dashboard, export or report asks for is."""
    today = timezone.localdate()
    period = selectors.period_of(date(today.year - 1, today.month, 1), today)
    return indicators.Filters(period.start, period.end, **narrowing)


def _cells(result) -> dict[str, int]:
    return {row: line[0] for row, line in zip(result.table.rows, result.table.cells, strict=True)}


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
    assert sum(_cells(indicators.contacts_by_state(filters)).values()) == total.count()
    state = next(s for s in indicators.states() if s[1] == "DE-BY")
    ids = indicators.state_region_ids(state[0])
    narrowed = _window(state_region_ids=ids)
    cells = _cells(indicators.contacts_by_state(narrowed))
    assert set(cells) == {state[2], "not recorded"}
    assert cells[state[2]] == total.filter(person_region__in=ids).count()


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
    assert [line[0] for line in result.table.cells] == expected
    accepted = [
        (timezone.localdate(r.responded_at) - timezone.localdate(r.sent_at)).days
        for r in Referral.objects.filter(
            contact__started_at__gte=filters.start,
            contact__started_at__lt=filters.end,
            status="accepted",
            responded_at__isnull=False,
        )
    ]
    figure = next(m for m in result.medians if m.label == "referral → accepted")
    assert figure.count == len(accepted) > 10
    assert figure.value == statistics.median(accepted)
    to_case = [
        (timezone.localdate(c.opened_at) - timezone.localdate(c.referral.sent_at)).days
        for c in Case.objects.filter(
            referral__contact__started_at__gte=filters.start,
            referral__contact__started_at__lt=filters.end,
        ).select_related("referral")
    ]
    figure = next(m for m in result.medians if m.label == "referral → case")
    assert (figure.count, figure.value) == (len(to_case), statistics.median(to_case))


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
    funnel = indicators.referral_funnel(filters)
    assert sum(line[0] for line in funnel.table.cells) == seen.count()
    assert funnel.table.cells[0][0] == 0  # a contact it saw was referred, at least to it


def test_cases_goals_continuity_and_obligations_match_the_rows(stats_data):
    now = timezone.now()
    filters = indicators.Filters(now - timedelta(days=3000), now + timedelta(days=1))
    cases = list(Case.objects.all())
    active = [c for c in cases if c.opened_at < filters.end]
    phases = _cells(indicators.cases_by_phase(filters))
    assert sum(phases.values()) == len(active)
    closed = [c for c in cases if c.closed_at]
    durations = _cells(indicators.cases_by_duration(filters))
    assert sum(durations.values()) == len(closed)
    short = sum(1 for c in closed if (c.closed_at - c.opened_at).days < 90)
    assert durations["under 3 months"] == short
    goals = indicators.goals_by_status(filters).table
    assert goals.cells[1][1] == Goal.objects.filter(horizon="long_term", status="reached").count()
    changes = _cells(indicators.lead_worker_changes(filters))
    per_case = {c.pk: 0 for c in active}
    for handover in Handover.objects.select_related("participant"):
        per_case[handover.participant.case_id] += 1
    assert changes["three or more"] == sum(1 for n in per_case.values() if n >= 3)
    assert changes["none"] == sum(1 for n in per_case.values() if n == 0)
    lead = _cells(indicators.cases_without_lead(filters))
    assert sum(lead.values()) == sum(1 for c in cases if c.closed_at is None)
    outcomes = _cells(indicators.obligations_compliance(filters))
    due = [o for o in Obligation.objects.all() if filters.start <= o.due_at < filters.end]
    on_time = [o for o in due if o.status == "fulfilled" and o.fulfilled_at <= o.due_at]
    assert outcomes["met on time"] == len(on_time)
    assert sum(outcomes.values()) == len(due)


def test_the_coordinator_sees_the_network_protected_and_the_call_is_audited(stats_data, personas):
    board = selectors.dashboard(
        personas.coordinator, first=date.today() - timedelta(days=1500), last=date.today()
    )
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
    board = selectors.dashboard(
        personas.partner, first=date.today() - timedelta(days=1500), last=date.today()
    )
    cases = next(i for i in board.indicators if i.code == "cases_by_phase")
    owned = Case.objects.filter(owner=organisation).count()
    assert cases.table.total.value in (owned, None) and (owned >= 5) == (
        cases.table.total.value is not None
    )


def test_people_without_a_statistics_role_are_refused(personas):
    for user in (personas.police, personas.outsider, personas.prison_expired):
        with pytest.raises(PermissionDenied):
            selectors.dashboard(user)


def test_small_medians_are_withheld(personas):
    board = selectors.dashboard(personas.coordinator, codes=["cases_by_duration"])
    (median,) = board.indicators[0].medians
    assert median.value is None and median.count_below_k


def test_bad_periods_and_states_name_the_field(personas):
    with pytest.raises(ValidationError) as error:
        selectors.dashboard(personas.coordinator, first=date(2026, 5, 1), last=date(2026, 1, 1))
    assert "to" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        selectors.dashboard(personas.coordinator, state_code="XX")
    assert "state" in error.value.message_dict


def test_periods_are_whole_months():
    period = selectors.period_of(date(2026, 2, 3), date(2026, 2, 14))
    assert (period.first, period.last) == (date(2026, 2, 1), date(2026, 2, 28))
