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
        [
            sys.executable,
            "-m",
            "casebridge.ops.cli",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _plain_paths() -> list[str]:
    """Every page address without parameters, from the URL configuration itself."""
    from django.urls import URLPattern, URLResolver, get_resolver

    paths = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if route.startswith("api/") or route.startswith("admin/"):
                    continue
                walk(pattern.url_patterns, prefix + route)
            elif isinstance(pattern, URLPattern) and "<" not in route and "(" not in route:
                paths.append("/" + prefix + route.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns)
    return sorted(set(paths))


@pytest.mark.parametrize("persona", ["hotline", "partner", "police", "coordinator", "dpo", "admin"])
def test_every_page_carries_the_headers_and_is_not_stored(personas, persona):
    client = personas.client(getattr(personas, persona))
    paths = _plain_paths()
    assert len(paths) > 30
    seen_ok = 0
    for path in paths:
        response = client.get(path)
        assert "script-src 'self'" in response["Content-Security-Policy"], path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["X-Content-Type-Options"] == "nosniff", path
        if response.status_code == 200:
            seen_ok += 1
            assert response["Cache-Control"] == "no-store", path
    assert seen_ok >= 8
