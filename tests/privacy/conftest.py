"""The privacy tests record audit pruning and keep documents in a folder of their own."""

from __future__ import annotations

import pytest

from casebridge.privacy.retention import months_before, years_before
from tests.privacy.retention_data import (
    DAY,
    NOW,
    age_contact,
    close_case,
    consent_ended,
    declined_referral,
    with_related_person_and_document,
)


@pytest.fixture
def prune_calls(monkeypatch):
    """audit_prune belongs to the audit app (written in parallel): record how it is called.

    The fake answers the number of events older than ``before`` without deleting them.
    """
    from casebridge.audit import services
    from casebridge.audit.models import AuditEvent

    calls = []

    def fake_prune(*, before, actor=None, dry_run, through_sequence=None, as_of=None):
        calls.append({"before": before, "actor": actor, "dry_run": dry_run, "as_of": as_of})
        return AuditEvent.objects.filter(occurred_at__lt=before).count()

    monkeypatch.setattr(services, "audit_prune", fake_prune, raising=False)
    return calls


@pytest.fixture
def private_dir(tmp_path):
    """A storage folder of the test's own: the walks and rotations below see only its files."""
    from casebridge.crypto import files

    storage = files.private_storage()
    storage._setup()  # make sure the lazy storage exists, then swap its folder
    before = storage._wrapped
    storage._wrapped = files.EncryptedFileStorage(tmp_path / "data" / "private")
    yield tmp_path / "data" / "private"
    storage._wrapped = before


@pytest.fixture
def database_documents():
    """Documents kept in the database (crypto.database), whatever DOCUMENT_STORAGE says."""
    from casebridge.crypto import files
    from casebridge.crypto.database import DatabaseStorage

    storage = files.private_storage()
    storage._setup()
    before = storage._wrapped
    storage._wrapped = DatabaseStorage()
    yield storage._wrapped
    storage._wrapped = before


@pytest.fixture
def everything_due(world, personas, make_contact):
    """One record due under every rule, and one of each kept."""
    for age in (-DAY, DAY):
        age_contact(make_contact(), months_before(NOW, 12) + age)
        age_contact(
            make_contact(anonymous=False, caller_name="Erika Muster"),
            months_before(NOW, 6) + age,
        )
        declined_referral(make_contact, personas, months_before(NOW, 12) + age)
        consent_ended(world, personas, withdrawn_at=years_before(NOW, 3) + age)
    with_related_person_and_document(world, personas)
    close_case(world, personas, years_before(NOW, 3) - DAY)
