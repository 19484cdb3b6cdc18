"""Documents encrypted at rest (DESIGN.md invariant 6): a file storage that seals what it writes.

Every file in ``DATA_DIR/private`` (case documents, subject access bundles) is written by
``EncryptedFileStorage`` in this format, version 1::

    header   = b"cbdoc" 0x01 | len(key id) (1 byte) | key id (ASCII) | salt (32) | nonce prefix (7)
    body     = segment 0 | segment 1 | ... | segment n-1     (n >= 1)
    segment  = AES-256-GCM(file key, nonce, 64 KiB of plaintext, aad): ciphertext | tag (16)

    file key = HKDF-SHA256(the key ring's key "key id", salt, info=b"casebridge document v1")
    nonce    = nonce prefix (7) | segment index (4, big-endian) | 1 for the last segment, else 0
    aad      = header | the file's name in the storage (UTF-8)

This is the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár ("Online
authenticated-encryption and its nonce-reuse misuse-resistance", 2015) with a key per file,
the layout of Tink's AES-GCM-HKDF streaming AEAD: segments cannot be reordered, dropped,
truncated at a segment boundary or moved to another file name without the decryption
failing; only the last segment may be shorter than 64 KiB. Every segment is decrypted
and checked before any of its bytes are handed out, so large files stream in constant
memory, and readers can seek (a ZIP bundle is read in place).

The same format is kept in the database by ``crypto.database`` (the header and each sealed
segment a row of their own); ``DOCUMENT_STORAGE`` chooses which of the two holds documents.

Files are created 0600 and folders 0700 whatever the process's umask. Names on disk are
chosen by the caller (random for documents); the uploaded name lives in the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import posixpath
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.utils.functional import LazyObject
from django.utils.module_loading import import_string

from casebridge.crypto import keys

MAGIC = b"cbdoc\x01"
SEGMENT = 64 * 1024
TAG = 16
SALT = 32
NONCE_PREFIX = 7
INFO = b"casebridge document v1"
FILE_MODE = 0o600
FOLDER_MODE = 0o700
# Re-encryption writes beside the file, then renames; a crash may leave one behind
# (ciphertext, harmless; the next rotation ignores it).
TEMPORARY_PREFIX = ".cbtmp-"


class NotEncrypted(ValueError):
    """The file does not start with the header: written before documents were encrypted."""


class DocumentDamaged(ValueError):
    """The file was changed, truncated or moved: a segment does not decrypt."""


@dataclass(frozen=True)
class Header:
    key_id: str
    salt: bytes
    nonce_prefix: bytes

    def encode(self) -> bytes:
        key_id = self.key_id.encode("ascii")
        return MAGIC + bytes([len(key_id)]) + key_id + self.salt + self.nonce_prefix

    @classmethod
    def read(cls, handle) -> Header:
        """Read the header at the start of ``handle``; NotEncrypted when there is none."""
        magic = handle.read(len(MAGIC))
        if magic != MAGIC:
            raise NotEncrypted("no casebridge document header")
        length = handle.read(1)
        key_id = handle.read(length[0]) if length else b""
        rest = handle.read(SALT + NONCE_PREFIX)
        if not key_id or len(key_id) != length[0] or len(rest) != SALT + NONCE_PREFIX:
            raise DocumentDamaged("the header is cut short")
        return cls(key_id.decode("ascii"), rest[:SALT], rest[SALT:])


def _context(name: str) -> bytes:
    return posixpath.normpath(str(name).replace("\\", "/")).encode()


def _cipher(header: Header, name: str) -> tuple[AESGCM, bytes]:
    """The file's AEAD and the associated data of its segments."""
    key = keys.key_ring().keys.get(header.key_id)
    if key is None:
        raise ImproperlyConfigured(
            f"CASEBRIDGE_KEYS: key {header.key_id} is needed to read stored documents"
        )
    file_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=header.salt, info=INFO).derive(key)
    return AESGCM(file_key), header.encode() + _context(name)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """Write plaintext, emit sealed segments to ``raw``; ``finish()`` seals the last one.

    A segment goes out only when more data follows it, so the last one is always known.
    ``raw.write`` is called once with the header, then once per sealed segment: a store
    that keeps segments apart (``crypto.database``) takes each call as one piece.
    """

    def __init__(self, raw, name: str):
        key_id, _key = keys.key_ring().current
        header = Header(key_id, secrets.token_bytes(SALT), secrets.token_bytes(NONCE_PREFIX))
        self._aead, self._aad = _cipher(header, name)
        self._prefix = header.nonce_prefix
        self._raw = raw
        self._buffer = bytearray()
        self._index = 0
        raw.write(header.encode())

    def _emit(self, data, *, last: bool) -> None:
        nonce = _nonce(self._prefix, self._index, last)
        self._raw.write(self._aead.encrypt(nonce, data, self._aad))
        self._index += 1

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        total = len(view)
        if self._buffer:
            room = SEGMENT - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if not view:
                return total
            self._emit(self._buffer, last=False)
            self._buffer = bytearray()
        while len(view) > SEGMENT:
            self._emit(view[:SEGMENT], last=False)
            view = view[SEGMENT:]
        self._buffer += view
        return total

    def finish(self) -> None:
        self._emit(self._buffer, last=True)
        self._buffer = bytearray()


class SealedReader(io.RawIOBase):
    """The plaintext of a sealed document, read and seekable segment by segment.

    Where the sealed segments come from is the subclass's business (a file, rows of a
    table): it gives the header, the length of the body and ``_sealed(index)``.
    """

    def __init__(self, header: Header, name: str, body: int):
        super().__init__()
        self._name = name
        self._use(header)
        self._segments = max(1, -(-body // (SEGMENT + TAG)))
        if body - (self._segments - 1) * (SEGMENT + TAG) < TAG:
            raise DocumentDamaged("the file is cut short")
        self.size = body - self._segments * TAG
        self._position = 0
        self._cached: tuple[int, bytes] = (-1, b"")

    def _use(self, header: Header) -> None:
        self._header = header
        self._aead, self._aad = _cipher(header, self._name)
        self._prefix = header.nonce_prefix

    def _sealed(self, index: int) -> bytes:
        """Segment ``index`` as stored (ciphertext and tag)."""
        raise NotImplementedError

    def _resealed(self) -> Header | None:
        """The header now stored, when the document was re-encrypted since it was opened
        (same plaintext, new key): reading goes on with it. None when it was not."""
        return None

    def _decrypt(self, index: int) -> bytes:
        last = index == self._segments - 1
        sealed = self._sealed(index)
        return self._aead.decrypt(_nonce(self._prefix, index, last), sealed, self._aad)

    def _segment(self, index: int) -> bytes:
        if self._cached[0] != index:
            try:
                plain = self._decrypt(index)
            except InvalidTag:
                header = self._resealed()
                if header is None:
                    raise DocumentDamaged(f"segment {index} does not decrypt") from None
                self._use(header)
                try:
                    plain = self._decrypt(index)
                except InvalidTag:
                    raise DocumentDamaged(f"segment {index} does not decrypt") from None
            self._cached = (index, plain)
        return self._cached[1]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._position < self.size:
            index, offset = divmod(self._position, SEGMENT)
            chunk = self._segment(index)[offset : offset + len(view) - done]
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
            self._position += len(chunk)
        return done

    def close(self) -> None:
        if not self.closed:
            self._cached = (-1, b"")
        super().close()


class DecryptingReader(SealedReader):
    """The plaintext of an encrypted file (``raw``: the file opened in binary)."""

    def __init__(self, raw, name: str):
        self._raw = raw
        header = Header.read(raw)
        self._start = raw.tell()
        super().__init__(header, name, os.fstat(raw.fileno()).st_size - self._start)

    def _sealed(self, index: int) -> bytes:
        self._raw.seek(self._start + index * (SEGMENT + TAG))
        return self._raw.read(SEGMENT + TAG)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class DocumentFile(File):
    """A stored document opened for reading; reopening after close decrypts afresh."""

    def __init__(self, storage, name: str):
        self._storage = storage
        super().__init__(storage.reader(name), name)

    def open(self, mode: str = "rb"):
        if mode != "rb":
            raise ValueError("stored documents open read-only ('rb')")
        if self.closed:
            self.file = self._storage.reader(self.name)
        else:
            self.seek(0)
        return self


@contextlib.contextmanager
def _held(path: str) -> Iterator[int | None]:
    """An exclusive lock on the file now at ``path`` (None when there is none).

    Re-encryption replaces a file by renaming a new one over it while holding this lock,
    and deletion takes it too, so a file deleted meanwhile is never brought back.
    """
    while True:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            yield None
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                yield fd
                return
        finally:
            os.close(fd)


class SealingSave:
    """Django's ``_save`` for both document storages: stream the upload through the
    storage's ``writer(name)``, taking the next free name when one exists already."""

    def _save(self, name: str, content) -> str:
        while True:
            try:
                with self.writer(name) as out:
                    for chunk in content.chunks():
                        out.write(chunk)
                return name
            except FileExistsError:
                name = self.get_available_name(name)


class EncryptedFileStorage(SealingSave, FileSystemStorage):
    """A FileSystemStorage whose files hold ciphertext only (format in the module docstring)."""

    def __init__(self, location):
        super().__init__(
            location=location,
            file_permissions_mode=FILE_MODE,
            directory_permissions_mode=FOLDER_MODE,
        )

    # -- writing ---------------------------------------------------------------------

    def _folders(self, folder: str) -> None:
        """Create ``folder`` and its missing parents below the location, each 0700."""
        missing = []
        path = Path(folder)
        while not path.is_dir():
            missing.append(path)
            path = path.parent
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=FOLDER_MODE)
                path.chmod(FOLDER_MODE)

    @contextlib.contextmanager
    def _create(self, path: str, name: str) -> Iterator[EncryptingWriter]:
        """A new file at ``path`` (never an existing one), sealed for ``name``; synced."""
        self._folders(os.path.dirname(path))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as raw:
                writer = EncryptingWriter(raw, name)
                yield writer
                writer.finish()
                raw.flush()
                os.fsync(raw.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            raise

    def writer(self, name: str) -> contextlib.AbstractContextManager[EncryptingWriter]:
        """Stream plaintext into the new file ``name``: ``with storage.writer(n) as out:``."""
        return self._create(self.path(name), name)

    # -- reading ---------------------------------------------------------------------

    def reader(self, name: str) -> DecryptingReader:
        raw = open(self.path(name), "rb")  # noqa: SIM115 - the reader owns and closes it
        try:
            return DecryptingReader(raw, name)
        except BaseException:
            raw.close()
            raise

    def _open(self, name: str, mode: str = "rb") -> DocumentFile:
        if mode != "rb":
            raise ValueError("stored documents open read-only ('rb')")
        return DocumentFile(self, name)

    def size(self, name: str) -> int:
        with self.reader(name) as reader:
            return reader.size

    def stored_bytes(self, name: str) -> Iterator[bytes]:
        """The file as stored (ciphertext), in pieces: for checks and tests."""
        with open(self.path(name), "rb") as raw:
            yield from iter(lambda: raw.read(SEGMENT + TAG), b"")

    def key_id(self, name: str) -> str | None:
        """The id of the key the file is sealed with; None for a file in clear."""
        with open(self.path(name), "rb") as raw:
            try:
                return Header.read(raw).key_id
            except NotEncrypted:
                return None

    # -- deleting and re-encrypting --------------------------------------------------

    def delete(self, name: str) -> None:
        if not name:
            raise ValueError("The name must be given to delete().")
        path = self.path(name)
        with _held(path) as fd:
            if fd is not None:
                os.remove(path)

    def reencrypt(self, name: str) -> bool:
        """Seal the file with the current key (a file in clear too); False if it already was."""
        path = self.path(name)
        current = keys.key_ring().current[0]
        with _held(path) as fd:
            if fd is None:
                return False
            with os.fdopen(os.dup(fd), "rb") as raw:
                try:
                    found = Header.read(raw).key_id
                except NotEncrypted:
                    found = None
                if found == current:
                    return False
                raw.seek(0)
                source = DecryptingReader(raw, name) if found else raw
                folder, base = os.path.split(path)
                temporary = os.path.join(folder, f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}-{base}")
                with self._create(temporary, name) as out:
                    for block in iter(lambda: source.read(SEGMENT), b""):
                        out.write(block)
                os.replace(temporary, path)
            return True

    def names(self) -> Iterator[str]:
        """Every stored file's name, in a stable order (temporary files left out)."""
        root = Path(self.location)
        if not root.is_dir():
            return
        for folder, folders, files in os.walk(root):
            folders.sort()
            for file_name in sorted(files):
                if not file_name.startswith(TEMPORARY_PREFIX):
                    yield Path(folder, file_name).relative_to(root).as_posix()

    def in_clear(self) -> list[str]:
        """The names of stored files that are not encrypted (written before encryption)."""
        return [name for name in self.names() if self.key_id(name) is None]

    def tighten(self) -> None:
        """Set 0700 on the location and every folder below it, 0600 on every file."""
        root = Path(self.location)
        if not root.is_dir():
            return
        root.chmod(FOLDER_MODE)
        for folder, folders, files in os.walk(root):
            for name in folders:
                Path(folder, name).chmod(FOLDER_MODE)
            for name in files:
                Path(folder, name).chmod(FILE_MODE)

    def reencrypt_all(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Seal every file with the current key (files in clear included) and tighten the
        modes; return how many files were rewritten. Safe to repeat and to interrupt."""
        self.tighten()
        names = list(self.names())
        changed = 0
        for done, name in enumerate(names, start=1):
            changed += self.reencrypt(name)
            if progress:
                progress(done, len(names))
        return changed


DATABASE_STORAGE = "casebridge.crypto.database.DatabaseStorage"


class _PrivateStorage(LazyObject):
    """Uploads live outside anything a web server serves; only the policy hands them out.

    ``DOCUMENT_STORAGE`` chooses where: "database" (``crypto.database``, every app server
    reads the same documents) or "files" (``DATA_DIR/private`` on this machine).
    """

    def _setup(self):
        if settings.DOCUMENT_STORAGE == "database":
            # by name: crypto.database builds on this module and imports models
            self._wrapped = import_string(DATABASE_STORAGE)()
        else:
            self._wrapped = file_storage()


def file_storage() -> EncryptedFileStorage:
    """The documents on this machine's disk, whichever storage is in use."""
    return EncryptedFileStorage(location=Path(settings.DATA_DIR) / "private")


_private_storage = _PrivateStorage()


def private_storage():
    """A callable, so migrations name this function instead of one machine's data folder."""
    return _private_storage


def encrypt_stored_documents(apps, schema_editor) -> None:
    """A migration step: seal every file written before documents were encrypted (on disk,
    where documents were before they could be kept in the database)."""
    storage = private_storage()
    (storage if isinstance(storage, EncryptedFileStorage) else file_storage()).reencrypt_all()
