"""Settings come from the environment through strict helpers that name the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from casebridge import env


@pytest.mark.parametrize("value", ["maybe", "2", "ja"])
def test_bad_boolean_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("DEBUG", value)
    with pytest.raises(ImproperlyConfigured, match="^DEBUG: expected one of"):
        env.env_bool("DEBUG")


def test_boolean_spellings(monkeypatch):
    for raw, expected in [("1", True), ("TRUE", True), ("off", False), ("", False)]:
        monkeypatch.setenv("DEBUG", raw)
        assert env.env_bool("DEBUG") is expected
    monkeypatch.delenv("DEBUG")
    assert env.env_bool("DEBUG") is False


def test_bad_integer_names_the_variable(monkeypatch):
    monkeypatch.setenv("WORKERS", "two")
    with pytest.raises(ImproperlyConfigured, match="^WORKERS: expected a whole number"):
        env.env_int("WORKERS", 1)
    monkeypatch.setenv("WORKERS", "0")
    with pytest.raises(ImproperlyConfigured, match="^WORKERS: must be at least 1"):
        env.env_int("WORKERS", 1, minimum=1)


def test_secret_from_file(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s" * 50 + "\n")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env.env_secret("SECRET_KEY") == "s" * 50


def test_secret_file_that_cannot_be_read(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="^SECRET_KEY_FILE: cannot read"):
        env.env_secret("SECRET_KEY")


def test_secret_and_secret_file_together_are_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "key"))
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY and SECRET_KEY_FILE are both set"):
        env.env_secret("SECRET_KEY")


def test_sqlite_by_default_in_wal_mode(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = env.env_database("DATABASE_URL", tmp_path / "db.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_postgres_url(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casebridge")
    config = env.env_database("DATABASE_URL", tmp_path / "db.sqlite3")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "casebridge"


@pytest.mark.parametrize("url", ["mysql://root@localhost/x", "nonsense://", "postgres://host"])
def test_bad_database_url_names_the_variable(monkeypatch, tmp_path, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ImproperlyConfigured, match="^DATABASE_URL: "):
        env.env_database("DATABASE_URL", tmp_path / "db.sqlite3")


def test_unknown_time_zone_names_the_variable(monkeypatch):
    monkeypatch.setenv("TIME_ZONE", "Mars/Olympus")
    with pytest.raises(ImproperlyConfigured, match="^TIME_ZONE: unknown time zone"):
        env.env_time_zone("TIME_ZONE", "Europe/Berlin")


def _settings_in_subprocess(environment: dict) -> subprocess.CompletedProcess:
    code = "import casebridge.settings"
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        check=False,
    )


def test_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = _settings_in_subprocess({"CASEBRIDGE_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY: not set; set SECRET_KEY or SECRET_KEY_FILE" in result.stderr


def test_settings_refuse_a_bad_debug_value(tmp_path):
    result = _settings_in_subprocess(
        {"CASEBRIDGE_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40, "DEBUG": "sometimes"}
    )
    assert "DEBUG: expected one of" in result.stderr


def test_debug_is_off_unless_asked(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import casebridge.settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE)",
        ],
        env={"PATH": "/usr/bin:/bin", "CASEBRIDGE_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["False", "True"]


def test_production_hashes_passwords_with_argon2():
    from casebridge import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_the_audit_sealer_thread_is_for_postgresql_only(tmp_path):
    base = {"CASEBRIDGE_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40}
    refused = _settings_in_subprocess({**base, "AUDIT_SEAL_IN_BACKGROUND": "true"})
    assert refused.returncode != 0
    assert "AUDIT_SEAL_IN_BACKGROUND: only with PostgreSQL" in refused.stderr
    code = "import casebridge.settings as s; print(s.AUDIT_SEAL_IN_BACKGROUND)"
    for url, expected in (("", "False"), ("postgres://u@127.0.0.1:5432/cb", "True")):
        shown = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-c", code],
            env={"PATH": "/usr/bin:/bin", **base, **({"DATABASE_URL": url} if url else {})},
            capture_output=True,
            text=True,
            check=True,
        )
        assert shown.stdout.strip() == expected


PRIMARY = {"ENGINE": "django.db.backends.postgresql", "NAME": "casebridge"}


def test_a_standby_is_optional_read_only_and_mirrors_default_in_tests(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_REPLICA_URL", raising=False)
    assert env.env_replica_database("DATABASE_REPLICA_URL", PRIMARY) is None
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://reader@db2.internal:5432/casebridge")
    replica = env.env_replica_database("DATABASE_REPLICA_URL", PRIMARY)
    assert replica["HOST"] == "db2.internal" and replica["NAME"] == "casebridge"
    assert "default_transaction_read_only=on" in replica["OPTIONS"]["options"]
    assert replica["OPTIONS"]["connect_timeout"] == 3
    assert replica["TEST"] == {"MIRROR": "default"}


@pytest.mark.parametrize(
    ("url", "primary", "says"),
    [
        ("sqlite:///tmp/replica.sqlite3", PRIMARY, "only a postgres:// URL"),
        ("postgres://db2/casebridge", env.sqlite_database("x.sqlite3"), "needs DATABASE_URL"),
        ("mysql://db2/casebridge", PRIMARY, "only sqlite:// and postgres://"),
    ],
)
def test_a_standby_that_cannot_be_one_is_refused_naming_the_variable(
    monkeypatch, url, primary, says
):
    monkeypatch.setenv("DATABASE_REPLICA_URL", url)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL") as error:
        env.env_replica_database("DATABASE_REPLICA_URL", primary)
    assert says in str(error.value)


def test_documents_are_kept_in_the_database_on_postgresql_and_on_disk_on_sqlite(tmp_path):
    base = {"CASEBRIDGE_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40}
    refused = _settings_in_subprocess({**base, "DOCUMENT_STORAGE": "s3"})
    assert refused.returncode != 0
    assert "DOCUMENT_STORAGE: must be database or files" in refused.stderr
    code = "import casebridge.settings as s; print(s.DOCUMENT_STORAGE)"
    for url, chosen, expected in (
        ("", "", "files"),
        ("postgres://u@127.0.0.1:5432/cb", "", "database"),
        ("postgres://u@127.0.0.1:5432/cb", "files", "files"),
        ("", "database", "database"),
    ):
        shown = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-c", code],
            env={
                "PATH": "/usr/bin:/bin",
                **base,
                **({"DATABASE_URL": url} if url else {}),
                **({"DOCUMENT_STORAGE": chosen} if chosen else {}),
            },
            capture_output=True,
            text=True,
            check=True,
        )
        assert shown.stdout.strip() == expected
