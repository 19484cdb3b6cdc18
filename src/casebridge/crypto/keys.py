"""The key ring for field encryption (AES-256-GCM) and the blind index (HMAC-SHA-256).

Keys come from ``CASEBRIDGE_KEYS`` or the file named by ``CASEBRIDGE_KEYS_FILE``: one key
per line (or comma-separated) as ``ID:BASE64``, 32 bytes each. The first key encrypts;
all of them decrypt, so a new key can be put first and old data re-encrypted with
``casebridge keys rotate``. The blind-index key is derived from the first-loaded
``index`` entry when present, else from the oldest key, and must never change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ImproperlyConfigured

PREFIX = "cbenc1"


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]  # id -> key, in order; the first one encrypts
    index_key: bytes

    @property
    def current(self) -> tuple[str, bytes]:
        key_id = next(iter(self.keys))
        return key_id, self.keys[key_id]


def parse_key_ring(text: str, source: str) -> KeyRing:
    keys: dict[str, bytes] = {}
    index_key = None
    for number, raw in enumerate(text.replace(",", "\n").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key_id, sep, encoded = line.partition(":")
        if not sep or not key_id.isalnum():
            raise ImproperlyConfigured(
                f"{source}: entry {number} must be ID:BASE64 (ID letters and digits)"
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(
                f"{source}: entry {number} ({key_id}) is not base64"
            ) from None
        if len(key) != 32:
            raise ImproperlyConfigured(
                f"{source}: entry {number} ({key_id}) must be 32 bytes, is {len(key)}"
            )
        if key_id == "index":
            index_key = key
        elif key_id in keys:
            raise ImproperlyConfigured(f"{source}: key id {key_id} appears twice")
        else:
            keys[key_id] = key
    if not keys:
        raise ImproperlyConfigured(f"{source}: no encryption key")
    if index_key is None:
        index_key = hmac.new(
            list(keys.values())[-1], b"casebridge blind index", hashlib.sha256
        ).digest()
    return KeyRing(keys, index_key)


@lru_cache(maxsize=1)
def key_ring() -> KeyRing:
    """The configured key ring (read once per process)."""
    inline = os.environ.get("CASEBRIDGE_KEYS")
    file_name = os.environ.get("CASEBRIDGE_KEYS_FILE")
    if inline and file_name:
        raise ImproperlyConfigured(
            "CASEBRIDGE_KEYS and CASEBRIDGE_KEYS_FILE are both set; set only one"
        )
    if inline:
        return parse_key_ring(inline, "CASEBRIDGE_KEYS")
    if file_name:
        try:
            return parse_key_ring(
                Path(file_name).read_text(encoding="utf-8"), "CASEBRIDGE_KEYS_FILE"
            )
        except OSError as exc:
            raise ImproperlyConfigured(
                f"CASEBRIDGE_KEYS_FILE: cannot read {file_name}: {exc.strerror}"
            ) from None
    raise ImproperlyConfigured(
        "CASEBRIDGE_KEYS: not set; set CASEBRIDGE_KEYS or CASEBRIDGE_KEYS_FILE"
    )


def new_key_line(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def encrypt(value: str, *, context: str) -> str:
    """``cbenc1:KEYID:BASE64(nonce | ciphertext+tag)``; the context binds it to its column."""
    key_id, key = key_ring().current
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, value.encode(), context.encode())
    return f"{PREFIX}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str, *, context: str) -> str:
    prefix, key_id, encoded = token.split(":", 2)
    if prefix != PREFIX:
        raise ValueError("not an encrypted value")
    key = key_ring().keys.get(key_id)
    if key is None:
        raise ImproperlyConfigured(f"CASEBRIDGE_KEYS: key {key_id} is needed to read stored data")
    raw = base64.b64decode(encoded)
    return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()


def is_encrypted(value: str) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ":")


def key_id_of(token: str) -> str:
    return token.split(":", 2)[1]


def blind_index(*parts: str) -> str:
    """A keyed digest of normalised values, for exact-match lookups without plaintext."""
    normalised = "\x1f".join(" ".join(p.split()).casefold() for p in parts)
    return hmac.new(key_ring().index_key, normalised.encode(), hashlib.sha256).hexdigest()


def name_index(name: str) -> str:
    """The blind index of a full name held in one field; empty for an empty name.

    Word order is ignored ("Ali Beispiel" and "Beispiel, Ali" match), so a search by first
    and last name finds a name however it was typed.
    """
    words = sorted(" ".join(name.replace(",", " ").split()).casefold().split())
    if not words:
        return ""
    return blind_index("name", *words)
