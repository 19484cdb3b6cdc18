"""Helpers for the account-security tests: a movable clock and TOTP codes."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.oath import totp

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


def code_for(key: bytes, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for ``key`` (``steps_ahead`` 30-second steps on:
    a device accepts each time step once, and one step of drift)."""
    return f"{totp(key, drift=steps_ahead):06d}"


def key_of(secret_shown: str) -> bytes:
    """The key behind the base32 secret an enrolment page shows (spaces as printed)."""
    text = secret_shown.replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))
