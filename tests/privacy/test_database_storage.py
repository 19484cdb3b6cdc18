"""Documents kept in the database (crypto.database): the cbdoc v1 format of crypto.files,
one row per piece, so several app servers read the same documents.

Round trips, streaming in constant memory, seeking, tampering, a name moved to other rows,
a missing document, key rotation (also while a reader is half way), the move from disk, and
upload, download and the subject access bundle through the pages and the API.
"""

from __future__ import annotations

import io
import os
import tracemalloc
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse

from casebridge.crypto import keys
from casebridge.crypto.database import DatabaseStorage, MoveError, move_files_into_database
from casebridge.crypto.files import (
    SEGMENT,
    TAG,
    DecryptingReader,
    DocumentDamaged,
    EncryptedFileStorage,
)
from casebridge.storage.models import DocumentPiece
from tests.privacy.documents import documents, upload_by_api, upload_by_page

pytestmark = pytest.mark.django_db

T1 = "t1:" + "B" * 43 + "="
T2 = "t2:" + "A" * 43 + "="


@pytest.fixture
def storage():
    return DatabaseStorage()


@pytest.fixture
def ring(monkeypatch):
    lines = {"t1": T1, "t2": T2}

    def use(ids: str) -> None:
        monkeypatch.setenv("CASEBRIDGE_KEYS", ",".join(lines[i] for i in ids.split(",")))
        keys.key_ring.cache_clear()

    yield use
    keys.key_ring.cache_clear()


def read_all(storage, name) -> bytes:
    with storage.open(name) as opened:
        return opened.read()


@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 3 * SEGMENT + 17]
)
def test_any_size_reads_back_and_the_pieces_are_a_cbdoc_file(storage, tmp_path, size):
    data = os.urandom(size)
    name = storage.save("entries/doc", ContentFile(data))
    assert storage.exists(name) and storage.size(name) == size
    assert read_all(storage, name) == data
    pieces = DocumentPiece.objects.filter(name=name).order_by("piece")
    assert pieces.count() == 1 + max(1, -(-size // SEGMENT))  # the header, then segments
    # end to end, the pieces are the file EncryptedFileStorage would read: the same format
    (tmp_path / "doc").write_bytes(b"".join(storage.stored_bytes(name)))
    with DecryptingReader(open(tmp_path / "doc", "rb"), name) as reader:
        assert reader.read() == data


def test_a_taken_name_gets_another(storage):
    first = storage.save("entries/doc", ContentFile(b"one"))
    second = storage.save("entries/doc", ContentFile(b"two"))
    assert first != second
    assert (read_all(storage, first), read_all(storage, second)) == (b"one", b"two")
    assert list(storage.names()) == sorted([first, second])
    assert storage.listdir("entries") == ([], [n.split("/", 1)[1] for n in sorted([first, second])])


def test_reads_and_seeks_in_the_middle(storage):
    data = os.urandom(9 * SEGMENT + 100)  # more than a batch of segments
    name = storage.save("doc", ContentFile(data))
    opened = storage.open(name)
    opened.seek(SEGMENT - 5)
    assert opened.read(10) == data[SEGMENT - 5 : SEGMENT + 5]
    opened.seek(-7, io.SEEK_END)
    assert opened.read() == data[-7:]
    opened.seek(6 * SEGMENT + 3)
    assert opened.read(SEGMENT) == data[6 * SEGMENT + 3 : 7 * SEGMENT + 3]
    opened.seek(2)
    assert opened.read(3) == data[2:5]  # back again, before the batch held
    opened.close()
    assert opened.open().read(5) == data[:5]


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
    assert written < 12 * SEGMENT, written  # of 128 segments (the driver copies a few)
    assert read < 12 * SEGMENT, read  # a batch of 4 segments as fetched, one decrypted


def _piece(name, number) -> DocumentPiece:
    return DocumentPiece.objects.get(name=name, piece=number)


def test_a_changed_byte_a_swapped_or_dropped_segment_is_detected(storage):
    data = os.urandom(3 * SEGMENT)
    for change in ("flip", "swap", "drop_last", "cut"):
        name = storage.save("doc", ContentFile(data))
        if change == "flip":
            piece = _piece(name, 2)
            piece.data = bytes([piece.data[0] ^ 1]) + bytes(piece.data[1:])
            piece.save()
        elif change == "swap":
            one, two = _piece(name, 1), _piece(name, 2)
            one.data, two.data = bytes(two.data), bytes(one.data)
            one.save()
            two.save()
        elif change == "drop_last":
            _piece(name, 3).delete()
        else:
            piece = _piece(name, 3)
            piece.data = bytes(piece.data)[: -TAG - 1]
            piece.save()
        with pytest.raises(DocumentDamaged):
            read_all(storage, name)


def test_a_missing_piece_in_the_middle_is_named_damage(storage):
    name = storage.save("doc", ContentFile(os.urandom(3 * SEGMENT)))
    _piece(name, 2).delete()
    with pytest.raises(DocumentDamaged, match="missing"):
        storage.open(name)


def test_pieces_moved_to_another_name_do_not_open(storage):
    name = storage.save("entries/a", ContentFile(b"belongs to a"))
    DocumentPiece.objects.filter(name=name).update(name="entries/b")
    with pytest.raises(DocumentDamaged):
        read_all(storage, "entries/b")


def test_a_missing_document_is_a_clear_error(storage):
    assert not storage.exists("entries/none")
    with pytest.raises(FileNotFoundError, match="no stored document"):
        storage.open("entries/none")
    storage.delete("entries/none")  # deleting what is not there is no error


def test_delete_removes_every_piece(storage):
    name = storage.save("doc", ContentFile(os.urandom(2 * SEGMENT)))
    storage.delete(name)
    assert not DocumentPiece.objects.filter(name=name).exists()


def test_rotation_reseals_with_the_new_key_and_a_reader_half_way_reads_on(storage, ring):
    ring("t1")
    data = os.urandom(10 * SEGMENT + 5)
    old = storage.save("old", ContentFile(data))
    reader = storage.open(old)
    first = reader.read(SEGMENT)  # half way when the rotation comes
    ring("t2,t1")
    current = storage.save("current", ContentFile(b"under t2"))
    assert storage.key_id(old) == "t1" and storage.key_id(current) == "t2"
    assert storage.reencrypt_all() == 1
    assert storage.reencrypt_all() == 0  # nothing left to do
    assert first + reader.read() == data  # same plaintext, the new header taken up
    reader.close()
    ring("t2")  # the old key is gone: everything still opens
    assert {n: storage.key_id(n) for n in storage.names()} == {"current": "t2", "old": "t2"}
    assert read_all(storage, old) == data
    assert not DocumentPiece.objects.filter(name__startswith=".cbtmp-").exists()


def test_the_move_from_disk_copies_verifies_and_is_safe_to_repeat(storage, tmp_path):
    files = EncryptedFileStorage(tmp_path / "private")
    made = {
        files.save(f"entries/2026/01/{n}", ContentFile(os.urandom(n * 40_000))): n for n in (1, 3)
    }
    before = {name: b"".join(files.stored_bytes(name)) for name in made}
    assert move_files_into_database(files) == {"moved": 2, "present": 0, "deleted": 0}
    for name in made:
        assert b"".join(storage.stored_bytes(name)) == before[name]  # as it was, no re-sealing
        assert read_all(storage, name) == read_all(files, name)
    assert move_files_into_database(files, delete_files=True) == {
        "moved": 0,
        "present": 2,
        "deleted": 2,
    }
    assert list(files.names()) == []

    other = EncryptedFileStorage(tmp_path / "other")
    other.save(next(iter(made)), ContentFile(b"not the same"))
    with pytest.raises(MoveError, match="other content"):
        move_files_into_database(other)
    (tmp_path / "clear").mkdir()
    (tmp_path / "clear" / "old").write_bytes(b"written in clear")
    with pytest.raises(MoveError, match="not encrypted"):
        move_files_into_database(EncryptedFileStorage(tmp_path / "clear"))


def test_the_command_moves_and_reports(storage, tmp_path, settings, capsys):
    settings.DATA_DIR = tmp_path
    settings.DOCUMENT_STORAGE = "database"
    files = EncryptedFileStorage(tmp_path / "private")
    name = files.save("entries/doc", ContentFile(b"moved"))
    call_command("documents", "move")
    assert "1 documents moved" in capsys.readouterr().out
    call_command("documents", "status")
    assert "documents in the database: 1" in capsys.readouterr().out
    assert read_all(storage, name) == b"moved"


@pytest.mark.parametrize("upload", [upload_by_page, upload_by_api])
def test_upload_download_and_bundle_through_the_app(
    database_documents, tmp_path, world, personas, upload
):
    from casebridge.privacy import services

    client = personas.client(personas.partner)
    uploaded = [(upload(client, world.case, *doc[:2]), *doc) for doc in documents()]
    for entry, _name, body, _mark in uploaded:
        assert database_documents.exists(entry.document.name)
        for url in (
            reverse("cases:document", args=[entry.pk]),
            f"/api/v1/cases/entries/{entry.pk}/document",
        ):
            response = client.get(url)
            assert response.status_code == 200
            assert b"".join(response.streaming_content) == body
            assert int(response["Content-Length"]) == len(body)
    assert not any((tmp_path / "data").rglob("*"))  # nothing on the disk

    item = services.subject_request_create(actor=personas.dpo, kind="access", article="art15")
    services.subject_request_attach(
        actor=personas.dpo, request=item, keys=[f"cases:{world.case.pk}"]
    )
    services.subject_request_prepare(actor=personas.dpo, request=item)
    assert database_documents.exists(item.export_file.name)
    with item.export_file.open() as bundle, zipfile.ZipFile(bundle) as archive:  # in place
        held = [archive.read(n) for n in archive.namelist() if n.startswith("documents/")]
    assert sorted(held) == sorted(body for _e, _n, body, _m in uploaded)
