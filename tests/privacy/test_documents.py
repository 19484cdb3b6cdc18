"""Case documents at rest (DESIGN.md invariant 6), through the pages and the API: an outsider
reading DATA_DIR finds no byte of an upload or its name, downloads give back the exact
bytes, rotation and the upgrade migration seal every file, a backup refuses clear files."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from casebridge.audit.models import AuditEvent
from casebridge.cases.models import Entry
from casebridge.crypto import files, keys
from casebridge.crypto.files import private_storage
from casebridge.ops import backup
from tests.privacy.documents import documents, marker, upload_by_api, upload_by_page

pytestmark = pytest.mark.django_db

T1 = "t1:" + "B" * 43 + "="
T2 = "t2:" + "A" * 43 + "="


def readable_windows(folder: Path, secret: bytes) -> list[str]:
    """Every file below ``folder`` holding any 16-byte window of ``secret``."""
    windows = {secret[i : i + 16] for i in range(len(secret) - 15)}
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if any(window in data for window in windows):
            found.append(str(path))
    return found


def raw_column(entry: Entry, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM cases_entry WHERE id = %s", [entry.pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.mark.parametrize("upload", [upload_by_page, upload_by_api])
def test_an_outsider_reading_the_data_folder_finds_no_byte_of_a_document(
    private_dir, world, personas, upload
):
    client = personas.client(personas.partner)
    uploaded = [(upload(client, world.case, *doc[:2]), *doc) for doc in documents()]

    for entry, name, body, mark in uploaded:
        assert readable_windows(private_dir, mark) == []
        assert readable_windows(private_dir, name.encode()) == []
        # the name on disk is random, the uploaded one is an encrypted column
        assert re.fullmatch(r"entries/\d{4}/\d{2}/[0-9a-f]{32}", entry.document.name)
        assert raw_column(entry, "document_name").startswith("cbenc1:t2:")
        assert Entry.objects.get(pk=entry.pk).document_name == name
        # the page and the API give back the exact bytes, with the right length
        for url in (
            reverse("cases:document", args=[entry.pk]),
            f"/api/v1/cases/entries/{entry.pk}/document",
        ):
            response = client.get(url)
            assert response.status_code == 200
            assert b"".join(response.streaming_content) == body
            assert int(response["Content-Length"]) == len(body)
    details = json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    assert not [name for _entry, name, _body, _mark in uploaded if name in details]
    for path in private_dir.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    assert stat.S_IMODE(private_dir.stat().st_mode) == 0o700


def test_rotation_reseals_documents_and_the_old_key_can_go(
    private_dir, world, personas, monkeypatch, capsys
):
    monkeypatch.setenv("CASEBRIDGE_KEYS", f"{T1},{T2}")
    keys.key_ring.cache_clear()
    client = personas.client(personas.partner)
    name, body, _mark = documents()[2]
    entry = upload_by_api(client, world.case, name, body)
    assert private_storage().key_id(entry.document.name) == "t1"

    monkeypatch.setenv("CASEBRIDGE_KEYS", f"{T2},{T1}")
    keys.key_ring.cache_clear()
    call_command("keys", "rotate")
    assert "and 1 documents with key t2" in capsys.readouterr().out
    monkeypatch.setenv("CASEBRIDGE_KEYS", T2)  # the old key removed
    keys.key_ring.cache_clear()
    try:
        assert private_storage().key_id(entry.document.name) == "t2"
        download = client.get(reverse("cases:document", args=[entry.pk]))
        assert b"".join(download.streaming_content) == body
        assert Entry.objects.get(pk=entry.pk).document_name == name
    finally:
        keys.key_ring.cache_clear()


def test_the_upgrade_seals_files_written_before_encryption(private_dir, world, personas):
    """What migration cases.0007 does to an installation of the previous version."""
    folder = private_dir / "entries" / "2026" / "01"
    folder.mkdir(parents=True)
    for path in (private_dir, private_dir / "entries", folder):
        path.chmod(0o755)  # as the previous version left them
    old = folder / f"{world.case.pk}-20260101120000000000"
    body = b"%PDF-1.4 " + marker()
    old.write_bytes(body)
    old.chmod(0o644)
    name = old.relative_to(private_dir).as_posix()
    Entry.objects.filter(pk=world.counselling.pk).update(document=name)
    assert private_storage().in_clear() == [name]

    files.encrypt_stored_documents(None, None)

    assert private_storage().in_clear() == []
    assert readable_windows(private_dir, body[9:]) == []
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE(private_dir.stat().st_mode) == 0o700
    assert Entry.objects.get(pk=world.counselling.pk).document.read() == body


def test_a_backup_refuses_documents_in_clear(private_dir, tmp_path):
    private_dir.mkdir(parents=True)
    (private_dir / "old").write_bytes(b"written in clear")
    with pytest.raises(backup.BackupError, match="1 files in .* are not encrypted"):
        backup.backup_data(tmp_path / "backup")
    assert not (tmp_path / "backup").exists()
