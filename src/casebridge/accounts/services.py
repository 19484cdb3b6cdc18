"""Writes for users, memberships and API tokens; each one audited in its transaction."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from casebridge.accounts.models import (
    ApiToken,
    ExternalIdentity,
    LoginFailure,
    LoginLockout,
    LoginScope,
    Membership,
    ProviderDevice,
    Role,
    User,
    login_key,
    organisation_model,
)
from casebridge.accounts.sso import Provider, Reason, Refused
from casebridge.accounts.stepup import credential, demand
from casebridge.accounts.two_factor import BACKUP_CODES, two_factor_required
from casebridge.audit.models import Outcome
from casebridge.audit.services import audit_record
from casebridge.changes import assign_changes
from casebridge.refusals import TokenRefused

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
    must_change_password: bool = True,
) -> User:
    """Create an account; the password must pass the configured validators. The person
    chooses their own password at the first sign-in (``must_change_password``): the one
    given here is known to whoever created the account."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is already taken.")})
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        language=language,
        must_change_password=must_change_password,
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
    organisation,
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
    """Create a personal token for ``actor``; return it with the secret, shown only once.

    Only a browser session that confirmed it is the user (or the operator's command line)
    creates tokens; a token never does (``accounts.stepup``). The token records where it
    came from and whether that session gave a second factor. No token lives longer than
    API_TOKEN_MAX_DAYS; without an expiry it gets that one.
    """
    demand("accounts.token.create", actor=actor)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    now = timezone.now()
    latest = now + timedelta(days=settings.API_TOKEN_MAX_DAYS)
    if expires_at is not None and expires_at <= now:
        raise ValidationError({"expires_at": _("The expiry must lie in the future.")})
    if expires_at is not None and expires_at > latest:
        raise ValidationError(
            {
                "expires_at": _("A token lives at most %(days)d days.")
                % {"days": settings.API_TOKEN_MAX_DAYS}
            }
        )
    expires_at = expires_at or latest
    source = credential()
    origin = {
        "command": ApiToken.Origin.COMMAND,
        "session": ApiToken.Origin.SESSION_API if source.api else ApiToken.Origin.PAGE,
    }[source.kind]
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=actor,
        name=name,
        prefix=prefix,
        digest=token_digest(secret),
        expires_at=expires_at,
        origin=origin,
        second_factor=source.second_factor,
        auth_hash=actor.get_session_auth_hash(),
    )
    audit_record(
        actor=actor,
        action="accounts.token.create",
        obj=token,
        details={
            "origin": origin,
            "second_factor": source.second_factor,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke a token of one's own; it stops working at once."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="accounts.token.revoke", obj=token)
    return token


def api_token_authenticate(secret: str) -> ApiToken | None:
    """Return the usable token a presented secret belongs to, or None.

    Checked at every use, not only at creation: revoked, expired, the account disabled or
    the password changed since (as sessions end) all answer None. A token made without a
    second factor is refused once the user's roles require one: it would outrank the
    session that created it.
    """
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    if not token.password_unchanged():
        return None
    if not token.second_factor and two_factor_required(token.user):
        # Said in the token user's language: the request has no other user to go by yet.
        with translation.override(token.user.language or None):
            raise TokenRefused(
                _(
                    "This token was created without a second factor, which your roles now "
                    "require. Sign in with your second factor and create a new token."
                )
            )
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


# -- Sign-in throttling ------------------------------------------------------------------


def _login_counters(username: str, address: str | None):
    """The (scope, key, limit) triples a sign-in attempt counts against."""
    window = settings.LOGIN_LOCKOUT_MINUTES
    yield (
        LoginScope.USERNAME,
        login_key("username", username.casefold()),
        (settings.LOGIN_FAILURE_LIMIT),
        window,
    )
    if address and settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        yield (
            LoginScope.ADDRESS,
            login_key("address", address),
            (settings.LOGIN_ADDRESS_FAILURE_LIMIT),
            window,
        )


def _account(username: str) -> User | None:
    # The same lookup as the authentication backend: exact, case-sensitive.
    return User.objects.filter(username=username).first()


@transaction.atomic
def login_failed(*, username: str, address: str | None, reason: str = "credentials") -> bool:
    """Count a failed sign-in; lock the username or address at its limit. True if locked.

    Audited with the account's id when the username is one, and without any name when
    it is not (an attempted name may be a password typed into the wrong field).
    """
    now = timezone.now()
    user = _account(username)
    locked = False
    for scope, key, limit, minutes in _login_counters(username, address):
        LoginFailure.objects.create(scope=scope, key=key, created_at=now)
        window_start = now - timedelta(minutes=minutes)
        last = LoginLockout.objects.filter(scope=scope, key=key).order_by("-locked_at").first()
        if last is not None and last.ends_at > now:
            locked = True
            continue
        since = max(window_start, last.ends_at) if last is not None else window_start
        failures = LoginFailure.objects.filter(scope=scope, key=key, created_at__gt=since).count()
        if failures >= limit:
            LoginLockout.objects.create(
                scope=scope,
                key=key,
                user=user if scope == LoginScope.USERNAME else None,
                locked_at=now,
                until=now + timedelta(minutes=minutes),
            )
            locked = True
            audit_record(
                actor=None,
                action="accounts.login.lock",
                obj=user if scope == LoginScope.USERNAME else None,
                outcome=Outcome.DENIED,
                details={"scope": scope, "failures": failures, "minutes": minutes},
            )
    # Old counters are of no use once outside every window.
    LoginFailure.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
    audit_record(
        actor=None,
        action="accounts.login.fail",
        obj=user,
        outcome=Outcome.DENIED,
        details={"reason": reason},
    )
    return locked


def login_locked(*, username: str, address: str | None) -> bool:
    """True while the username or the client address is locked."""
    now = timezone.now()
    keys = Q()
    for scope, key, _limit, _minutes in _login_counters(username, address):
        keys |= Q(scope=scope, key=key)
    return LoginLockout.objects.filter(keys, until__gt=now, lifted_at__isnull=True).exists()


@transaction.atomic
def login_succeeded(*, user: User) -> None:
    """Record a sign-in with the password; earlier failures of the username stop counting."""
    LoginFailure.objects.filter(
        scope=LoginScope.USERNAME, key=login_key("username", user.username.casefold())
    ).delete()
    audit_record(actor=user, action="accounts.login", obj=user)


@transaction.atomic
def login_unlock(*, actor, user: User) -> int:
    """Lift the locks on a user's username now; return how many were lifted."""
    now = timezone.now()
    lifted = LoginLockout.objects.filter(
        scope=LoginScope.USERNAME,
        key=login_key("username", user.username.casefold()),
        until__gt=now,
        lifted_at__isnull=True,
    ).update(lifted_at=now, lifted_by=actor)
    audit_record(actor=actor, action="accounts.login.unlock", obj=user, details={"locks": lifted})
    return lifted


# -- Two-factor authentication -----------------------------------------------------------


def _failed_code(*, user: User, stage: str) -> None:
    # Recorded in its own transaction: the attempt changes nothing, the record stays.
    audit_record(
        actor=user,
        action="accounts.2fa.fail",
        obj=user,
        outcome=Outcome.DENIED,
        details={"stage": stage},
    )


def two_factor_enrol(*, actor: User, key_hex: str, code: str) -> list[str]:
    """Confirm a new authenticator with a code it shows; return one-time backup codes.

    The secret stays in the session until the code matches: a wrong code saves nothing.
    """
    if TOTPDevice.objects.filter(user=actor, confirmed=True).exists():
        raise ValidationError(
            {"code": _("You have already set up an authenticator. An administrator can reset it.")}
        )
    totp = TOTP(bytes.fromhex(key_hex))
    if not _code_matches(totp, code):
        _failed_code(user=actor, stage="enrol")
        raise ValidationError({"code": _("This code does not match. Enter the current code.")})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=actor).delete()
        StaticDevice.objects.filter(user=actor).delete()
        device = TOTPDevice.objects.create(
            user=actor, name="authenticator", key=key_hex, confirmed=True, last_t=totp.t()
        )
        backup = StaticDevice.objects.create(user=actor, name="backup", confirmed=True)
        codes = [StaticToken.random_token() for _index in range(BACKUP_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=backup, token=c) for c in codes)
        audit_record(
            actor=actor,
            action="accounts.2fa.enrol",
            obj=actor,
            details={"device": device.pk, "backup_codes": len(codes)},
        )
    return codes


def _code_matches(totp: TOTP, code: str) -> bool:
    code = code.replace(" ", "")
    if not code.isdigit() or len(code) != totp.digits:
        return False
    totp.time = time.time()
    return totp.verify(int(code), tolerance=1)


def two_factor_verify(*, user: User, code: str, stage: str = "sign_in"):
    """Check a code from the authenticator or a backup code; return the device that took it.

    A backup code works once. Wrong codes are audited (never the code) and slow down
    further tries (django-otp's throttling).
    """
    code = code.replace(" ", "").strip().lower()
    matched = None
    throttled = False
    with transaction.atomic():
        # Six digits come from the authenticator; anything else is a backup code. Trying
        # only the matching kind keeps one kind's throttling from slowing the other.
        kind = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
        devices = kind.objects.devices_for_user(user, confirmed=True).select_for_update()
        for device in devices:
            allowed, _info = device.verify_is_allowed()
            if not allowed:
                throttled = True
                continue
            if code and device.verify_token(code):
                matched = device
                break
        if matched is not None:
            audit_record(
                actor=user,
                action="accounts.2fa.verify",
                obj=user,
                details={
                    "stage": stage,
                    "method": "backup" if isinstance(matched, StaticDevice) else "totp",
                },
            )
    if matched is None:
        _failed_code(user=user, stage=stage)
        raise ValidationError(
            {
                "code": _("Too many wrong codes. Wait a moment, then try again.")
                if throttled
                else _("This code is not valid.")
            }
        )
    return matched


@transaction.atomic
def two_factor_reset(*, actor, user: User) -> int:
    """Remove a user's authenticator and backup codes (lost phone); return how many went.

    Users who need a second factor set up a new one at their next sign-in.
    """
    removed = 0
    for model in (TOTPDevice, StaticDevice):
        # delete() counts the cascaded backup codes too; report devices only.
        removed += model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
    audit_record(actor=actor, action="accounts.2fa.reset", obj=user, details={"removed": removed})
    return removed


def reauthenticate(*, user: User, password: str, code: str, address: str | None) -> None:
    """Confirm it is the signed-in person: the password, and a code when they use 2FA.

    A wrong password counts towards the sign-in lock like a failed sign-in.
    """
    if not user.check_password(password):
        login_failed(username=user.username, address=address, reason="reauth")
        raise ValidationError({"password": _("The password is not correct.")})
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        two_factor_verify(user=user, code=code, stage="reauth")
    audit_record(actor=user, action="accounts.reauth", obj=user)


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> User:
    """The user chooses a new password (the current one first). Sessions elsewhere and API
    tokens end with it (they are bound to the password hash); the caller keeps the
    current session (``update_session_auth_hash``)."""
    errors: dict[str, list[str]] = {}
    if not user.check_password(old_password):
        errors["old_password"] = [_("This is not your current password.")]
    elif new_password == old_password:
        errors["new_password"] = [_("Choose a password different from the current one.")]
    else:
        try:
            validate_password(new_password, user)
        except ValidationError as exc:
            errors["new_password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit_record(actor=user, action="accounts.password.change", obj=user)
    return user


# -- Single sign-on ----------------------------------------------------------------------


def sso_refused(*, organisation_code: str, reason: str, user: User | None = None) -> None:
    """Record a refused single sign-on: the organisation's id and the reason's code only
    (the claims of a refused token are not trusted and not kept)."""
    organisation = organisation_model().objects.filter(code=organisation_code).first()
    audit_record(
        actor=user,
        action="accounts.sso.refuse",
        obj=user,
        outcome=Outcome.DENIED,
        details={
            "organisation": organisation.pk if organisation else None,
            "reason": reason,
        },
    )


def _sso_username(provider: Provider, claims) -> str:
    value = claims.get(provider.username_claim)
    if not isinstance(value, str) or not value.strip():
        value = claims["sub"]
    # The organisation's code keeps apart the same name at two providers and local accounts.
    return f"{value.strip()}@{provider.organisation}"[:150]


def _claim_text(claims, name: str, limit: int) -> str:
    value = claims.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


@transaction.atomic
def sso_sign_in(*, provider: Provider, claims: dict, second_factor: bool) -> User:
    """The account that a validated ID token of ``provider`` signs in; created at the first
    sign-in, with the roles in the provider's organisation that its role claim maps to.

    A provider speaks for its own organisation only: it never signs in an account that
    another organisation's provider created, nor one with a role in another organisation,
    and it gives roles in its organisation only. The roles follow the claim at every
    sign-in (added, and ended when the claim no longer names them). ``second_factor``: the
    token asserted one we accept (``acr``/``amr``); the session counts it through a
    ``ProviderDevice``.
    """
    organisation = organisation_model().objects.filter(code=provider.organisation).first()
    if organisation is None or not organisation.active:
        raise Refused(Reason.UNKNOWN_ORGANISATION)
    roles = provider.roles_of(claims)
    identity = (
        ExternalIdentity.objects.select_related("user")
        .filter(issuer=provider.issuer, subject=claims["sub"])
        .first()
    )
    if identity is not None and identity.organisation_id != organisation.pk:
        raise Refused(Reason.OTHER_ORGANISATION)
    if not roles:
        raise Refused(Reason.NO_ROLE)
    now = timezone.now()
    if identity is None:
        username = _sso_username(provider, claims)
        if User.objects.filter(username__iexact=username).exists():
            raise Refused(Reason.USERNAME_TAKEN)
        locale = _claim_text(claims, "locale", 8)[:2].lower()
        user = User(
            username=username,
            must_change_password=False,
            **({"language": locale} if locale in dict(settings.LANGUAGES) else {}),
        )
        user.set_unusable_password()
        user.save()
        identity = ExternalIdentity.objects.create(
            user=user, organisation=organisation, issuer=provider.issuer, subject=claims["sub"]
        )
        audit_record(
            actor=user,
            action="accounts.user.create",
            obj=user,
            details={"sso": True, "organisation": organisation.pk},
        )
    user = identity.user
    if not user.is_active:
        raise Refused(Reason.ACCOUNT_DISABLED)
    if Membership.objects.active().filter(user=user).exclude(organisation=organisation).exists():
        raise Refused(Reason.OTHER_ORGANISATION)
    names = {
        "first_name": _claim_text(claims, "given_name", 150),
        "last_name": _claim_text(claims, "family_name", 150),
        "email": _claim_text(claims, "email", 254),
    }
    changed = [name for name, value in names.items() if value and getattr(user, name) != value]
    for name in changed:
        setattr(user, name, names[name])
    if changed:
        user.save(update_fields=changed)
    current = Membership.objects.active().filter(user=user, organisation=organisation)
    for membership in current:
        if membership.role not in roles:
            membership_end(actor=user, membership=membership)
    held = set(current.values_list("role", flat=True))
    for role in sorted(roles - held):
        membership_add(actor=user, user=user, organisation=organisation, role=role)
    identity.last_sign_in_at = now
    identity.save(update_fields=["last_sign_in_at"])
    audit_record(
        actor=user,
        action="accounts.login",
        obj=user,
        details={"sso": True, "organisation": organisation.pk, "second_factor": second_factor},
    )
    return user


def sso_reauthenticated(*, user: User, second_factor: bool) -> None:
    """Record that the user confirmed it is them through their identity provider."""
    audit_record(
        actor=user,
        action="accounts.reauth",
        obj=user,
        details={"sso": True, "second_factor": second_factor},
    )


def sso_device(*, user: User, provider: Provider) -> ProviderDevice:
    """The device that stands for the provider's second factor in the user's session."""
    device, _created = ProviderDevice.objects.get_or_create(
        user=user, name=provider.organisation, defaults={"confirmed": True}
    )
    return device
