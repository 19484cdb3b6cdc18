"""A signing key and a checkpoint file of the test's own (never the shared data directory)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from casebridge.audit import signing


@dataclass
class Signing:
    key: Path
    public: Path
    checkpoints: Path


@pytest.fixture(autouse=True)
def isolated_signing_files(tmp_path, monkeypatch):
    """Every audit test points the key and checkpoint file at its own temporary folder."""
    key = tmp_path / "keys" / "audit-signing.key"
    monkeypatch.setenv(signing.KEY_ENV, str(key))
    monkeypatch.setenv(signing.CHECKPOINT_ENV, str(tmp_path / "audit-checkpoints.jsonl"))
    return Signing(key, signing.public_key_file(key), tmp_path / "audit-checkpoints.jsonl")


@pytest.fixture
def signing_key(isolated_signing_files):
    signing.generate_key()
    return isolated_signing_files
