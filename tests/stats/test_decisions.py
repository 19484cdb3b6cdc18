"""Protection decisions are kept by what they depend on, shared, and solved again on change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from casebridge.stats import protection, publication, selectors
from casebridge.stats.models import Protection

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_process():
    """Forget what this process decided, as another app server would not know it."""
    publication.forget_kept_decisions()
    yield
    publication.forget_kept_decisions()


def _hidden(board) -> dict:
    return {item.code: item.table.statuses for item in board.indicators}


def test_a_decision_is_stored_and_another_process_takes_it_without_solving(
    stats_data, personas, fresh_process, monkeypatch
):
    first = selectors.dashboard(personas.coordinator)
    assert Protection.objects.count() == 1
    publication.forget_kept_decisions()

    def no_solving(*args, **kwargs):
        raise AssertionError("the stored decision should have been taken")

    monkeypatch.setattr(publication, "protect", no_solving)
    again = selectors.dashboard(personas.coordinator, state_code="DE-HB")
    same_network = selectors.dashboard(personas.coordinator)
    assert _hidden(same_network) == _hidden(first)
    assert any(item.table.suppressed_count for item in again.indicators)


def test_a_changed_count_is_decided_anew(stats_data, personas, fresh_process, make_contact):
    selectors.dashboard(personas.coordinator)
    make_contact()
    selectors.dashboard(personas.coordinator)
    assert Protection.objects.count() == 2


def test_each_scope_and_year_has_its_own_decision(stats_data, personas, fresh_process):
    selectors.dashboard(personas.coordinator)
    selectors.dashboard(personas.partner)
    selectors.dashboard(personas.coordinator, year=timezone.localdate().year - 1)
    assert Protection.objects.count() == 3


def test_the_worker_decides_this_years_network_figures_ahead(
    stats_data, personas, fresh_process, monkeypatch
):
    Protection.objects.create(
        digest="0" * 64, hidden=[], decided_at=timezone.now() - timedelta(days=8)
    )
    call_command("worker", "--once")
    assert list(Protection.objects.values_list("digest", flat=True)) != ["0" * 64]
    assert not Protection.objects.filter(digest="0" * 64).exists()  # a week old: forgotten
    publication.forget_kept_decisions()
    solved = []
    real = protection.protect

    def counting(*args, **kwargs):
        solved.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(publication, "protect", counting)
    selectors.dashboard(personas.coordinator)
    assert solved == []  # the coordinator's first view found it decided
