"""TOTP codes as an authenticator app would show them, for tests (django-otp's algorithm)."""

from __future__ import annotations

import base64

from django_otp.oath import totp


def code_for(key: bytes, *, steps_ahead: int = 0) -> str:
    """The code for ``key`` now, or ``steps_ahead`` 30-second steps on: a device accepts
    each time step only once and allows one step of drift."""
    return f"{totp(key, drift=steps_ahead):06d}"


def key_of(secret_shown: str) -> bytes:
    """The key behind the base32 secret an enrolment page shows (spaces as printed)."""
    text = secret_shown.replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))
