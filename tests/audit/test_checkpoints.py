"""Signed checkpoints: a cut-off tail is detected even with a forged chain head."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from casebridge.audit import chain as chain_format
from casebridge.audit import signing
from casebridge.audit.models import AuditEvent, ChainHead, Checkpoint
from casebridge.audit.services import audit_checkpoint, audit_record, audit_verify, seal_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    AuditEvent.objects.all().delete()
    ChainHead.objects.all().delete()
    for number in range(1, 7):
        audit_record(actor=None, action="test.event", object_type="test", object_id=number)
    seal_pending()


def test_keygen_writes_a_private_key_and_refuses_to_overwrite(isolated_signing_files, capsys):
    call_command("audit", "keygen")
    key = isolated_signing_files.key
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert isolated_signing_files.public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert str(key) in capsys.readouterr().out
    before = key.read_bytes()
    with pytest.raises(CommandError, match="already exists; refusing to overwrite"):
        call_command("audit", "keygen")
    assert key.read_bytes() == before


def test_checkpoint_is_stored_in_the_table_and_the_file(chain, signing_key):
    checkpoint = audit_checkpoint()
    head = ChainHead.objects.get()
    assert (checkpoint.sequence, checkpoint.hash) == (head.sequence, head.hash) == (6, head.hash)
    line = json.loads(signing_key.checkpoints.read_text().splitlines()[-1])
    assert (line["kind"], line["sequence"], line["hash"]) == ("checkpoint", 6, head.hash)
    assert audit_checkpoint() is None  # nothing new: no second line
    assert len(signing_key.checkpoints.read_text().splitlines()) == 1
    result = audit_verify()
    assert (result.broken, result.checkpoints) == (None, 1)  # the row and the line: the same


def test_truncation_with_a_forged_chain_head_is_detected_through_the_file(chain, signing_key):
    audit_checkpoint()
    # Someone with write access to the database cuts off the tail and covers it up.
    AuditEvent.objects.filter(sequence__gte=5).delete()
    Checkpoint.objects.all().delete()
    fourth = AuditEvent.objects.get(sequence=4)
    ChainHead.objects.update(sequence=4, hash=fourth.hash)
    result = audit_verify()
    assert result.broken.sequence == 5
    assert "signed checkpoint at sequence 6" in result.broken.problem
    with pytest.raises(CommandError, match="at event 5: events after sequence 4 were removed"):
        call_command("audit", "verify")


def test_a_rechained_edit_is_caught_by_the_checkpoint(chain, signing_key):
    """Recomputing every hash after an edit fools the chain, not the signed checkpoint."""
    audit_checkpoint()
    AuditEvent.objects.filter(sequence=3).update(action="test.forged")
    with chain_format.connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET sequence = NULL WHERE sequence >= 3")
        cursor.execute("UPDATE audit_chainhead SET sequence = 2, hash = %s", [_hash(2)])
    seal_pending()  # the forger re-chains events 3-6 with their tool of choice
    result = audit_verify()
    assert (result.broken.sequence, result.broken.problem) == (
        6,
        "event 6 does not match its signed checkpoint",
    )


def _hash(sequence):
    return AuditEvent.objects.get(sequence=sequence).hash


def test_a_forged_checkpoint_row_is_detected(chain, signing_key):
    audit_checkpoint()
    Checkpoint.objects.update(hash=_hash(5), sequence=5)
    result = audit_verify()
    assert result.broken.problem == "the checkpoint at sequence 5 has an invalid signature"


def test_a_checkpoint_signed_with_another_key_is_detected(chain, signing_key, tmp_path):
    other = signing.sign(
        signing.load_private_key(_other_key(tmp_path)),
        kind="checkpoint",
        sequence=9,
        hash_="a" * 64,
        at=AuditEvent.objects.get(sequence=1).occurred_at,
    )
    signing.append_line(other)
    with pytest.raises(CommandError, match="checkpoint at sequence 9 \\(file line 1\\) has an inv"):
        call_command("audit", "verify")


def _other_key(tmp_path):
    path = tmp_path / "other.key"
    signing.generate_key(path)
    return path


def test_a_garbled_checkpoint_file_line_is_reported(chain, signing_key):
    signing_key.checkpoints.write_text("not json\n")
    assert audit_verify().broken.problem == "line 1 of the checkpoint file is not a checkpoint"


def test_auditors_verify_with_the_public_key_only(chain, signing_key, monkeypatch, capsys):
    audit_checkpoint()
    public = signing_key.public
    monkeypatch.setenv(signing.KEY_ENV, str(signing_key.key.parent / "elsewhere.key"))
    call_command("audit", "verify", "--public-key", str(public))
    assert "1 signed checkpoints checked" in capsys.readouterr().out


def test_missing_key_names_the_variable_and_the_path(chain, isolated_signing_files):
    path = isolated_signing_files.key
    with pytest.raises(CommandError) as caught:
        call_command("audit", "checkpoint")
    assert signing.KEY_ENV in str(caught.value) and str(path) in str(caught.value)
    # verify needs the key once checkpoints exist
    signing.generate_key()
    audit_checkpoint()
    path.unlink()
    with pytest.raises(CommandError) as caught:
        call_command("audit", "verify")
    assert signing.KEY_ENV in str(caught.value) and str(path) in str(caught.value)


def test_an_unreadable_key_names_the_variable_and_the_path(chain, isolated_signing_files):
    path = isolated_signing_files.key
    path.parent.mkdir(parents=True)
    path.write_text("not a key")
    with pytest.raises(CommandError) as caught:
        call_command("audit", "checkpoint")
    message = str(caught.value)
    assert signing.KEY_ENV in message and str(path) in message and "not an Ed25519" in message


def test_the_worker_writes_a_checkpoint_each_round(chain, signing_key):
    call_command("worker", "--once")
    assert Checkpoint.objects.filter(kind="checkpoint").latest("sequence").sequence >= 6
    assert signing_key.checkpoints.exists()


def test_the_worker_seals_and_warns_without_a_key(chain, isolated_signing_files, capsys):
    audit_record(actor=None, action="test.pending")
    call_command("worker", "--once")
    assert not Checkpoint.objects.exists()
    assert not AuditEvent.objects.filter(sequence=None).exists()
    assert signing.KEY_ENV in capsys.readouterr().err
