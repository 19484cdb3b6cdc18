"""The migrations match the models, whatever the machine's data folder."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "elsewhere"
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
