"""Documents encrypted at rest, kept in the database: the storage for several app servers.

The format is cbdoc v1 of ``crypto.files``, byte for byte; only the medium differs. Each
document is rows of ``storage.DocumentPiece``: piece 0 the header, piece i the sealed
segment i-1 (64 KiB of ciphertext and its tag). The sealing and opening are those of
``crypto.files`` (``EncryptingWriter``, ``SealedReader``), so:

- writing streams: one row per segment as the upload is read, in constant memory, inside
  one transaction (a savepoint within the caller's), so a document is there with the row
  that names it or not at all;
- reading streams and seeks: a segment is fetched when it is read (a few at a time), so
  a ZIP bundle is read in place;
- tampering, reordering, truncation and a name moved to other rows fail as with files:
  the name is in every segment's associated data.

Why the database (docs/operations.md, "Several app servers"): every app server sees the
same documents, one system to back up and restore (``pg_dump`` holds them), and a document
is written and erased in the transaction of the row that names it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

from django.core.files.storage import Storage
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.db.models.functions import Length

from casebridge.crypto import keys
from casebridge.crypto.files import (
    SEGMENT,
    TAG,
    TEMPORARY_PREFIX,
    DocumentDamaged,
    DocumentFile,
    EncryptedFileStorage,
    EncryptingWriter,
    Header,
    NotEncrypted,
    SealedReader,
    SealingSave,
)
from casebridge.storage.models import DocumentPiece

# Segments fetched per query when reading: 4 of 64 KiB, the most a reader holds.
BATCH = 4


def _bytes(value) -> bytes:
    return bytes(value) if not isinstance(value, bytes) else value


class _Rows:
    """``raw.write`` for EncryptingWriter: each call is the next piece of ``name``."""

    def __init__(self, name: str):
        self.name = name
        self.piece = 0

    def write(self, data) -> int:
        DocumentPiece.objects.create(name=self.name, piece=self.piece, data=bytes(data))
        self.piece += 1
        return len(data)


def _header(name: str) -> bytes | None:
    row = DocumentPiece.objects.filter(name=name, piece=0).values_list("data", flat=True)
    found = row.first()
    return None if found is None else _bytes(found)


class DatabaseReader(SealedReader):
    """The plaintext of a document kept in the database, fetched segment by segment."""

    def __init__(self, name: str):
        head = _header(name)
        if head is None:
            raise FileNotFoundError(f"no stored document {name}")
        shape = DocumentPiece.objects.filter(name=name).aggregate(
            count=Count("pk"), last=Max("piece")
        )
        if shape["count"] != shape["last"] + 1 or shape["last"] < 1:
            raise DocumentDamaged("a segment is missing")
        last = (
            DocumentPiece.objects.filter(name=name, piece=shape["last"])
            .annotate(length=Length("data"))
            .values_list("length", flat=True)
            .get()
        )
        self._head = head
        self._batch: dict[int, bytes] = {}
        super().__init__(
            Header.read(io.BytesIO(head)), name, (shape["last"] - 1) * (SEGMENT + TAG) + last
        )

    def _sealed(self, index: int) -> bytes:
        if index not in self._batch:
            rows = DocumentPiece.objects.filter(
                name=self._name, piece__gte=index + 1, piece__lt=index + 1 + BATCH
            ).values_list("piece", "data")
            self._batch = {piece - 1: _bytes(data) for piece, data in rows}
            if index not in self._batch:
                raise DocumentDamaged(f"segment {index} is missing")
        return self._batch[index]

    def _resealed(self) -> Header | None:
        head = _header(self._name)
        if head is None or head == self._head:
            return None
        self._head, self._batch = head, {}
        return Header.read(io.BytesIO(head))

    def close(self) -> None:
        self._batch = {}
        super().close()


class DatabaseStorage(SealingSave, Storage):
    """A Django storage whose documents are sealed pieces in ``storage_documentpiece``."""

    # -- writing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def writer(self, name: str) -> Iterator[EncryptingWriter]:
        """Stream plaintext into the new document ``name``: ``with storage.writer(n) as out:``.

        FileExistsError when the name is taken; nothing stays behind on an error.
        """
        with transaction.atomic():
            try:
                with transaction.atomic():
                    out = EncryptingWriter(_Rows(name), name)
            except IntegrityError:
                raise FileExistsError(name) from None
            yield out
            out.finish()

    # -- reading ---------------------------------------------------------------------

    def reader(self, name: str) -> DatabaseReader:
        return DatabaseReader(name)

    def _open(self, name: str, mode: str = "rb") -> DocumentFile:
        if mode != "rb":
            raise ValueError("stored documents open read-only ('rb')")
        return DocumentFile(self, name)

    def exists(self, name: str) -> bool:
        return DocumentPiece.objects.filter(name=name, piece=0).exists()

    def size(self, name: str) -> int:
        with self.reader(name) as reader:
            return reader.size

    def stored_bytes(self, name: str) -> Iterator[bytes]:
        """The document as stored (ciphertext), piece by piece: the bytes of a cbdoc file."""
        pieces = DocumentPiece.objects.filter(name=name).order_by("piece")
        for data in pieces.values_list("data", flat=True).iterator(chunk_size=BATCH):
            yield _bytes(data)

    def key_id(self, name: str) -> str | None:
        """The id of the key the document is sealed with; None for one in clear."""
        head = _header(name)
        if head is None:
            raise FileNotFoundError(f"no stored document {name}")
        try:
            return Header.read(io.BytesIO(head)).key_id
        except NotEncrypted:
            return None

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = path.rstrip("/") + "/" if path.strip("/") else ""
        folders, files = set(), []
        for name in self.names():
            if name.startswith(prefix):
                rest = name[len(prefix) :]
                if "/" in rest:
                    folders.add(rest.split("/", 1)[0])
                else:
                    files.append(rest)
        return sorted(folders), files

    def url(self, name):
        raise NotImplementedError("documents are served by the app only, never by address")

    # -- deleting and re-encrypting --------------------------------------------------

    def delete(self, name: str) -> None:
        if not name:
            raise ValueError("The name must be given to delete().")
        DocumentPiece.objects.filter(name=name).delete()

    def reencrypt(self, name: str) -> bool:
        """Seal the document with the current key; False if it already was (or is gone).

        The new pieces are written under a temporary name (sealed for ``name``), then, in
        the same transaction, the old ones are deleted and the new ones take the name: a
        reader sees the old document or the new one, and one reading across the change
        goes on with the new header (same plaintext).
        """
        current = keys.key_ring().current[0]
        with transaction.atomic():
            head = (
                DocumentPiece.objects.select_for_update()
                .filter(name=name, piece=0)
                .values_list("data", flat=True)
                .first()
            )
            if head is None:
                return False
            found = Header.read(io.BytesIO(_bytes(head))).key_id
            if found == current:
                return False
            temporary = f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}-{name}"[:255]
            with DatabaseReader(name) as source:
                out = EncryptingWriter(_Rows(temporary), name)
                for block in iter(lambda: source.read(SEGMENT), b""):
                    out.write(block)
                out.finish()
            DocumentPiece.objects.filter(name=name).delete()
            DocumentPiece.objects.filter(name=temporary).update(name=name)
        return True

    def names(self) -> Iterator[str]:
        """Every stored document's name, in a stable order."""
        yield from (
            DocumentPiece.objects.filter(piece=0)
            .exclude(name__startswith=TEMPORARY_PREFIX)
            .order_by("name")
            .values_list("name", flat=True)
            .iterator()
        )

    def in_clear(self) -> list[str]:
        """Documents not encrypted: none is ever written so; kept for the backup's check."""
        return [name for name in self.names() if self.key_id(name) is None]

    def tighten(self) -> None:
        """Nothing to do: no file of the database's is the app's to set modes on."""

    def reencrypt_all(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Seal every document with the current key; return how many were rewritten.
        Each document in a transaction of its own: safe to repeat and to interrupt."""
        names = list(self.names())
        changed = 0
        for done, name in enumerate(names, start=1):
            changed += self.reencrypt(name)
            if progress:
                progress(done, len(names))
        return changed


# -- moving documents from the disk into the database ----------------------------------


class MoveError(Exception):
    pass


def _plain_digest(reader) -> str:
    digest = hashlib.sha256()
    with reader:
        for block in iter(lambda: reader.read(SEGMENT), b""):
            digest.update(block)
    return digest.hexdigest()


def move_files_into_database(
    source: EncryptedFileStorage,
    *,
    delete_files: bool = False,
    progress: Callable[[str, str], None] | None = None,
) -> dict[str, int]:
    """Copy every sealed file of ``source`` into the database, as it is (no re-encryption:
    the name, and so every segment's associated data, stays the same); then read it back
    from the database and compare the plaintext's SHA-256 with the file's.

    Idempotent: a document already in the database with the same content is skipped (and
    counted as verified); one with other content stops the move. Files in clear stop it
    before anything is copied ("casebridge keys rotate" seals them first). With
    ``delete_files`` a file is removed once its copy is verified.
    """
    names = list(source.names())
    clear = [name for name in names if source.key_id(name) is None]
    if clear:
        raise MoveError(f"{len(clear)} files are not encrypted")
    target = DatabaseStorage()
    counts = {"moved": 0, "present": 0, "deleted": 0}
    for name in names:
        expected = _plain_digest(source.reader(name))
        if target.exists(name):
            if _plain_digest(target.reader(name)) != expected:
                raise MoveError(f"{name}: the database holds other content under this name")
            counts["present"] += 1
            what = "present"
        else:
            with transaction.atomic():
                rows = _Rows(name)
                with open(Path(source.path(name)), "rb") as raw:
                    header = Header.read(raw)
                    rows.write(header.encode())
                    for sealed in iter(lambda r=raw: r.read(SEGMENT + TAG), b""):
                        rows.write(sealed)
                if _plain_digest(target.reader(name)) != expected:
                    raise MoveError(f"{name}: the copy does not read back the same")
            counts["moved"] += 1
            what = "moved"
        if delete_files:
            source.delete(name)
            counts["deleted"] += 1
        if progress:
            progress(name, what)
    return counts
