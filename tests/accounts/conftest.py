"""Helpers for the account-security tests: a movable clock and the case of tests/cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

# The multi-agency case of tests/cases serves the re-authentication tests too.
from tests.cases.conftest import world  # noqa: F401


class Clock:
    """Moves ``django.utils.timezone.now`` (sessions, locks, audit) forward without sleeping."""

    def __init__(self):
        self.offset = timedelta(0)

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + clock.offset)
    return clock
