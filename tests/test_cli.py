"""The `casebridge` command end to end, in a fresh data directory, as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    """A data directory prepared by `casebridge demo --no-serve` (SQLite)."""
    data_dir = tmp_path_factory.mktemp("installation")
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CASEBRIDGE_DATA_DIR": str(data_dir),
        "HOME": str(data_dir),
        "LANGUAGE_CODE": "en",  # the command speaks the installation's language
    }
    result = run(environment, "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    return environment, result.stdout


def run(environment: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [sys.executable, "-m", "casebridge.ops.cli", *args],
        env=environment,
        cwd=environment["CASEBRIDGE_DATA_DIR"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_demo_prints_a_login_for_every_role(installation):
    _environment, output = installation
    for role in [
        "hotline_counsellor",
        "partner_counsellor",
        "security_liaison",
        "coordinator",
        "dpo",
        "administrator",
    ]:
        assert role in output
    assert "demo-hotline-2026" in output


def test_demo_keeps_a_private_secret_key(installation):
    environment, _output = installation
    key = Path(environment["CASEBRIDGE_DATA_DIR"]) / "secret_key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_region_command(installation):
    environment, _output = installation
    result = run(environment, "region", "20095")
    assert result.returncode == 0
    assert result.stdout.strip().startswith("20095 → ")
    unknown = run(environment, "region", "00000")
    assert unknown.returncode != 0
    assert 'Unknown postcode "00000"' in unknown.stderr
    malformed = run(environment, "region", "20x95")
    assert malformed.returncode != 0
    assert "is not a well-formed postcode" in malformed.stderr


def test_command_speaks_german_by_default(installation):
    environment, _output = installation
    german = {key: value for key, value in environment.items() if key != "LANGUAGE_CODE"}
    result = run(german, "region", "20095")
    assert result.stdout.strip() == "20095 → Deutschland › Hamburg"


def test_loading_the_model_twice_changes_nothing(installation):
    environment, _output = installation
    result = run(environment, "model", "load", "germany")
    assert result.returncode == 0, result.stderr
    assert "already loaded, nothing changed" in result.stdout


def test_model_check_rejects_a_broken_file_with_exit_code(installation, tmp_path):
    environment, _output = installation
    broken = tmp_path / "broken.toml"
    broken.write_text('[model]\ncode = "x"\n')
    result = run(environment, "model", "check", str(broken))
    assert result.returncode != 0
    assert "broken.toml: [model]: key version: is required" in result.stderr


def test_audit_chain_of_the_demo_verifies(installation):
    environment, _output = installation
    result = run(environment, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "audit chain intact" in result.stdout


def test_demo_signs_audit_checkpoints_with_its_own_key(installation):
    environment, _output = installation
    key = Path(environment["CASEBRIDGE_DATA_DIR"]) / "audit-signing.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    result = run(environment, "audit", "checkpoint")
    assert result.returncode == 0, result.stderr
    result = run(environment, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "1 signed checkpoints checked" in result.stdout


def test_generate_adds_organisations_and_people(installation):
    environment, _output = installation
    result = run(
        environment,
        *("generate", "--organisations", "5", "--people", "20", "--contacts", "300"),
        *("--cases", "40", "--entries", "200"),
    )
    assert result.returncode == 0, result.stderr
    assert "generated 5 organisations, 20 people, 300 contacts, " in result.stdout
    assert " 40 cases, 200 entries" in result.stdout
    for option in ("--people", "--scale", "--entries"):
        bad = run(environment, "generate", option, "-1")
        assert bad.returncode != 0
        assert f"{option}: must not be negative" in bad.stderr


def test_serve_answers_http(installation):
    import socket
    import time
    import urllib.request

    environment, _output = installation
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "casebridge.ops.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=environment,
        cwd=environment["CASEBRIDGE_DATA_DIR"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as response:
                    body = response.read().decode()
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        assert response.status == 200
        assert "csrfmiddlewaretoken" in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/casebridge/app.css") as css:
            assert css.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


# -- without a SECRET_KEY ---------------------------------------------------------------------

OWN_COMMANDS = [
    "audit",
    "backup",
    "demo",
    "generate",
    "keys",
    "model",
    "region",
    "restore",
    "retention",
    "route",
    "serve",
    "sop",
    "stats",
    "training",
    "worker",
]
MISSING_SECRET = "casebridge: SECRET_KEY: not set; set SECRET_KEY or SECRET_KEY_FILE"


@pytest.fixture
def no_secret(tmp_path):
    """An empty folder and an environment without any secret."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CASEBRIDGE_DATA_DIR": str(tmp_path),
        "HOME": str(tmp_path),
        "LANGUAGE_CODE": "en",
    }


def test_checking_a_model_file_needs_no_secret(no_secret):
    result = run(no_secret, "model", "check", "germany")
    assert result.returncode == 0, result.stderr
    assert "germany.toml: valid" in result.stdout
    broken = Path(no_secret["CASEBRIDGE_DATA_DIR"]) / "broken.toml"
    broken.write_text("[model]\nname = 1\n")
    result = run(no_secret, "model", "check", str(broken))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert not (Path(no_secret["CASEBRIDGE_DATA_DIR"]) / "secret_key").exists()


@pytest.mark.parametrize("command", [*OWN_COMMANDS, "migrate"])
def test_the_help_of_every_command_needs_no_secret(no_secret, command):
    result = run(no_secret, command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:") and result.stderr == ""
    assert not list(Path(no_secret["CASEBRIDGE_DATA_DIR"]).iterdir())  # help made nothing


def test_the_list_of_commands_needs_no_secret(no_secret):
    result = run(no_secret, "help")
    assert result.returncode == 0
    assert "[audit]" in result.stdout and "not properly configured" not in result.stdout


@pytest.mark.parametrize(
    "args", [["migrate"], ["retention", "run"], ["audit", "verify"], ["worker", "--once"]]
)
def test_a_command_that_needs_the_secret_says_so_in_one_line(no_secret, args):
    result = run(no_secret, *args)
    assert result.returncode == 1
    assert result.stderr == MISSING_SECRET + "\n"
