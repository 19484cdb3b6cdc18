"""Django settings, read from environment variables through the strict helpers in ``env``.

Configured (from the environment): DATABASE_URL, DATABASE_REPLICA_URL,
REPLICA_CATCH_UP_SECONDS, SECRET_KEY / SECRET_KEY_FILE, DEBUG,
ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, CASEBRIDGE_DATA_DIR, CASEBRIDGE_MODEL, TIME_ZONE,
LANGUAGE_CODE, SECURE_COOKIES, LOG_LEVEL, LOG_FORMAT, METRICS_ALLOWED_ADDRESSES,
METRICS_TOKEN_FILE, DOCUMENT_STORAGE. Everything else is computed here.

Account security (see docs/operations.md):
- LOGIN_FAILURE_LIMIT (default 5): failed sign-ins for one username within
  LOGIN_LOCKOUT_MINUTES before that username is locked for LOGIN_LOCKOUT_MINUTES.
- LOGIN_ADDRESS_FAILURE_LIMIT (default 30; 0 turns it off): the same per client address
  (REMOTE_ADDR; behind a proxy that hides client addresses, turn it off).
- LOGIN_LOCKOUT_MINUTES (default 15): the counting window and the length of a lock.
- SESSION_IDLE_MINUTES (default 30): a session ends after this long without a request.
- SESSION_MAX_HOURS (default 10): a session ends this long after sign-in, active or not.
- REAUTH_MINUTES (default 5): how long a "confirm it is you" holds for exports and
  disclosures.
- API_TOKEN_MAX_DAYS (default 90): the longest a personal API token lives; a token asked
  for without an expiry gets this one.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from casebridge import env
from casebridge.observability.logs import log_format, logging_config

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env.env_str("CASEBRIDGE_DATA_DIR", str(Path.cwd() / "var"))).resolve()

DEBUG = env.env_bool("DEBUG", default=False)
SECRET_KEY = env.env_secret("SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY: not set; set SECRET_KEY or SECRET_KEY_FILE")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY: must be at least 32 characters long")

ALLOWED_HOSTS = env.env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.env_list("CSRF_TRUSTED_ORIGINS", [])

# Which cooperation model file `casebridge demo` and `model load` use by default.
CASEBRIDGE_MODEL = env.env_str("CASEBRIDGE_MODEL", "germany")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "ninja",
    "csp",
    "casebridge",
    "casebridge.accounts",
    "casebridge.audit",
    "casebridge.cooperation_models",
    "casebridge.network",
    "casebridge.hotline",
    "casebridge.cases",
    "casebridge.sharing",
    "casebridge.procedures",
    "casebridge.outcomes",
    "casebridge.federation",
    "casebridge.privacy",
    "casebridge.stats",
    "casebridge.training",
    "casebridge.ops",
    "casebridge.storage",
    "django.forms",  # after casebridge: its widget templates override Django's
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    # Outermost: the request id for every log record, the whole request timed.
    "casebridge.observability.logs.RequestIdMiddleware",
    "casebridge.observability.metrics.MetricsMiddleware",
    "casebridge.middleware.ForwardedForMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "casebridge.middleware.SessionTimeoutMiddleware",
    "casebridge.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "casebridge.middleware.TwoFactorMiddleware",
    "casebridge.middleware.PasswordChangeMiddleware",
    "casebridge.middleware.NoStoreMiddleware",
    "casebridge.middleware.RefuseNulMiddleware",
    # Before any view hook (CSRF reads the body in process_view), in the user's language.
    "casebridge.middleware.UnreadableBodyMiddleware",
]

ROOT_URLCONF = "casebridge.urls"
WSGI_APPLICATION = "casebridge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "casebridge.context_processors.navigation",
            ],
        },
    },
]

# Widgets render through the project's templates, so casebridge/templates/django/forms/
# can write options in place (issue 16).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {"default": env.env_database("DATABASE_URL", DATA_DIR / "casebridge.sqlite3")}
# A PostgreSQL streaming-replication standby that statistics read from (casebridge.dbrouting,
# docs/operations.md "A standby database"); unset: everything on the one database.
_REPLICA = env.env_replica_database("DATABASE_REPLICA_URL", DATABASES["default"])
if _REPLICA is not None:
    DATABASES["replica"] = _REPLICA
DATABASE_ROUTERS = ["casebridge.dbrouting.StandbyRouter"]
# How long a request for figures waits for the standby to replay what the primary had
# written when it came; then the primary serves them (and says so).
REPLICA_CATCH_UP_SECONDS = env.env_int("REPLICA_CATCH_UP_SECONDS", 2, minimum=0)
# Chain audit events in a thread of each process instead of at the end of the request
# (casebridge.audit.sealer). On by default on PostgreSQL, where the seal's round trips cost
# a write request as much as the write; SQLite serialises writers, so there a second
# writer would only wait, and the request seals as before.
_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
AUDIT_SEAL_IN_BACKGROUND = env.env_bool("AUDIT_SEAL_IN_BACKGROUND", default=_POSTGRESQL)
if AUDIT_SEAL_IN_BACKGROUND and not _POSTGRESQL:
    raise ImproperlyConfigured(
        "AUDIT_SEAL_IN_BACKGROUND: only with PostgreSQL (SQLite serialises writers)"
    )
# Where documents are kept (docs/operations.md, "Several app servers"): "database", sealed
# pieces in a table every app server reads (crypto.database), or "files", sealed files in
# DATA_DIR/private on this machine's disk (crypto.files), for one app server only.
DOCUMENT_STORAGE = env.env_str("DOCUMENT_STORAGE", "database" if _POSTGRESQL else "files")
if DOCUMENT_STORAGE not in {"database", "files"}:
    raise ImproperlyConfigured("DOCUMENT_STORAGE: must be database or files")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling, kept in the database so that every app server sees the same counts.
LOGIN_FAILURE_LIMIT = env.env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_ADDRESS_FAILURE_LIMIT = env.env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 30, minimum=0)
LOGIN_LOCKOUT_MINUTES = env.env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
# Two-factor authentication (TOTP, backup codes) with django-otp.
OTP_TOTP_ISSUER = "casebridge"
# Server-side session limits, from timestamps kept in the session.
SESSION_IDLE_MINUTES = env.env_int("SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_MAX_HOURS = env.env_int("SESSION_MAX_HOURS", 10, minimum=1)
REAUTH_MINUTES = env.env_int("REAUTH_MINUTES", 5, minimum=1)
API_TOKEN_MAX_DAYS = env.env_int("API_TOKEN_MAX_DAYS", 90, minimum=1)
# Single sign-on: the organisations' OpenID Connect providers (docs/operations.md).
SSO_FILE = env.env_str("CASEBRIDGE_SSO_FILE", "")
# Federation with partner installations (issue 22): this installation's signing key and
# the match keys agreed per partnership live here (docs/federation.md).
FEDERATION_DIR = Path(
    env.env_str("CASEBRIDGE_FEDERATION_DIR", str(DATA_DIR / "federation"))
).resolve()

LANGUAGE_CODE = env.env_str("LANGUAGE_CODE", "de")
LANGUAGES = [("de", _("German")), ("en", _("English"))]
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured("LANGUAGE_CODE: must be one of de, en")
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env.env_time_zone("TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Documents (crypto.files) are written 0600 in 0700 folders whatever the umask; these
# cover any other file Django writes. Uploads up to the 20 MB document limit stay in
# memory, so no plaintext copy lands in the temporary folder while a request runs.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
FILE_UPLOAD_MAX_MEMORY_SIZE = 21 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The cookie and the stored session last as long as the absolute limit; the middleware
# ends sessions earlier on inactivity.
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_COOKIES = env.env_bool("SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
# HTTPS: on unless DEBUG. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=1 so
# X-Forwarded-Proto is trusted (only when the proxy always sets it).
SECURE_SSL_REDIRECT = env.env_bool("SECURE_SSL_REDIRECT", default=SECURE_COOKIES)
SECURE_HSTS_SECONDS = env.env_int(
    "SECURE_HSTS_SECONDS", 31_536_000 if SECURE_COOKIES else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env.env_bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading HSTS is hard to undo, so it is the operator's decision (SECURE_HSTS_PRELOAD=1);
# the deployment check would otherwise warn about it on every installation.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# The statistics' covering index (INCLUDE columns) serves PostgreSQL; SQLite keeps the key
# part and ignores the rest, which is all it can do.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    SILENCED_SYSTEM_CHECKS.append("models.W040")
# Reverse proxies (addresses) whose X-Forwarded-For names the client (audit origin, sign-in
# lock per address); empty: REMOTE_ADDR as the connection shows it.
TRUSTED_PROXIES = env.env_list("TRUSTED_PROXIES", [])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_address(_proxy)
    except ValueError:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_proxy!r} is not an IP address") from None
if env.env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A strict Content-Security-Policy: no inline scripts, nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env.env_str("LOG_LEVEL", "INFO")
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
    raise ImproperlyConfigured("LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR")
# json: one object per line with the request id (casebridge.observability.logs); plain: text.
LOG_FORMAT = log_format()
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)
# Python's warnings through logging too ("py.warnings"): one format on stderr.
logging.captureWarnings(True)

# Who may scrape /metrics: addresses or networks (after TRUSTED_PROXIES resolved the
# client), and, when METRICS_TOKEN_FILE names a file, only with its bearer token as well.
METRICS_ALLOWED_ADDRESSES = env.env_list("METRICS_ALLOWED_ADDRESSES", ["127.0.0.1", "::1"])
METRICS_TOKEN_FILE = env.env_str("METRICS_TOKEN_FILE", "")
# A load balancer and Prometheus ask over plain HTTP on the private side.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_CLASS = "casebridge.apischema.Pagination"

# Background work (reminders, escalations): django-tasks with the database backend;
# `casebridge worker` runs it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
EMAIL_BACKEND = env.env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.env_str("DEFAULT_FROM_EMAIL", "casebridge@localhost")
# The SMTP backend's server (docs/operations.md); the password may come from a file.
EMAIL_HOST = env.env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.env_secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.env_bool("EMAIL_USE_TLS", default=False)
