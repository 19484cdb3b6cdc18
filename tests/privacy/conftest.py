# The hotline's contact factory and the multi-agency case serve the privacy tests too.
from __future__ import annotations

import pytest

from tests.cases.conftest import world  # noqa: F401
from tests.hotline.conftest import hotline_org, make_contact  # noqa: F401


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
