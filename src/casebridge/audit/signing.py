"""Signed checkpoints: an Ed25519 key kept outside the database, and a checkpoint file.

Someone who can edit the database can delete the chain's tail, the checkpoint rows and
forge the chain head; they cannot sign a checkpoint, nor take back a line already written to
the checkpoint file (keep it on other, ideally append-only storage; docs/operations.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

KEY_ENV = "CASEBRIDGE_AUDIT_KEY_FILE"
CHECKPOINT_ENV = "CASEBRIDGE_AUDIT_CHECKPOINT_FILE"
DEFAULT_KEY_NAME = "audit-signing.key"
DEFAULT_CHECKPOINT_NAME = "audit-checkpoints.jsonl"


class AuditKeyError(Exception):
    """The signing key (or the checkpoint file) is missing, unreadable or invalid."""


def key_file() -> Path:
    raw = os.environ.get(KEY_ENV, "").strip()
    return Path(raw) if raw else Path(settings.DATA_DIR) / DEFAULT_KEY_NAME


def checkpoint_file() -> Path:
    raw = os.environ.get(CHECKPOINT_ENV, "").strip()
    return Path(raw) if raw else Path(settings.DATA_DIR) / DEFAULT_CHECKPOINT_NAME


def public_key_file(private: Path) -> Path:
    return private.with_name(private.name + ".pub")


def generate_key(path: Path | None = None) -> tuple[Path, Path]:
    """Create a new private key file (mode 0600) and its public key next to it.

    Refuses to overwrite: a lost key cannot be recreated, and checkpoints signed with it
    would no longer verify.
    """
    path = path or key_file()
    public_path = public_key_file(path)
    for existing in (path, public_path):
        if existing.exists():
            raise AuditKeyError(f"{existing} already exists; refusing to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(_public_pem(private.public_key()))
    return path, public_path


def _public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(path: Path | None = None) -> Ed25519PrivateKey:
    path = path or key_file()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AuditKeyError(
            f"the audit signing key {path} does not exist (set {KEY_ENV}, or create it with "
            f"`casebridge audit keygen`)"
        ) from None
    except OSError as exc:
        raise AuditKeyError(
            f"the audit signing key {path} ({KEY_ENV}) cannot be read: {exc.strerror}"
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(
            f"the audit signing key {path} ({KEY_ENV}) is not an Ed25519 private key in PEM"
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(
            f"the audit public key {path} cannot be read: {exc.strerror or exc}"
        ) from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"the audit public key {path} is not an Ed25519 public key in PEM")
    return key


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class SignedRecord:
    """A checkpoint or anchor as signed, stored in the table and written to the file."""

    kind: str
    sequence: int
    hash: str
    created_at: str
    key_id: str
    signature: str
    source: str = "database"

    def message(self) -> bytes:
        return signed_message(self.kind, self.sequence, self.hash, self.created_at, self.key_id)

    def line(self) -> str:
        fields = ("kind", "sequence", "hash", "created_at", "key_id", "signature")
        return json.dumps({name: getattr(self, name) for name in fields}, sort_keys=True)


def signed_message(kind: str, sequence: int, hash_: str, created_at: str, key: str) -> bytes:
    return f"casebridge-audit-v1|{kind}|{sequence}|{hash_}|{created_at}|{key}".encode()


def sign(private: Ed25519PrivateKey, *, kind: str, sequence: int, hash_: str, at: datetime):
    public_id = key_id(private.public_key())
    created = time_text(at)
    signature = private.sign(signed_message(kind, sequence, hash_, created, public_id))
    return SignedRecord(
        kind, sequence, hash_, created, public_id, base64.b64encode(signature).decode()
    )


def signature_valid(public: Ed25519PublicKey, record: SignedRecord) -> bool:
    if record.key_id != key_id(public):
        return False
    try:
        public.verify(base64.b64decode(record.signature, validate=True), record.message())
    except (InvalidSignature, ValueError):
        return False
    return True


def append_line(record: SignedRecord, path: Path | None = None) -> None:
    """Append one JSON line and flush it to disk before the caller goes on."""
    path = path or checkpoint_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(record.line() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise AuditKeyError(
            f"the audit checkpoint file {path} ({CHECKPOINT_ENV}) cannot be written: "
            f"{exc.strerror or exc}"
        ) from None


def read_lines(path: Path | None = None) -> list[SignedRecord | int]:
    """The file's records in order; a line that is not a record comes back as its number."""
    path = path or checkpoint_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(
            f"the audit checkpoint file {path} ({CHECKPOINT_ENV}) cannot be read: {exc}"
        ) from None
    records: list[SignedRecord | int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            records.append(
                SignedRecord(
                    kind=str(data["kind"]),
                    sequence=int(data["sequence"]),
                    hash=str(data["hash"]),
                    created_at=str(data["created_at"]),
                    key_id=str(data["key_id"]),
                    signature=str(data["signature"]),
                    source=f"file line {number}",
                )
            )
        except (ValueError, KeyError, TypeError):
            records.append(number)
    return records
