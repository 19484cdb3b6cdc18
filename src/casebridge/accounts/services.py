"""Writes for users, memberships and API tokens; each one audited in its transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.accounts.models import ApiToken, Membership, Role, User
from casebridge.audit.services import audit_record
from casebridge.changes import assign_changes
from casebridge.network.models import Organisation

USER_FIELDS = ("first_name", "last_name", "email", "language", "time_zone")
TOKEN_PREFIX = "cb_"  # noqa: S105 - a public marker, not a secret


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    password: str,
    language: str = "de",
) -> User:
    """Create an account; the password must pass the configured validators."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is already taken.")})
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        language=language,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.full_clean()
    user.save()
    audit_record(actor=actor, action="accounts.user.create", obj=user)
    return user


@transaction.atomic
def user_update(*, actor, user: User, **fields) -> User:
    """Change a user's name, e-mail or preferences (only the given fields)."""
    changed = assign_changes(user, fields, allowed=USER_FIELDS)
    if changed:
        user.full_clean(exclude=["password", "username"])
        user.save(update_fields=changed)
        audit_record(
            actor=actor, action="accounts.user.update", obj=user, details={"fields": changed}
        )
    return user


@transaction.atomic
def user_set_active(*, actor, user: User, active: bool) -> User:
    """Enable or disable an account; disabling ends its sessions and revokes its tokens."""
    if user.pk == getattr(actor, "pk", None) and not active:
        raise ValidationError({"is_active": _("You cannot disable your own account.")})
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    revoked = 0
    ended = 0
    if not active:
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        ended = _end_sessions(user)
    audit_record(
        actor=actor,
        action="accounts.user.enable" if active else "accounts.user.disable",
        obj=user,
        details={"tokens_revoked": revoked, "sessions_ended": ended},
    )
    return user


def _end_sessions(user: User) -> int:
    # Sessions are signed blobs keyed by id; the user id is only inside, so decode each
    # live one. Fine for the numbers of staff sessions this system has.
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def membership_add(
    *,
    actor,
    user: User,
    organisation: Organisation,
    role: str,
    job_title: str = "",
    valid_until: datetime | None = None,
) -> Membership:
    """Give a user a role in an organisation (optionally until a date)."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if valid_until is not None and valid_until <= timezone.now():
        raise ValidationError({"valid_until": _("The end must lie in the future.")})
    if Membership.objects.active().filter(user=user, organisation=organisation, role=role).exists():
        raise ValidationError({"role": _("The user already has this role in this organisation.")})
    # An ended membership with the same role is renewed rather than duplicated.
    membership, _created = Membership.objects.update_or_create(
        user=user,
        organisation=organisation,
        role=role,
        defaults={"job_title": job_title, "valid_from": timezone.now(), "valid_until": valid_until},
    )
    audit_record(
        actor=actor,
        action="accounts.membership.add",
        obj=membership,
        details={"user": user.pk, "organisation": organisation.pk, "role": role},
    )
    return membership


@transaction.atomic
def membership_end(*, actor, membership: Membership) -> Membership:
    """End a membership now; the record stays for history."""
    if not membership.is_active:
        raise ValidationError({"membership": _("This role has already ended.")})
    membership.valid_until = timezone.now()
    membership.save(update_fields=["valid_until"])
    audit_record(
        actor=actor,
        action="accounts.membership.end",
        obj=membership,
        details={"user": membership.user_id, "role": membership.role},
    )
    return membership


@transaction.atomic
def api_token_create(
    *, actor, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a personal token for ``actor``; return it with the secret, shown only once."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must lie in the future.")})
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=actor, name=name, prefix=prefix, digest=token_digest(secret), expires_at=expires_at
    )
    audit_record(actor=actor, action="accounts.token.create", obj=token)
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke a token of one's own; it stops working at once."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="accounts.token.revoke", obj=token)
    return token


def api_token_authenticate(secret: str) -> User | None:
    """Return the active user a presented token belongs to, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
