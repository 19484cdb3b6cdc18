"""Single sign-on with OpenID Connect: the organisations' identity providers.

The operator lists the providers in a TOML file (``CASEBRIDGE_SSO_FILE``, described in
docs/operations.md, "Single sign-on"): one per organisation, with its issuer, client id,
the name of the variable that holds the client secret, the claim that names the
person's roles and how its values map to casebridge's roles, and which ``acr``/``amr``
values count as a second factor. Nothing here is configured in pages: which provider may
vouch for the staff of which organisation is a decision of the installation, like the
cooperation model, and the client secret stays with the operator's other secrets.

The protocol is Authlib's (its Django client): the authorization code flow with PKCE
(S256), ``state`` and ``nonce`` kept in the server-side session and used once, the ID
token's signature checked against the provider's JWKS and its ``iss``, ``aud``, ``exp``,
``iat`` and ``nonce`` validated. This module adds what Authlib leaves to the
application: the audience and issuer as essential claims, the signing algorithms, the
timeouts, and the freshness of ``auth_time`` for "confirm it is you".
"""

from __future__ import annotations

import secrets
import threading
import time
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from casebridge import env
from casebridge.accounts.models import Role

# Roles a provider may give: a guest's seat is one case, given by invitation only.
MAPPABLE_ROLES = frozenset(Role.values) - {Role.GUEST}
SIGNING_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
# Seconds of clock difference tolerated between casebridge and a provider.
LEEWAY = 60
# How long the provider may take to answer one request, in seconds.
TIMEOUT = 10
# How long a started sign-in may take at the provider before it is forgotten.
FLOW_SECONDS = 600
FLOWS = "cb_sso_flows"


class Purpose:
    SIGN_IN = "sign_in"
    REAUTH = "reauth"


@dataclass(frozen=True)
class Provider:
    """One organisation's identity provider, as the operator configured it."""

    organisation: str  # the organisation's code
    label: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    role_claim: str
    roles: dict[str, str]  # claim value -> casebridge role
    username_claim: str
    mfa_acr: frozenset[str]
    mfa_amr: frozenset[str]

    @property
    def client_name(self) -> str:
        return f"sso_{self.organisation}"

    def roles_of(self, claims) -> set[str]:
        """The casebridge roles the token's role claim maps to (unknown values ignored)."""
        value = claims.get(self.role_claim)
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return {self.roles[v] for v in values if isinstance(v, str) and v in self.roles}

    def asserts_second_factor(self, claims) -> bool:
        """True when the token says the provider checked a second factor we accept."""
        acr = claims.get("acr")
        amr = claims.get("amr")
        if isinstance(acr, str) and acr in self.mfa_acr:
            return True
        return isinstance(amr, list) and any(isinstance(m, str) and m in self.mfa_amr for m in amr)


def _strings(raw, key: str, where: str, default=None) -> tuple[str, ...]:
    value = raw.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ImproperlyConfigured(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _text(raw, key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ImproperlyConfigured(f"{where}: {key} must be a non-empty string")
    return value.strip()


def parse_providers(text: str, source: str = "CASEBRIDGE_SSO_FILE") -> dict[str, Provider]:
    """Read and check the providers file; every mistake names its place."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ImproperlyConfigured(f"{source}: not valid TOML: {exc}") from None
    unknown = set(data) - {"provider"}
    if unknown:
        raise ImproperlyConfigured(f"{source}: unknown keys {sorted(unknown)}")
    providers: dict[str, Provider] = {}
    for index, raw in enumerate(data.get("provider", [])):
        where = f"{source}: provider {index + 1}"
        organisation = _text(raw, "organisation", where)
        where = f"{source}: provider {organisation!r}"
        if organisation in providers:
            raise ImproperlyConfigured(f"{where}: a second provider for this organisation")
        issuer = _text(raw, "issuer", where).rstrip("/")
        if not issuer.startswith("https://") and not raw.get("allow_http", False):
            raise ImproperlyConfigured(f"{where}: issuer must be an https:// address")
        secret_variable = _text(raw, "client_secret_env", where)
        secret = env.env_secret(secret_variable)
        if not secret:
            raise ImproperlyConfigured(
                f"{where}: set the client secret in {secret_variable} or {secret_variable}_FILE"
            )
        roles = raw.get("roles")
        if not isinstance(roles, dict) or not roles:
            raise ImproperlyConfigured(f"{where}: roles must map claim values to roles")
        for value, role in roles.items():
            if role not in MAPPABLE_ROLES:
                raise ImproperlyConfigured(
                    f"{where}: roles.{value} = {role!r} is not one of {sorted(MAPPABLE_ROLES)}"
                )
        scopes = _strings(raw, "scopes", where, ["openid", "profile", "email"])
        if "openid" not in scopes:
            raise ImproperlyConfigured(f"{where}: scopes must include openid")
        known = {
            "organisation",
            "label",
            "issuer",
            "allow_http",
            "client_id",
            "client_secret_env",
            "scopes",
            "role_claim",
            "roles",
            "username_claim",
            "mfa_acr",
            "mfa_amr",
        }
        if set(raw) - known:
            raise ImproperlyConfigured(f"{where}: unknown keys {sorted(set(raw) - known)}")
        providers[organisation] = Provider(
            organisation=organisation,
            label=raw.get("label", ""),
            issuer=issuer,
            client_id=_text(raw, "client_id", where),
            client_secret=secret,
            scopes=scopes,
            role_claim=_text(raw, "role_claim", where, "roles"),
            roles=dict(roles),
            username_claim=_text(raw, "username_claim", where, "preferred_username"),
            mfa_acr=frozenset(_strings(raw, "mfa_acr", where, [])),
            mfa_amr=frozenset(_strings(raw, "mfa_amr", where, [])),
        )
    return providers


@cache
def _load(path: str) -> dict[str, Provider]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ImproperlyConfigured(
            f"CASEBRIDGE_SSO_FILE: cannot read {path}: {exc.strerror}"
        ) from None
    return parse_providers(text)


def providers() -> dict[str, Provider]:
    """The configured providers by organisation code (none without CASEBRIDGE_SSO_FILE)."""
    path = settings.SSO_FILE
    return _load(str(path)) if path else {}


def provider_for(organisation_code: str) -> Provider | None:
    return providers().get(organisation_code)


def check_configuration(app_configs=None, **kwargs) -> list:
    """Django system check (``casebridge check``, ``migrate``, ``runserver``): the
    providers file reads, so a mistake shows before the first person tries to sign in."""
    try:
        providers()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="casebridge.sso.E001")]
    return []


def forget_configuration() -> None:
    """Read the providers file again at next use (tests, after an operator's change)."""
    _load.cache_clear()
    with _lock:
        _clients.clear()


# --- the protocol client (Authlib) ------------------------------------------------------

_clients: dict[tuple, object] = {}
_lock = threading.Lock()


def client(provider: Provider):
    """Authlib's client for ``provider``; it keeps the provider's metadata and keys."""
    key = (provider.organisation, provider.issuer, provider.client_id, provider.client_secret)
    with _lock:
        found = _clients.get(key)
        if found is None:
            # A registry of its own: Authlib's keeps the first client of a name for good,
            # and a changed configuration must take effect.
            found = OAuth().register(
                name=provider.client_name,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                server_metadata_url=f"{provider.issuer}/.well-known/openid-configuration",
                client_kwargs={
                    "scope": " ".join(provider.scopes),
                    "code_challenge_method": "S256",
                    "default_timeout": TIMEOUT,
                },
            )
            _clients[key] = found
        return found


class MetadataMismatch(Exception):
    """The discovery document names another issuer than the one configured."""


def metadata(provider: Provider) -> dict:
    """The provider's discovery document, checked against the configured issuer; only the
    signing algorithms casebridge accepts are left in (never ``none`` or a MAC)."""
    found = client(provider).load_server_metadata()
    if found.get("issuer", "").rstrip("/") != provider.issuer:
        raise MetadataMismatch
    offered = found.get("id_token_signing_alg_values_supported") or ["RS256"]
    found["id_token_signing_alg_values_supported"] = [
        alg for alg in offered if alg in SIGNING_ALGORITHMS
    ] or ["RS256"]
    return found


def authorize_redirect(request, provider: Provider, *, redirect_uri: str, purpose: str, **extra):
    """Start the flow: remember it in the session under a new ``state`` and redirect.

    ``extra`` holds what the application wants back at the callback (where to go next).
    For "confirm it is you" the provider is asked to authenticate the person again
    (``prompt=login``, ``max_age=0``) and the time is kept to check ``auth_time``.
    """
    metadata(provider)
    state = secrets.token_urlsafe(32)
    now = time.time()
    flows = {
        key: flow
        for key, flow in request.session.get(FLOWS, {}).items()
        if now - flow["started"] < FLOW_SECONDS
    }
    flows[state] = {
        "organisation": provider.organisation,
        "purpose": purpose,
        "started": now,
        **extra,
    }
    request.session[FLOWS] = flows
    params = {"state": state}
    if purpose == Purpose.REAUTH:
        params.update(prompt="login", max_age="0")
    return client(provider).authorize_redirect(request, redirect_uri, **params)


def take_flow(request, organisation_code: str) -> dict | None:
    """The flow the callback's ``state`` names, removed from the session (used once);
    None for an unknown, used, expired or other organisation's state."""
    state = request.GET.get("state", "")
    flows = request.session.get(FLOWS, {})
    flow = flows.pop(state, None) if state else None
    request.session[FLOWS] = flows
    if (
        flow is None
        or flow["organisation"] != organisation_code
        or time.time() - flow["started"] >= FLOW_SECONDS
    ):
        return None
    return flow


def finish(request, provider: Provider) -> dict:
    """Exchange the code (with the PKCE verifier) and validate the ID token; return its
    claims. Raises Authlib's or joserfc's errors, or ``requests``' when unreachable."""
    issuer = metadata(provider)["issuer"]
    claims_options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": provider.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    token = client(provider).authorize_access_token(
        request, claims_options=claims_options, leeway=LEEWAY
    )
    claims = token.get("userinfo")
    if not claims:
        raise MissingIdToken
    return dict(claims)


class MissingIdToken(Exception):
    """The token response held no ID token."""


def fresh_authentication(claims, started: float) -> bool:
    """True when the provider authenticated the person after the flow started."""
    auth_time = claims.get("auth_time")
    return isinstance(auth_time, int | float) and auth_time >= started - LEEWAY


class Refused(Exception):
    """A single sign-on that casebridge refuses; ``reason`` is a code for the audit log
    and the page (never a name or a claim's value)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Reason:
    UNKNOWN_ORGANISATION = "unknown_organisation"
    UNKNOWN_STATE = "unknown_state"
    PROVIDER_ERROR = "provider_error"
    UNREACHABLE = "unreachable"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - a reason's code, not a secret
    NO_ROLE = "no_role"
    OTHER_ORGANISATION = "other_organisation"
    ACCOUNT_DISABLED = "account_disabled"
    USERNAME_TAKEN = "username_taken"
    NOT_FRESH = "not_fresh"
    NO_SECOND_FACTOR = "no_second_factor"
    OTHER_PERSON = "other_person"
