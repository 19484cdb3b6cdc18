"""Who must sign in with a second factor, and the pieces of the TOTP enrolment.

Required for an active membership as coordinator, data protection officer or
administrator, or in an organisation whose sector the cooperation model marks
``two_factor = true``. Whoever has enrolled voluntarily is asked as well. The devices are
django-otp's (TOTP and static backup codes); ``OTPMiddleware`` marks a session verified.
"""

from __future__ import annotations

import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from casebridge.accounts.models import Membership, Role, User
from casebridge.facts import fact

TWO_FACTOR_ROLES = (
    Role.COORDINATOR,
    Role.DATA_PROTECTION_OFFICER,
    Role.ADMINISTRATOR,
    Role.GUEST,  # an invited outside professional: a password and a second factor, always
)
BACKUP_CODES = 10


class TwoFactorPending(PermissionDenied):
    """A session-authenticated API request before the second factor was given."""


def two_factor_state(user) -> tuple[bool, bool]:
    """Return (required by role or sector, enrolled) for the user, in one query."""
    if not getattr(user, "is_authenticated", False):
        return False, False
    return fact(user, "two_factor", lambda: _derive_two_factor(user))


def _derive_two_factor(user) -> tuple[bool, bool]:
    memberships = (
        Membership.objects.active()
        .filter(user=OuterRef("pk"))
        .filter(Q(role__in=TWO_FACTOR_ROLES) | Q(organisation__type__sector__two_factor=True))
    )
    devices = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(required=Exists(memberships), enrolled=Exists(devices))
        .values_list("required", "enrolled")
        .first()
    ) or (False, False)
    return bool(row[0]), bool(row[1])


def two_factor_required(user) -> bool:
    return two_factor_state(user)[0]


def two_factor_pending(user) -> bool:
    """True while a signed-in user who needs a second factor has not given it here."""
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_verified", None) and user.is_verified():
        return False
    return any(two_factor_state(user))


def secret_base32(key_hex: str) -> str:
    """The secret as people type it into an authenticator app, in groups of four."""
    text = base64.b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def otpauth_url(user, key_hex: str) -> str:
    return TOTPDevice(user=user, key=key_hex).config_url


def qr_data_uri(text: str) -> str:
    """A QR code as an SVG data: URI, drawn on the server (no script, strict CSP)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
