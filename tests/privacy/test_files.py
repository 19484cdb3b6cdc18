"""The encrypted file storage (crypto.files): format, tampering, modes, streaming, rotation.

Each test has its own storage folder, so key ring changes here touch no other test's files.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import time
import tracemalloc

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casebridge.crypto import files, keys
from casebridge.crypto.files import (
    SEGMENT,
    TAG,
    DocumentDamaged,
    EncryptedFileStorage,
    Header,
    NotEncrypted,
)

T1 = "t1:" + "B" * 43 + "="
T2 = "t2:" + "A" * 43 + "="


@pytest.fixture
def storage(tmp_path):
    return EncryptedFileStorage(tmp_path / "private")


@pytest.fixture
def ring(monkeypatch):
    """Set the key ring for one test: ``ring("t1,t2")`` (first one encrypts)."""
    lines = {"t1": T1, "t2": T2}

    def use(ids: str) -> None:
        monkeypatch.setenv("CASEBRIDGE_KEYS", ",".join(lines[i] for i in ids.split(",")))
        keys.key_ring.cache_clear()

    yield use
    keys.key_ring.cache_clear()


def windows(marker: bytes, width: int = 16):
    return [marker[i : i + width] for i in range(len(marker) - width + 1)]


def assert_nowhere(data: bytes, marker: bytes) -> None:
    found = [w for w in windows(marker) if w in data]
    assert not found, f"{len(found)} windows of the marker are readable"


class Chunked(ContentFile):
    """Content handed to the storage in chunks of a chosen size."""

    def __init__(self, data: bytes, chunk: int):
        super().__init__(data)
        self.chunk = chunk

    def chunks(self, chunk_size=None):
        return super().chunks(self.chunk)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    size=st.one_of(
        st.integers(0, 3 * SEGMENT + 17),
        st.sampled_from([SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 2 * SEGMENT + 1]),
    ),
    chunk=st.integers(1, 3 * SEGMENT),
)
def test_any_size_written_in_any_chunks_reads_back(tmp_path_factory, size, chunk):
    storage = EncryptedFileStorage(tmp_path_factory.mktemp("private"))
    data = os.urandom(size)
    name = storage.save("doc", Chunked(data, chunk))
    with storage.open(name) as opened:
        assert opened.size == size == storage.size(name)
        assert opened.read() == data
    on_disk = os.path.getsize(storage.path(name))
    segments = max(1, -(-size // SEGMENT))
    assert on_disk == len(Header("t2", b"", b"").encode()) + 32 + 7 + size + segments * TAG


def test_the_file_holds_no_window_of_the_plaintext_also_across_a_segment_boundary(storage):
    marker = os.urandom(8).hex().encode() * 2  # 32 bytes
    data = b"x" * (SEGMENT - 10) + marker + os.urandom(3 * SEGMENT) + marker
    name = storage.save("doc", ContentFile(data))
    with open(storage.path(name), "rb") as raw:
        stored = raw.read()
    assert_nowhere(stored, marker)
    assert stored.startswith(b"cbdoc\x01\x02t2")  # magic, version, key id
    assert storage.open(name).read() == data


def test_reads_and_seeks_in_the_middle(storage):
    data = os.urandom(3 * SEGMENT + 100)
    name = storage.save("doc", ContentFile(data))
    opened = storage.open(name)
    opened.seek(SEGMENT - 5)
    assert opened.read(10) == data[SEGMENT - 5 : SEGMENT + 5]
    opened.seek(-7, io.SEEK_END)
    assert opened.read() == data[-7:]
    assert opened.tell() == len(data)
    opened.close()
    assert opened.open().read(5) == data[:5]  # a closed document opens again


def _tampered(storage, name, change) -> None:
    path = storage.path(name)
    with open(path, "rb") as raw:
        data = bytearray(raw.read())
    with open(path, "wb") as raw:
        raw.write(change(data))


def _read_all(storage, name) -> bytes:
    with storage.open(name) as opened:
        return opened.read()


HEADER = len(Header("t2", b"", b"").encode()) + 32 + 7
SEALED = SEGMENT + TAG


@pytest.mark.parametrize(
    ("what", "change"),
    [
        (
            "a flipped bit in the first segment",
            lambda d: d[:HEADER] + bytes([d[HEADER] ^ 1]) + d[HEADER + 1 :],
        ),
        ("a flipped bit in the last tag", lambda d: d[:-1] + bytes([d[-1] ^ 1])),
        ("cut at a segment boundary", lambda d: d[: HEADER + 2 * SEALED]),
        ("cut inside a segment", lambda d: d[:-100]),
        ("a segment dropped", lambda d: d[: HEADER + SEALED] + d[HEADER + 2 * SEALED :]),
        (
            "two segments swapped",
            lambda d: (
                d[:HEADER]
                + d[HEADER + SEALED : HEADER + 2 * SEALED]
                + d[HEADER : HEADER + SEALED]
                + d[HEADER + 2 * SEALED :]
            ),
        ),
        ("a segment appended", lambda d: d + d[HEADER : HEADER + SEALED]),
        ("another salt in the header", lambda d: d[:10] + bytes([d[10] ^ 1]) + d[11:]),
    ],
)
def test_tampering_is_detected(storage, what, change):
    data = os.urandom(3 * SEGMENT + 5)
    name = storage.save("doc", ContentFile(data))
    _tampered(storage, name, change)
    with pytest.raises(DocumentDamaged):
        _read_all(storage, name)


def test_a_file_moved_to_another_name_does_not_open(storage):
    first = storage.save("a", ContentFile(b"for case one"))
    second = storage.save("b", ContentFile(b"for case two"))
    os.replace(storage.path(first), storage.path(second))
    with pytest.raises(DocumentDamaged):
        _read_all(storage, second)


def test_another_key_id_in_the_header_does_not_open(storage, ring):
    ring("t2,t1")
    name = storage.save("doc", ContentFile(b"sealed under t2"))
    _tampered(storage, name, lambda d: d.replace(b"\x02t2", b"\x02t1", 1))
    with pytest.raises(DocumentDamaged):
        _read_all(storage, name)


def test_a_file_in_clear_is_refused_not_served(storage):
    os.makedirs(storage.location)
    with open(storage.path("old"), "wb") as raw:
        raw.write(b"%PDF written before encryption")
    with pytest.raises(NotEncrypted):
        storage.open("old")
    assert storage.key_id("old") is None and storage.in_clear() == ["old"]


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_files_are_0600_and_folders_0700_whatever_the_umask(tmp_path, umask):
    storage = EncryptedFileStorage(tmp_path / "data" / "private")
    old = os.umask(umask)
    try:
        name = storage.save("entries/2026/01/doc", ContentFile(b"x"))
        storage.save("exports/bundle", ContentFile(b"y"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(storage.path(name)).st_mode) == 0o600
    for folder in ("", "entries", "entries/2026", "entries/2026/01", "exports"):
        path = tmp_path / "data" / "private" / folder
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, (folder, oct(umask))


def test_a_restrictive_umask_does_not_lock_the_app_out(tmp_path):
    storage = EncryptedFileStorage(tmp_path / "private")
    old = os.umask(0o777)
    try:
        name = storage.save("entries/doc", ContentFile(b"still readable"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(storage.path(name)).st_mode) == 0o600
    assert _read_all(storage, name) == b"still readable"


def test_reading_and_writing_stream_in_constant_memory(storage):
    size = 8 * 1024 * 1024
    block = os.urandom(SEGMENT)

    class Stream(ContentFile):
        def chunks(self, chunk_size=None):
            for _ in range(size // SEGMENT):
                yield block

    tracemalloc.start()
    try:
        name = storage.save("big", Stream(b""))
        written = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        with storage.open(name) as opened:
            total = sum(len(chunk) for chunk in iter(lambda: opened.read(4096), b""))
        read = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == size
    assert written < 6 * SEGMENT, written
    assert read < 6 * SEGMENT, read


def test_reencrypt_seals_clear_and_old_files_and_leaves_current_ones(storage, ring):
    ring("t1,t2")
    old = storage.save("old", ContentFile(b"under t1"))
    os.makedirs(storage.path("legacy"))
    os.chmod(storage.path("legacy"), 0o755)  # noqa: S103 - as an old installation left it
    with open(storage.path("legacy/clear"), "wb") as raw:
        raw.write(b"written in clear")
    os.chmod(storage.path("legacy/clear"), 0o644)
    ring("t2,t1")
    current = storage.save("current", ContentFile(b"under t2"))
    before = os.stat(storage.path(current)).st_mtime_ns

    assert storage.reencrypt_all() == 2
    assert storage.reencrypt_all() == 0  # nothing left to do

    ring("t2")  # the old key is gone: everything still opens
    assert {n: storage.key_id(n) for n in storage.names()} == dict.fromkeys(
        ["current", "legacy/clear", "old"], "t2"
    )
    assert _read_all(storage, old) == b"under t1"
    assert _read_all(storage, "legacy/clear") == b"written in clear"
    assert os.stat(storage.path(current)).st_mtime_ns == before
    assert stat.S_IMODE(os.stat(storage.path("legacy")).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(storage.path("legacy/clear")).st_mode) == 0o600


def test_a_missing_key_is_named(storage, ring):
    ring("t1")
    name = storage.save("doc", ContentFile(b"under t1"))
    ring("t2")
    with pytest.raises(ImproperlyConfigured, match="key t1 is needed to read stored documents"):
        _read_all(storage, name)
    with pytest.raises(ImproperlyConfigured, match="key t1"):
        storage.reencrypt(name)


def test_a_file_deleted_during_its_reencryption_stays_deleted(storage, ring, monkeypatch):
    """Erasure deletes a file while rotation rewrites it: the rename must not bring it back."""
    ring("t1,t2")
    name = storage.save("doc", ContentFile(os.urandom(SEGMENT * 2)))
    ring("t2,t1")
    writing, release = threading.Event(), threading.Event()
    original = files.EncryptingWriter.finish

    def slow_finish(self):
        writing.set()
        release.wait(10)
        original(self)

    monkeypatch.setattr(files.EncryptingWriter, "finish", slow_finish)
    rotation = threading.Thread(target=storage.reencrypt, args=(name,))
    rotation.start()
    assert writing.wait(10)
    deletion = threading.Thread(target=storage.delete, args=(name,))
    deletion.start()
    time.sleep(0.2)
    assert deletion.is_alive()  # waits for the rotation's lock
    release.set()
    rotation.join(10)
    deletion.join(10)
    assert not storage.exists(name)
    assert list(storage.names()) == []
