"""Pruning removes a prefix of the chain only and leaves it verifiable from a signed anchor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from casebridge.audit import signing
from casebridge.audit.models import AuditEvent, ChainHead, Checkpoint
from casebridge.audit.services import audit_prune, audit_record, audit_verify, seal_pending

pytestmark = pytest.mark.django_db

OLD = datetime(2020, 1, 1, tzinfo=UTC)
CUTOFF = datetime(2021, 1, 1, tzinfo=UTC)


def make_chain(ages: str):
    """One event per letter: "o" occurred before the cut-off, "n" after it."""
    AuditEvent.objects.all().delete()
    ChainHead.objects.all().delete()
    for number, age in enumerate(ages, start=1):
        event = audit_record(actor=None, action="test.event", object_id=number)
        if age == "o":  # back-dated before it is sealed, as if written in 2020
            AuditEvent.objects.filter(pk=event.pk).update(occurred_at=OLD + timedelta(hours=number))
    seal_pending()


def test_prune_removes_the_old_prefix_and_verify_passes(signing_key):
    make_chain("ooonn")
    assert audit_prune(before=CUTOFF, dry_run=True) == 3
    assert AuditEvent.objects.count() == 5  # dry run: nothing deleted
    assert audit_prune(before=CUTOFF) == 3
    assert sorted(AuditEvent.objects.exclude(sequence=None).values_list("sequence", flat=True)) == [
        4,
        5,
    ]
    pruned = AuditEvent.objects.get(action="audit.pruned")
    assert pruned.details == {"count": 3, "through_sequence": 3}
    anchor = Checkpoint.objects.get(kind="anchor")
    assert anchor.sequence == 3
    assert '"kind": "anchor"' in signing_key.checkpoints.read_text()
    result = audit_verify()
    assert (result.broken, result.anchor, result.checked) == (None, 3, 3)  # 4, 5, audit.pruned


def test_pruning_never_cuts_out_the_middle(signing_key):
    make_chain("onoo")
    assert audit_prune(before=CUTOFF) == 1
    left = AuditEvent.objects.filter(action="test.event").order_by("sequence")
    assert [e.object_id for e in left] == ["2", "3", "4"]  # old events 3 and 4 stay
    assert audit_verify().broken is None


def test_deleting_from_the_middle_by_hand_is_detected(signing_key):
    make_chain("ooonn")
    audit_prune(before=CUTOFF)
    AuditEvent.objects.filter(sequence=5).delete()
    assert audit_verify().broken.problem == "event 5 is missing"


def test_deleting_the_prefix_without_an_anchor_is_detected(signing_key):
    make_chain("ooonn")
    AuditEvent.objects.filter(sequence__lte=3).delete()
    broken = audit_verify().broken
    assert (broken.sequence, broken.problem) == (1, "event 1 is missing")


def test_a_forged_anchor_is_detected(signing_key):
    make_chain("ooonn")
    audit_prune(before=CUTOFF)
    # Someone deletes one more event and moves the anchor forward to hide it.
    fourth = AuditEvent.objects.get(sequence=4)
    AuditEvent.objects.filter(sequence=4).delete()
    Checkpoint.objects.filter(kind="anchor").update(sequence=4, hash=fourth.hash)
    broken = audit_verify().broken
    assert broken.problem == "the anchor at sequence 4 has an invalid signature"


def test_an_anchor_deleted_from_the_table_is_still_in_the_file(signing_key):
    make_chain("ooonn")
    audit_prune(before=CUTOFF)
    Checkpoint.objects.all().delete()
    assert audit_verify().broken is None
    signing_key.checkpoints.write_text("")
    assert audit_verify().broken.problem == "event 1 is missing"


def test_prune_twice_and_verify(signing_key):
    make_chain("oooon")
    audit_prune(before=OLD + timedelta(hours=2, minutes=30))
    audit_prune(before=CUTOFF)
    assert Checkpoint.objects.filter(kind="anchor").count() == 2
    result = audit_verify()
    assert (result.broken, result.anchor) == (None, 4)  # 1-2, then 3-4 (5 is new)


def test_prune_without_a_key_deletes_nothing(isolated_signing_files):
    make_chain("oon")
    with pytest.raises(signing.AuditKeyError, match=signing.KEY_ENV):
        audit_prune(before=CUTOFF)
    assert AuditEvent.objects.count() == 3
    assert audit_prune(before=CUTOFF, dry_run=True) == 2  # counting needs no key


def test_prune_command(signing_key, capsys):
    make_chain("oon")
    call_command("audit", "prune", "--before", "2021-01-01", "--dry-run")
    assert "2 events would be pruned" in capsys.readouterr().out
    call_command("audit", "prune", "--before", "2021-01-01")
    assert "2 events pruned" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--before: '1.1.2021' is not a date"):
        call_command("audit", "prune", "--before", "1.1.2021")


def test_an_event_written_as_of_a_later_moment_is_kept_and_stops_the_prefix(signing_key):
    make_chain("oo")
    audit_record(actor=None, action="test.event", details={"as_of": "2030-01-01T00:00:00+00:00"})
    AuditEvent.objects.filter(sequence=None).update(occurred_at=OLD + timedelta(days=1))
    old_after_it = audit_record(actor=None, action="test.event")
    AuditEvent.objects.filter(pk=old_after_it.pk).update(occurred_at=OLD + timedelta(days=2))
    seal_pending()
    assert audit_prune(before=CUTOFF, dry_run=True) == 2
    assert audit_prune(before=CUTOFF) == 2
    pruned = AuditEvent.objects.get(action="audit.pruned")
    assert audit_prune(before=CUTOFF) == 0  # the as-of event blocks, as it did the first time
    assert AuditEvent.objects.filter(action="audit.pruned").get() == pruned
    assert audit_verify().ok


def test_pruning_stops_after_the_given_sequence(signing_key):
    make_chain("oooo")
    assert audit_prune(before=CUTOFF, through_sequence=2) == 2
    assert sorted(
        AuditEvent.objects.filter(action="test.event").values_list("sequence", flat=True)
    ) == [3, 4]


def test_the_prune_record_is_written_as_of_the_given_moment_and_survives_a_second_prune(
    signing_key,
):
    make_chain("ooo")
    later = datetime(2040, 1, 1, tzinfo=UTC)
    assert audit_prune(before=later, as_of=later) == 3
    assert AuditEvent.objects.get(action="audit.pruned").details["as_of"] == later.isoformat()
    assert audit_prune(before=later, as_of=later) == 0
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["audit.pruned"]
    assert audit_verify().ok


def test_a_prune_that_removes_nothing_writes_no_event(signing_key):
    make_chain("nn")
    assert audit_prune(before=CUTOFF) == 0
    assert not AuditEvent.objects.filter(action="audit.pruned").exists()
