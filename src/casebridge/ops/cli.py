"""The ``casebridge`` command: Django's management commands plus casebridge's own.

``casebridge demo`` prepares a local installation; for it (and only where no secret is
configured) a random SECRET_KEY is kept in the data directory so that later commands
such as ``casebridge serve`` find the same key, and cookies are allowed over the plain
HTTP the demo serves. Production sets SECRET_KEY_FILE and serves HTTPS.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


def _local_secret_key(command: str | None) -> bool:
    """Use (or, for ``demo``, create) the local demo secret; True when it is in use."""
    if os.environ.get("SECRET_KEY") or os.environ.get("SECRET_KEY_FILE"):
        return False
    data_dir = Path(os.environ.get("CASEBRIDGE_DATA_DIR", Path.cwd() / "var"))
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        if command != "demo":
            return False  # settings will say that SECRET_KEY is missing
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    os.environ["SECRET_KEY_FILE"] = str(key_file)
    return True


def _local_key_ring(command: str | None) -> None:
    """Like the secret key: ``demo`` creates a key ring in the data directory; later commands
    there find it. Production sets CASEBRIDGE_KEYS_FILE (see docs/operations.md)."""
    if os.environ.get("CASEBRIDGE_KEYS") or os.environ.get("CASEBRIDGE_KEYS_FILE"):
        return
    data_dir = Path(os.environ.get("CASEBRIDGE_DATA_DIR", Path.cwd() / "var"))
    key_file = data_dir / "keys"
    if not key_file.exists():
        if command != "demo":
            return
        from casebridge.crypto.keys import new_key_line  # noqa: PLC0415 (before settings)

        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key_line("k1") + "\n" + new_key_line("index") + "\n")
    os.environ["CASEBRIDGE_KEYS_FILE"] = str(key_file)


def _local_audit_key(command: str | None) -> None:
    """``demo`` also creates the audit signing key next to the key ring (never overwriting it).
    Production keeps it on other storage and sets CASEBRIDGE_AUDIT_KEY_FILE."""
    if command != "demo" or os.environ.get("CASEBRIDGE_AUDIT_KEY_FILE"):
        return
    data_dir = Path(os.environ.get("CASEBRIDGE_DATA_DIR", Path.cwd() / "var"))
    if not (data_dir / "audit-signing.key").exists():
        from casebridge.audit.signing import generate_key  # noqa: PLC0415 (before settings)

        generate_key(data_dir / "audit-signing.key")


# Checks of files and printed keys: they sign nothing and store nothing, so they need no
# SECRET_KEY (nor does the help of any command).
SECRET_FREE = {("model", "check"), ("sop", "check"), ("training", "check"), ("keys", "generate")}


def _asks_for_help(args: list[str]) -> bool:
    return (
        not args
        or args[0] in {"help", "version", "--version"}
        or bool({"-h", "--help"} & set(args))
    )


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casebridge.settings")
    helping = _asks_for_help(argv[1:])
    # Help creates nothing: not even `demo --help` makes keys.
    command = None if helping else argv[1]
    local = _local_secret_key(command)
    _local_key_ring(command)
    _local_audit_key(command)
    if local:
        # A local demo installation serves plain HTTP on 127.0.0.1: no HTTPS redirect, and
        # cookies that travel without TLS. Production configures its own secret instead.
        os.environ.setdefault("SECURE_COOKIES", "0")
        os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    elif (helping or tuple(argv[1:3]) in SECRET_FREE) and not (
        os.environ.get("SECRET_KEY") or os.environ.get("SECRET_KEY_FILE")
    ):
        # A key for this process only: nothing it does is signed or kept.
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    import django  # noqa: PLC0415 (settings first)
    from django.core.exceptions import ImproperlyConfigured  # noqa: PLC0415 (settings first)
    from django.core.management import execute_from_command_line  # noqa: PLC0415 (settings first)

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        # A missing or malformed setting: its variable and what is wrong, in one line.
        sys.exit(f"casebridge: {exc}")
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
