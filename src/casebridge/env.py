"""Read settings from environment variables, strictly.

Every helper raises ``ImproperlyConfigured`` naming the variable when its value is
malformed, so a typo in a deployment fails at start-up instead of silently falling back.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """Return the variable, or ``default`` when unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """Return a boolean; only the usual spellings of true and false are accepted."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}: expected one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """Return an integer, at least ``minimum`` when given."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}; got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated list with blanks removed."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, default: str | None = None) -> str | None:
    """Return a secret from ``NAME`` or from the file named by ``NAME_FILE`` (not both)."""
    value = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if value is not None and file_name is not None:
        raise ImproperlyConfigured(f"{name} and {name}_FILE are both set; set only one")
    if file_name is not None:
        try:
            value = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE: cannot read {file_name}: {exc.strerror}"
            ) from None
        if not value:
            raise ImproperlyConfigured(f"{name}_FILE: {file_name} is empty")
    if value is None:
        return default
    return value


def env_time_zone(name: str, default: str) -> str:
    """Return an IANA time zone name that this machine knows."""
    value = os.environ.get(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}: unknown time zone {value!r}") from None
    return value


def env_database(name: str, default_sqlite_path: Path) -> dict:
    """Return a Django DATABASES entry from a URL; SQLite in WAL mode when unset."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return sqlite_database(default_sqlite_path)
    try:
        config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj_database_url raises several types for bad URLs
        raise ImproperlyConfigured(f"{name}: cannot parse database URL ({exc})") from None
    engine = config.get("ENGINE", "")
    if engine == "django.db.backends.sqlite3":
        return sqlite_database(Path(config["NAME"]))
    if engine not in {"django.db.backends.postgresql"}:
        raise ImproperlyConfigured(f"{name}: only sqlite:// and postgres:// URLs are supported")
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}: the URL names no database")
    return config


def env_replica_database(name: str, primary: dict) -> dict | None:
    """Return the DATABASES entry of a read-only standby of ``primary`` from a URL, or None
    when unset. PostgreSQL only, and only beside a PostgreSQL primary; its sessions are
    read-only whatever the server is (a standby refuses writes anyway; a promoted one
    still named here must not take any), and connecting gives up after 3 s so that an
    unreachable standby costs a request little. In tests it mirrors "default"."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    config = env_database(name, Path("unused"))
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"{name}: only a postgres:// URL names a standby")
    if primary["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"{name}: a standby needs DATABASE_URL on PostgreSQL")
    options = dict(config.get("OPTIONS") or {})
    options.setdefault("connect_timeout", 3)
    options["options"] = (
        options.get("options", "") + " -c default_transaction_read_only=on"
    ).strip()
    config["OPTIONS"] = options
    config["TEST"] = {"MIRROR": "default"}
    return config


def sqlite_database(path: Path) -> dict:
    """Return SQLite settings that use WAL and wait for locks instead of failing."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        },
    }
