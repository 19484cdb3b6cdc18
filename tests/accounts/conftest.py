"""The account-security tests move the clock instead of sleeping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone


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
