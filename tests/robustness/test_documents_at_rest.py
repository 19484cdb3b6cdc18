"""The outsider's view of documents (DESIGN.md invariant 6) on a real installation.

Documents with random markers (small, across a 64 KiB segment boundary, several MB) are
uploaded through the page and the API of gunicorn running under a permissive umask. Then
nothing that an outsider can read holds any 16-byte window of a marker or of an uploaded
file name: no file under the installation (data folder with the SQLite database and its
WAL, logs), no file of a fresh ``casebridge backup data`` (the tar unpacked, a PostgreSQL
dump turned back into SQL; on PostgreSQL the documents are rows of that dump,
DOCUMENT_STORAGE=database). Folders are 0700 and files 0600. A restore into a new
installation gives back the same bytes on download, through the page and the API.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from casebridge.crypto.files import SEGMENT
from tests.robustness.server import (
    Browser,
    Installation,
    api_fetch,
    multipart,
    same_kind_of_database,
)

pytestmark = pytest.mark.slow

CASE = """
from casebridge.accounts.models import User
from casebridge.cases.models import Participant
partner = User.objects.get(username="partner")
print(Participant.objects.filter(members=partner).order_by("case_id").first().case_id)
"""

STORED_IN_DATABASE = """
from casebridge.storage.models import DocumentPiece
print(DocumentPiece.objects.filter(piece=0).count())
"""

LATEST_DOCUMENT = """
from casebridge.cases.models import Entry
print(Entry.objects.filter(kind="document").latest("pk").pk)
"""


@contextlib.contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def documents() -> list[tuple[str, bytes, bytes]]:
    """(upload name, content, marker) for three sizes; the name carries a marker too."""
    made = []
    for size, place in (
        (200, 50),
        (SEGMENT + 100, SEGMENT - 12),
        (3 * 1024 * 1024, 2 * SEGMENT - 5),
    ):
        mark = b"MARKER-" + os.urandom(12).hex().encode()
        body = bytearray(os.urandom(size))
        body[place : place + len(mark)] = mark
        body[-len(mark) :] = mark
        made.append((f"Gutachten-{os.urandom(10).hex()}.pdf", bytes(body), mark))
    return made


def secrets_in(data: bytes, secrets: list[bytes]) -> list[bytes]:
    return [s for s in secrets if any(s[i : i + 16] in data for i in range(len(s) - 15))]


def readable(folder: Path, secrets: list[bytes]) -> dict[str, list[bytes]]:
    """Files below ``folder`` holding a 16-byte window of any secret, and which."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        hits = secrets_in(path.read_bytes(), secrets)
        if hits:
            found[str(path)] = hits
    return found


def assert_private_modes(private: Path) -> None:
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    for path in private.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def download_both_ways(installation: Installation, entry: str) -> tuple[bytes, bytes]:
    token = installation.api_token("partner")
    with installation.server(workers=1) as server:
        browser = Browser(server.url)
        browser.sign_in("partner", "demo-partner-2026")
        page_status, by_page = browser.fetch(f"/cases/entries/{entry}/document/")
        api_status, by_api = api_fetch(server.url, f"/api/v1/cases/entries/{entry}/document", token)
    assert (page_status, api_status) == (200, 200)
    return by_page, by_api


def test_an_outsider_finds_no_document_byte_and_a_restore_gives_them_back(
    installation, tmp_path_factory
):
    case = installation.python(CASE).strip()
    token = installation.api_token("partner")
    uploaded = {}  # entry id -> content
    with umask(0o000), installation.server(workers=1) as server:
        browser = Browser(server.url)
        browser.sign_in("partner", "demo-partner-2026")
        for number, (name, body, _mark) in enumerate(documents() + documents()):
            if number % 2:
                status, answer = browser.upload(
                    f"/cases/{case}/entries/",
                    {
                        "entry-kind": "document",
                        "entry-category": "counselling",
                        "entry-title": "Gutachten",
                    },
                    {"entry-document": (name, body)},
                )
                assert status == 200, answer[-2000:]
                entry = installation.python(LATEST_DOCUMENT).strip()
            else:
                form, content_type = multipart(
                    {"category": "counselling", "title": "Gutachten"}, {"file": (name, body)}
                )
                status, answer = api_fetch(
                    server.url, f"/api/v1/cases/{case}/documents", token, form, content_type
                )
                assert status == 201, answer[-2000:]
                entry = re.search(rb'"id": ?(\d+)', answer).group(1).decode()
            uploaded[entry] = (name, body, _mark)
    secrets = [s for name, _body, mark in uploaded.values() for s in (mark, name.encode())]

    assert readable(installation.root, secrets) == {}
    if installation.database_url:  # DOCUMENT_STORAGE=database: rows, not files
        assert not [p for p in (installation.data_dir / "private").rglob("*") if p.is_file()]
        assert int(installation.python(STORED_IN_DATABASE)) == len(uploaded)
    else:
        assert_private_modes(installation.data_dir / "private")

    backup = tmp_path_factory.mktemp("medium-a") / "data"
    keys = tmp_path_factory.mktemp("medium-b") / "keys"
    installation.run("backup", "data", str(backup))
    installation.run("backup", "keys", str(keys))
    unpacked = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(backup / "private.tar") as archive:
        members = archive.getmembers()
        archive.extractall(unpacked, filter="data")
    assert all(m.mode & 0o077 == 0 for m in members), [(m.name, oct(m.mode)) for m in members]
    in_files = 0 if installation.database_url else len(uploaded)
    assert len([m for m in members if m.isfile()]) == in_files
    assert readable(backup, secrets) == {}
    assert readable(unpacked, secrets) == {}
    if installation.database_url:  # a custom-format dump is compressed: read it as SQL
        sql = subprocess.run(
            ["pg_restore", "--file=-", str(backup / "database.pgdump")],
            capture_output=True,
            check=True,
        ).stdout
        assert b"cases_entry" in sql
        assert secrets_in(sql, secrets) == []

    with same_kind_of_database(installation) as url:
        fresh = Installation(root=tmp_path_factory.mktemp("restored"), database_url=url)
        fresh.restore_keys(keys)
        with umask(0o000):
            fresh.run("restore", "data", str(backup))
        fresh.run("migrate", "--no-input")
        assert_private_modes(fresh.data_dir / "private")
        for entry, (_name, body, _mark) in uploaded.items():
            by_page, by_api = download_both_ways(fresh, entry)
            assert by_page == body and by_api == body, entry


def test_the_walk_finds_a_planted_marker_and_its_windows(tmp_path):
    secret = b"MARKER-" + os.urandom(12).hex().encode()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "clear").write_bytes(b"..." + secret[5:21] + b"...")
    (tmp_path / "b").write_bytes(secret[:15])  # shorter than a window: not a hit
    assert readable(tmp_path, [secret]) == {str(tmp_path / "a" / "clear"): [secret]}
