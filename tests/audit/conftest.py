"""Every audit test signs with a key and a checkpoint file of its own."""

import pytest


@pytest.fixture(autouse=True)
def _own_signing_files(isolated_signing_files):
    return isolated_signing_files
