"""Backups: the data (database and documents) and, separately, the key material.

A data backup is a folder with the database (``database.pgdump``, pg_dump's custom format,
or ``database.sqlite3``, SQLite's online backup), the documents (``private.tar``, the
folder ``DATA_DIR/private`` as it is on disk: ciphertext only, see ``crypto.files``; a
backup is refused while a file there is still in clear) and ``manifest.json`` (format,
time, database vendor, the newest migration per app, the audit chain's end, a SHA-256 per
file). A key backup is another folder with the key ring, the Django secret, the audit
signing key with its public key and the checkpoint file, and ``keys.json`` naming the
variable each file is for.

Keys and data must never sit on the same medium: whoever holds both reads every identity.
The database is dumped before the documents, so a document added meanwhile is an extra
file (harmless) rather than a row without its file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, connections
from django.utils.translation import gettext as _

from casebridge.audit import signing
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import seal_pending
from casebridge.crypto.files import private_storage
from casebridge.ops.planner import refresh_planner_statistics

FORMAT = 1
MANIFEST = "manifest.json"
KEYS_MANIFEST = "keys.json"
DOCUMENTS = "private.tar"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (no personal data)."""


@dataclass(frozen=True)
class KeyFile:
    variable: str
    name: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_dir() -> Path:
    return Path(settings.DATA_DIR) / "private"


def _database() -> dict:
    return settings.DATABASES["default"]


def _is_sqlite() -> bool:
    return _database()["ENGINE"] == "django.db.backends.sqlite3"


def _pg_environment() -> dict:
    """libpq variables for pg_dump/pg_restore: the password never appears in a process list."""
    database = _database()
    environment = {**os.environ, "PGDATABASE": database["NAME"]}
    for variable, key in [
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
    ]:
        if database.get(key):
            environment[variable] = str(database[key])
    return environment


def _run(command: list[str]) -> None:
    try:
        result = subprocess.run(  # noqa: S603 - fixed PostgreSQL client programs
            command, env=_pg_environment(), capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise BackupError(
            _("%(program)s was not found: install the PostgreSQL client programs.")
            % {"program": command[0]}
        ) from None
    if result.returncode != 0:
        raise BackupError(f"{command[0]}: {result.stderr.strip()[-2000:]}")


def _sqlite_copy(origin: Path, destination: Path) -> None:
    """Copy an SQLite database page by page with SQLite's online backup (consistent even
    while another connection writes), replacing what ``destination`` held."""
    source = sqlite3.connect(origin)
    try:
        copy = sqlite3.connect(destination)
        with copy:
            source.backup(copy)
        copy.close()
    finally:
        source.close()


def _fresh_folder(target: Path) -> None:
    if target.exists() and any(target.iterdir()):
        raise BackupError(_("%(folder)s is not empty; choose a new folder.") % {"folder": target})
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    target.chmod(0o700)


def _migrations() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        newest: dict[str, str] = {}
        for app, name in cursor.fetchall():
            newest[app] = name
    return newest


def _audit_head() -> dict:

    event = AuditEvent.objects.exclude(sequence=None).order_by("-sequence").first()
    if event is None:
        return {"sequence": 0, "hash": ""}
    return {"sequence": event.sequence, "hash": event.hash}


def backup_data(target: Path) -> dict:
    """Write the database and the documents to the new folder ``target``; return the manifest."""

    clear = private_storage().in_clear()
    if clear:
        raise BackupError(
            _(
                "%(count)s files in %(folder)s are not encrypted; run "
                "“casebridge keys rotate” first (a backup holds ciphertext only)."
            )
            % {"count": len(clear), "folder": _private_dir()}
        )
    _fresh_folder(target)
    seal_pending()  # the manifest names a sealed chain end
    head = _audit_head()
    if _is_sqlite():
        database_file = target / "database.sqlite3"
        _sqlite_copy(Path(_database()["NAME"]), database_file)
    else:
        database_file = target / "database.pgdump"
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(database_file)])
    documents = target / DOCUMENTS
    with tarfile.open(documents, "w") as archive:
        private = _private_dir()
        if private.is_dir():
            archive.add(private, arcname="private")
    manifest = {
        "format": FORMAT,
        "kind": "data",
        "created_at": datetime.now(UTC).isoformat(),
        "vendor": connection.vendor,
        "migrations": _migrations(),
        "audit_head": head,
        "files": {path.name: _sha256(path) for path in [database_file, documents]},
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for path in target.iterdir():
        path.chmod(0o600)
    return manifest


def _key_files() -> list[tuple[KeyFile, Path | None, str | None]]:
    """(what, file, inline value) for every piece of key material of this installation."""

    found = []
    for variable, name in [("SECRET_KEY", "secret_key"), ("CASEBRIDGE_KEYS", "keyring")]:
        file_name = os.environ.get(f"{variable}_FILE")
        inline = os.environ.get(variable)
        if file_name:
            found.append((KeyFile(f"{variable}_FILE", name), Path(file_name), None))
        elif inline:
            # An inline key ring is comma-separated; a file has one key per line.
            text = "\n".join(inline.split(",")) if variable == "CASEBRIDGE_KEYS" else inline
            found.append((KeyFile(f"{variable}_FILE", name), None, text + "\n"))
    audit_key = signing.key_file()
    if audit_key.exists():
        found.append((KeyFile(signing.KEY_ENV, "audit-signing.key"), audit_key, None))
        public = signing.public_key_file(audit_key)
        if public.exists():
            found.append((KeyFile("", "audit-signing.key.pub"), public, None))
    checkpoints = signing.checkpoint_file()
    if checkpoints.exists():
        found.append(
            (KeyFile(signing.CHECKPOINT_ENV, "audit-checkpoints.jsonl"), checkpoints, None)
        )
    return found


def backup_keys(target: Path) -> dict:
    """Copy the key material to the new folder ``target`` (mode 0700, files 0600)."""
    _fresh_folder(target)
    files = {}
    for what, source, inline in _key_files():
        destination = target / what.name
        if source is not None:
            shutil.copyfile(source, destination)
        else:
            destination.write_text(inline)
        destination.chmod(0o600)
        files[what.name] = {"variable": what.variable, "sha256": _sha256(destination)}
    if "keyring" not in files:
        raise BackupError(_("No key ring is configured (CASEBRIDGE_KEYS or CASEBRIDGE_KEYS_FILE)."))
    manifest = {
        "format": FORMAT,
        "kind": "keys",
        "created_at": datetime.now(UTC).isoformat(),
        "files": files,
    }
    (target / KEYS_MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (target / KEYS_MANIFEST).chmod(0o600)
    return manifest


def read_manifest(source: Path, name: str = MANIFEST) -> dict:
    """Read a backup's manifest and check every file's SHA-256."""
    try:
        manifest = json.loads((source / name).read_text())
    except (OSError, ValueError):
        raise BackupError(
            _("%(folder)s holds no readable %(name)s.") % {"folder": source, "name": name}
        ) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            _("Unknown backup format %(format)s.") % {"format": manifest.get("format")}
        )
    for file_name, expected in manifest["files"].items():
        digest = expected["sha256"] if isinstance(expected, dict) else expected
        path = source / file_name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(
                _("%(file)s is missing or damaged (checksum differs).") % {"file": file_name}
            )
    return manifest


def restore_data(source: Path, *, force: bool = False) -> dict:
    """Restore database and documents from ``source`` into this installation.

    Refuses when the database already holds tables or the documents folder is not empty,
    unless ``force``. Stop the app servers and workers first.
    """
    manifest = read_manifest(source)
    if manifest.get("kind") != "data":
        raise BackupError(_("This is not a data backup."))
    if manifest["vendor"] != connection.vendor:
        raise BackupError(
            _("The backup is of a %(backup)s database; this installation uses %(here)s.")
            % {"backup": manifest["vendor"], "here": connection.vendor}
        )
    private = _private_dir()
    if not force:
        if connection.introspection.table_names():
            raise BackupError(
                _("The database is not empty; restore into a new one or pass --force.")
            )
        if private.is_dir() and any(private.iterdir()):
            raise BackupError(
                _("%(folder)s is not empty; pass --force to replace it.") % {"folder": private}
            )
    if _is_sqlite():
        connections.close_all()
        target = Path(_database()["NAME"])
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source / "database.sqlite3", target)
    else:
        connections.close_all()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                _database()["NAME"],
                str(source / "database.pgdump"),
            ]
        )
        refresh_planner_statistics()
    staging = Path(tempfile.mkdtemp(prefix="restore-", dir=Path(settings.DATA_DIR)))
    try:
        with tarfile.open(source / DOCUMENTS) as archive:
            archive.extractall(staging, filter="data")
        if private.exists():
            shutil.rmtree(private)
        restored = staging / "private"
        if restored.is_dir():
            restored.rename(private)
        else:
            private.mkdir(mode=0o700)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    private_storage().tighten()
    return manifest
