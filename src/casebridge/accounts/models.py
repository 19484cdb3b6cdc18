"""Users, their memberships in organisations (with a role), and personal API tokens."""

from __future__ import annotations

import hashlib
import hmac
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from casebridge.dates import in_force


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone."), code="time_zone") from None


class User(AbstractUser):
    """A person who works with casebridge; what they may do comes from their memberships."""

    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="de", blank=True
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Berlin", validators=[validate_time_zone]
    )

    # An account an administrator created (with a password the administrator knows) must
    # choose its own password at the first sign-in before anything else opens.
    must_change_password = models.BooleanField(_("must change the password"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def picker_label(self) -> str:
        """How a person is offered in a choice of people: the name and the e-mail address
        (or the username), so that two people of the same name can be told apart."""
        return f"{self} · {self.email or self.username}"


class Role(models.TextChoices):
    HOTLINE_COUNSELLOR = "hotline_counsellor", _("Hotline counsellor")
    PARTNER_COUNSELLOR = "partner_counsellor", _("Partner counsellor")
    SECURITY_LIAISON = "security_liaison", _("Security liaison")
    COORDINATOR = "coordinator", _("Network coordinator")
    DATA_PROTECTION_OFFICER = "dpo", _("Data protection officer")
    ADMINISTRATOR = "administrator", _("Administrator")
    # An outside professional invited to one case for a bounded time (issue 17): a seat
    # in that case only, never a member of the network (``permissions.active_roles``).
    GUEST = "guest", _("Invited professional (one case)")


class MembershipQuerySet(models.QuerySet):
    def active(self, at=None):
        return self.filter(in_force(at or timezone.now()))


class Membership(models.Model):
    """A user works for an organisation in a role, possibly for a limited time."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        "network.Organisation", on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="membership_unique_role"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="membership_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organisation}"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.valid_from <= now and (self.valid_until is None or self.valid_until > now)


def organisation_model():
    """Organisations, as the membership's foreign key names them ("network.Organisation"):
    accounts sits below the network and knows organisations only through that key."""
    return Membership._meta.get_field("organisation").related_model


class ApiToken(models.Model):
    """A personal API token; only a SHA-256 digest of the secret is stored.

    The secret has 256 bits of entropy, so a fast digest is enough: there is nothing to
    brute-force that a slow hash would protect.

    A token never outlives or outranks what created it (DESIGN invariant 12): only a
    browser session that confirmed it is the user creates one (``origin``), never another
    token; it ends when revoked, at its expiry, when the account is disabled, and when the
    password changes (``auth_hash``, as sessions end); it acts with the user's rights of
    the moment, and a token made without a second factor stops once the user's roles
    require one (``second_factor``).
    """

    class Origin(models.TextChoices):
        PAGE = "page", _("profile page")
        SESSION_API = "session_api", _("API in a browser session")
        COMMAND = "command", _("command line (operator)")
        UNRECORDED = "unrecorded", _("not recorded (created before origins were kept)")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(_("origin"), max_length=16, choices=Origin.choices)
    second_factor = models.BooleanField(_("created with a second factor"), default=False)
    # The user's session authentication hash (an HMAC of the password hash) at creation.
    auth_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def password_unchanged(self) -> bool:
        """True while the user's password is the one they had when the token was made."""
        user = self.user
        return any(
            constant_time_compare(self.auth_hash, current)
            for current in (user.get_session_auth_hash(), *user.get_session_auth_fallback_hash())
        )


def login_key(scope: str, value: str) -> str:
    """Return a keyed digest of a username or client address for the sign-in counters.

    Attempted usernames are often typos or passwords typed into the wrong field; they are
    never stored, only this digest (which changes with SECRET_KEY).
    """
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{scope}:{value}".encode(), hashlib.sha256
    ).hexdigest()


class LoginScope(models.TextChoices):
    USERNAME = "username", _("username")
    ADDRESS = "address", _("client address")


class LoginFailure(models.Model):
    """One failed sign-in, counted against a username or a client address (as digests)."""

    scope = models.CharField(max_length=8, choices=LoginScope.choices)
    key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["scope", "key", "created_at"], name="login_failure_key"),
            models.Index(fields=["created_at"], name="login_failure_created"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:8]}… {self.created_at:%Y-%m-%d %H:%M}"


class LoginLockout(models.Model):
    """Sign-in refused for a username or a client address until ``until`` (or lifted)."""

    scope = models.CharField(max_length=8, choices=LoginScope.choices)
    key = models.CharField(max_length=64)
    # The account, when the locked username is one; never the attempted name itself.
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="lockouts"
    )
    locked_at = models.DateTimeField(default=timezone.now)
    until = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "until"], name="login_lockout_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:8]}… until {self.until:%Y-%m-%d %H:%M}"

    @property
    def ends_at(self):
        return self.lifted_at or self.until


class ExternalIdentity(models.Model):
    """A person as an organisation's identity provider knows them (single sign-on).

    The pair (issuer, subject) names one person for good (OpenID Connect Core 5.7); the
    account is created at the first sign-in through that provider and is only ever
    signed in through it (no usable password). ``organisation`` is the organisation whose
    provider vouches for the person: it may give roles in that organisation only.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="external_identity")
    organisation = models.ForeignKey(
        "network.Organisation", on_delete=models.PROTECT, related_name="external_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("external identity")
        verbose_name_plural = _("external identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="external_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.issuer} · {self.pk}"


class ProviderDevice(Device):
    """The second factor an identity provider asserted at sign-in (``acr``/``amr``).

    django-otp marks a session verified with a device; this one stands for "the
    organisation's provider checked a second factor" and can verify no code itself. It is
    put into the session only by the single sign-on callback (``accounts.sso``), so
    ``is_verified()`` means the same for both ways of giving a second factor.
    """

    class Meta(Device.Meta):
        verbose_name = _("second factor of the identity provider")

    def verify_token(self, token) -> bool:
        return False
