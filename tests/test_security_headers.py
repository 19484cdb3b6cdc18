"""Security headers on every page type, and Django's deployment check with production settings."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/",
        "/network/organisations/",
        "/hotline/",
        "/cases/",
        "/sop/tasks/",
        "/api/v1/me",
    ],
)
def test_pages_carry_a_strict_policy(personas, url):
    client = personas.client(personas.hotline) if url != "/accounts/login/" else Client()
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_pages_with_personal_data_are_not_stored(personas):
    response = personas.client(personas.hotline).get(reverse("hotline:intake"))
    assert response["Cache-Control"] == "no-store"


def test_templates_have_no_inline_script():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "src" / "casebridge"
    for template in root.rglob("templates/**/*.html"):
        text = template.read_text()
        assert "<script>" not in text and "onclick=" not in text and "style=" not in text, template


def test_deployment_check_passes_with_production_settings(tmp_path):
    environment = {
        "PATH": "/usr/bin:/bin",
        "CASEBRIDGE_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "p" * 20 + "-Production-Key-9f8e7d6c5b4a3210zyxwvu",
        "ALLOWED_HOSTS": "casebridge.example.org",
        "DJANGO_SETTINGS_MODULE": "casebridge.settings",
    }
    result = subprocess.run(
        [sys.executable, "-m", "casebridge.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
