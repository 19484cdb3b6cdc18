"""The statistics tests count two years of synthetic work."""

from __future__ import annotations

import pytest

from casebridge.ops.volume import build


@pytest.fixture
def stats_data(db, personas):
    """Synthetic contacts, referrals and cases over the last two years."""
    return build(contacts=400, cases=120, seed=11)
