"""Readiness checks: can this process serve requests that read and write data?

Each check answers a short, machine-readable word ("ok", "unavailable", "missing", ...):
no paths, no exception text, nothing an unauthenticated caller should learn beyond it.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection

from casebridge.audit import signing
from casebridge.crypto import keys

logger = logging.getLogger(__name__)

OK = "ok"


def check_database() -> str:
    """``SELECT 1`` on the default database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        # the type only: a driver's message names hosts and, for some errors, values; a
        # broken connection is closed at the end of the request (request_finished)
        logger.warning("readiness: the database is unavailable (%s)", type(error).__name__)
        return "unavailable"
    return OK


def check_audit_signing_key() -> str:
    """The Ed25519 key that signs the audit checkpoints loads from its file."""
    path = signing.key_file()
    try:
        path.read_bytes()
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable"
    try:
        signing.load_private_key(path)
    except signing.AuditKeyError:
        return "invalid"
    return OK


def check_key_ring() -> str:
    """The key ring for fields and documents loads (it is read once per process)."""
    try:
        keys.key_ring()
    except ImproperlyConfigured:
        return "unavailable"
    return OK


CHECKS = {
    "database": check_database,
    "audit_signing_key": check_audit_signing_key,
    "key_ring": check_key_ring,
}


def readiness() -> tuple[bool, dict[str, str]]:
    results = {name: check() for name, check in CHECKS.items()}
    return all(result == OK for result in results.values()), results
