"""The client address behind a reverse proxy (TRUSTED_PROXIES, X-Forwarded-For)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.test import Client, override_settings
from django.urls import reverse

import casebridge
from casebridge.audit.models import AuditEvent
from tests.builders import PASSWORD


def sign_in(headers: dict, remote_addr: str = "127.0.0.1") -> AuditEvent:
    Client(REMOTE_ADDR=remote_addr).post(
        reverse("accounts:login"), {"username": "hotline", "password": PASSWORD}, **headers
    )
    return AuditEvent.objects.filter(action="accounts.login").latest("id")


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_audit_origin_is_the_client_behind_a_trusted_proxy(personas):
    event = sign_in({"HTTP_X_FORWARDED_FOR": "203.0.113.7"})
    assert event.remote_addr == "203.0.113.7"


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_only_the_address_the_proxy_saw_counts(personas):
    # The client wrote its own X-Forwarded-For; nginx appended the real address.
    event = sign_in({"HTTP_X_FORWARDED_FOR": "10.9.9.9, 198.51.100.4"})
    assert event.remote_addr == "198.51.100.4"


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_the_header_from_an_untrusted_address_is_ignored(personas):
    event = sign_in({"HTTP_X_FORWARDED_FOR": "203.0.113.7"}, remote_addr="192.0.2.50")
    assert event.remote_addr == "192.0.2.50"


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_a_malformed_header_keeps_the_proxy_address(personas):
    event = sign_in({"HTTP_X_FORWARDED_FOR": "not-an-address"})
    assert event.remote_addr == "127.0.0.1"


def test_without_trusted_proxies_the_header_is_ignored(personas):
    event = sign_in({"HTTP_X_FORWARDED_FOR": "203.0.113.7"})
    assert event.remote_addr == "127.0.0.1"


def test_a_trusted_proxy_that_is_no_address_stops_the_start(tmp_path):
    environment = {
        "PATH": "/usr/bin:/bin",
        # the casebridge under test, also when another copy is installed
        "PYTHONPATH": str(Path(casebridge.__file__).parents[1]),
        "CASEBRIDGE_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 40,
        "TRUSTED_PROXIES": "127.0.0.1,nginx",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import casebridge.settings"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'nginx' is not an IP address" in result.stderr
