"""Backup and restore round trip: demo data → `casebridge backup data` and `backup keys` →
a fresh installation (new database, new data folder) with the keys copied back →
`casebridge restore data` → the same case reads the same identity, the document is there,
the audit chain verifies."""

from __future__ import annotations

import json
import stat

import pytest

from tests.robustness.server import Installation, same_kind_of_database

pytestmark = pytest.mark.slow

ADD_DOCUMENT = """
from django.core.files.uploadedfile import SimpleUploadedFile
from casebridge.accounts.models import User
from casebridge.cases.models import Participant
from casebridge.cases.services import EntryData, entry_create
from casebridge.cooperation_models.models import Term
from casebridge.access.policy import may_write
partner = User.objects.get(username="partner")
case = Participant.objects.filter(members=partner).order_by("case_id").first().case
category = next(
    term for term in Term.objects.filter(kind="information_category").order_by("code")
    if may_write(partner, case, term)
)
entry = entry_create(actor=partner, case=case, data=EntryData(
    kind="document", category=category, title="Backup test",
    document=SimpleUploadedFile("plan.txt", b"restored document body"),
))
print(entry.pk)
"""

READ_CASE = """
import hashlib, json
from casebridge.cases.models import Case, Entry
case = Case.objects.get(pk=Entry.objects.get(pk={entry}).case_id)
entry = Entry.objects.get(pk={entry})
identity = "|".join([case.first_name, case.last_name, case.date_of_birth, case.address])
print(json.dumps({{
    "number": case.number,
    "identity": hashlib.sha256(identity.encode()).hexdigest(),
    "has_identity": bool(case.first_name and case.last_name),
    "document": entry.document.read().decode(),
    "people": sorted(p.name for p in case.related_people.all()),
}}))
"""


def test_backup_and_restore_round_trip(installation, tmp_path_factory):
    entry = installation.python(ADD_DOCUMENT).strip()
    before = json.loads(installation.python(READ_CASE.format(entry=entry)))
    assert before["has_identity"] and before["document"] == "restored document body"
    installation.run("audit", "checkpoint")

    data_backup = tmp_path_factory.mktemp("medium-a") / "data"
    key_backup = tmp_path_factory.mktemp("medium-b") / "keys"
    installation.run("backup", "data", str(data_backup))
    installation.run("backup", "keys", str(key_backup))
    assert stat.S_IMODE(key_backup.stat().st_mode) == 0o700
    assert sorted(path.name for path in key_backup.iterdir()) == [
        "audit-checkpoints.jsonl",
        "audit-signing.key",
        "audit-signing.key.pub",
        "keyring",
        "keys.json",
        "secret_key",
    ]
    # Keys and data never share a folder.
    assert not {path.name for path in data_backup.iterdir()} & {"keyring", "secret_key"}

    with same_kind_of_database(installation) as url:
        fresh = Installation(root=tmp_path_factory.mktemp("restored"), database_url=url)
        fresh.restore_keys(key_backup)  # as the operator would, where the variables point
        result = fresh.run("restore", "data", str(data_backup))
        assert "restored the backup" in result.stdout
        if url:  # PostgreSQL: the restore analysed the tables (the planner knows they are full)
            analysed = fresh.python(
                "import time\n"
                "from django.db import connection\n"
                "for _ in range(30):\n"
                "    with connection.cursor() as c:\n"
                '        c.execute("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables"\n'
                "                  \" WHERE relname = 'cases_case'\")\n"
                "        done = c.fetchone()[0]\n"
                "    if done:\n"
                "        break\n"
                "    time.sleep(0.1)\n"
                "print(done)\n"
            )
            assert analysed.strip() == "True", analysed
        fresh.run("migrate", "--no-input")
        after = json.loads(fresh.python(READ_CASE.format(entry=entry)))
        assert after == before
        verified = fresh.run("audit", "verify", check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "audit chain intact" in verified.stdout
        assert "1 signed checkpoints checked" in verified.stdout

        # A second restore over the restored installation is refused: nothing changes.
        again = fresh.run("restore", "data", str(data_backup), check=False)
        assert again.returncode != 0
        assert "The database is not empty" in again.stderr


def test_restore_refuses_a_damaged_backup(tmp_path_factory):
    source = Installation(root=tmp_path_factory.mktemp("source"))
    source.run("migrate", "--no-input")
    backup = tmp_path_factory.mktemp("medium") / "data"
    source.run("backup", "data", str(backup))
    with (backup / "private.tar").open("ab") as handle:
        handle.write(b"x")
    fresh = Installation(root=tmp_path_factory.mktemp("fresh"))
    result = fresh.run("restore", "data", str(backup), check=False)
    assert result.returncode != 0
    assert "private.tar is missing or damaged (checksum differs)" in result.stderr
    assert not (fresh.data_dir / "casebridge.sqlite3").exists()


def test_backup_refuses_a_folder_that_is_not_empty(tmp_path_factory):
    source = Installation(root=tmp_path_factory.mktemp("source"))
    source.run("migrate", "--no-input")
    folder = tmp_path_factory.mktemp("medium")
    (folder / "something").write_text("x")
    result = source.run("backup", "data", str(folder), check=False)
    assert result.returncode != 0
    assert "is not empty; choose a new folder" in result.stderr
    assert sorted(path.name for path in folder.iterdir()) == ["something"]
