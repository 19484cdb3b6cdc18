"""/health/ and /health/live tell a load balancer that the application answers, and nothing
else; /health/ready that the database answers and the keys load (issue 21). With a real
gunicorn and a database that is gone: tests/robustness/test_observability.py."""

import pytest


@pytest.mark.django_db
def test_health_answers_anyone_with_ok_and_reads_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/", secure=True)
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]
    assert "sessionid" not in response.cookies


@pytest.mark.django_db
def test_health_takes_no_writes(client):
    assert client.post("/health/", secure=True).status_code == 405


# Issue 21: liveness and readiness for a load balancer or systemd.


@pytest.mark.django_db
def test_live_answers_anyone_and_reads_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live")
    assert response.status_code == 200
    assert response.content == b"live"
    assert response["Cache-Control"] == "no-store"
    assert "sessionid" not in response.cookies


@pytest.mark.django_db
def test_ready_when_database_and_keys_answer(client, signing_key):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "audit_signing_key": "ok", "key_ring": "ok"},
    }
    assert response["Cache-Control"] == "no-store"
    assert "sessionid" not in response.cookies


@pytest.mark.django_db
def test_not_ready_while_the_database_is_unavailable(client, signing_key, monkeypatch):
    from django.db import OperationalError, connection

    def gone(*args, **kwargs):
        raise OperationalError("connection to server at 10.0.0.1 failed: secret detail")

    monkeypatch.setattr(connection, "cursor", gone)
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["database"] == "unavailable"
    assert b"secret detail" not in response.content and b"10.0.0.1" not in response.content
    assert client.get("/health/live").status_code == 200  # the process lives on


@pytest.mark.django_db
def test_not_ready_without_the_audit_signing_key(client, isolated_signing_files):
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "audit_signing_key": "missing",
        "key_ring": "ok",
    }
    assert str(isolated_signing_files.key) not in response.content.decode()


@pytest.mark.django_db
def test_not_ready_with_an_unreadable_or_broken_signing_key(client, signing_key):
    path = signing_key.key
    path.unlink()
    path.mkdir()  # unreadable as a file, even for root
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["audit_signing_key"] == "unreadable"
    path.rmdir()
    path.write_text("not a key")
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["audit_signing_key"] == "invalid"


@pytest.mark.django_db
def test_not_ready_without_the_key_ring(client, signing_key, monkeypatch):
    from casebridge.crypto import keys

    keys.key_ring.cache_clear()
    monkeypatch.delenv("CASEBRIDGE_KEYS")
    try:
        response = client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["key_ring"] == "unavailable"
    finally:
        keys.key_ring.cache_clear()


@pytest.mark.django_db
def test_health_checks_take_no_writes(client):
    for path in ("/health/live", "/health/ready"):
        assert client.post(path).status_code == 405
