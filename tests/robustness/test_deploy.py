"""The shipped configuration (deploy/) runs: gunicorn with deploy/gunicorn.conf.py against
PostgreSQL serves the sign-in page and static files, and logs no query strings."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
import urllib.request

import pytest

from tests.robustness.server import REPO, Installation

pytestmark = pytest.mark.slow


def fetch(url: str) -> tuple[int, dict, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def test_gunicorn_with_the_shipped_config_serves_pages_and_static_files(tmp_path, postgres_url):
    installation = Installation(root=tmp_path, database_url=postgres_url)
    installation.run("migrate", "--no-input")
    installation.run("collectstatic", "--no-input")
    with installation.server(workers=2) as server:
        status, headers, body = fetch(server.url + "/accounts/login/?next=/search-words-here/")
        assert status == 200
        assert b'name="password"' in body
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        status, headers, body = fetch(server.url + "/static/casebridge/app.css")
        assert status == 200
        assert headers["Content-Type"].startswith("text/css")
        assert len(body) > 0
        assert len(server.pids()) == 3  # master and two workers
    log = server.log.read_text()
    records = [json.loads(line) for line in log.splitlines() if line.strip()]  # JSON lines
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert any(r["method"] == "GET" and r["status"] == 200 for r in access)  # it is on...
    assert any(r.get("route") == "accounts:login" for r in records)  # the app names the route
    assert "search-words-here" not in log  # ...without query strings (nor paths)


def test_the_shipped_config_names_a_bad_value(tmp_path):
    installation = Installation(root=tmp_path)

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO / "deploy" / "gunicorn.conf.py"),
            "--check-config",
            "casebridge.wsgi",
        ],
        env={**installation.env, "GUNICORN_WORKERS": "many"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "GUNICORN_WORKERS: expected a whole number" in result.stdout + result.stderr


def test_systemd_units_run_the_shipped_config_with_the_env_file():
    for name in ["casebridge.service", "casebridge-worker.service"]:
        unit = configparser.ConfigParser(interpolation=None, strict=False)
        unit.read(REPO / "deploy" / "systemd" / name)
        assert unit["Service"]["EnvironmentFile"] == "/etc/casebridge/casebridge.env"
        assert unit["Service"]["User"] == "casebridge"
    app = configparser.ConfigParser(interpolation=None, strict=False)
    app.read(REPO / "deploy" / "systemd" / "casebridge.service")
    assert (
        "gunicorn -c /etc/casebridge/gunicorn.conf.py casebridge.wsgi"
        in app["Service"]["ExecStart"]
    )


def test_env_template_names_only_variables_the_settings_read():
    """Every variable in the template is one that settings or the gunicorn config read."""
    known = (REPO / "src" / "casebridge" / "settings.py").read_text()
    known += (REPO / "deploy" / "gunicorn.conf.py").read_text()
    known += (REPO / "src" / "casebridge" / "audit" / "signing.py").read_text()
    known += (REPO / "src" / "casebridge" / "crypto" / "keys.py").read_text()
    known += (REPO / "src" / "casebridge" / "observability" / "logs.py").read_text()
    template = (REPO / "deploy" / "casebridge.env.example").read_text()
    names = [
        line.split("=", 1)[0] for line in template.splitlines() if line and not line.startswith("#")
    ]
    assert names
    for name in names:
        # NAME_FILE is read by env_secret("NAME") or by its own name
        assert f'"{name}"' in known or f'"{name.removesuffix("_FILE")}"' in known, name
