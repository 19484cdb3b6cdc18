"""Structured logs (issue 21): one JSON object per line, the request id in every record of
a request and in the response, no path with ids, no query string, no names. The whole
run's logs are checked for the demo's names by tests/log_check.py; a real server's by
tests/robustness/test_observability.py."""

from __future__ import annotations

import io
import json
import logging

import pytest

from casebridge.observability.logs import (
    JsonFormatter,
    PlainFormatter,
    RequestContextFilter,
    log_format,
)
from tests.personal_data import lines_with_personal_data, personal_data


@pytest.fixture
def json_log():
    """What production writes (formatter and filter on the root handler), as lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123-DEF", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("abc_123", False),
        ("abc 123", False),
        ("x\r\nSet-Cookie: a=b", False),
        ("", False),
    ],
)
def test_the_request_id_is_taken_only_when_safe(client, given, kept):
    response = client.get("/health/live", HTTP_X_REQUEST_ID=given)
    echoed = response["X-Request-ID"]
    if kept:
        assert echoed == given
    else:
        assert echoed != given
        assert len(echoed) == 32 and echoed.isalnum()


@pytest.mark.django_db
def test_each_request_is_one_line_with_route_status_and_duration(client, personas, world, json_log):
    client.force_login(personas.partner)
    url = f"/cases/{world.case.id}/?q=Ali+Beispiel"
    response = client.get(url, HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200
    lines = [line for line in json_log() if line["request_id"] == "req-42"]
    request_line = next(line for line in lines if line["logger"] == "casebridge.request")
    assert request_line["route"] == "cases:case"
    assert request_line["method"] == "GET"
    assert request_line["status"] == 200
    assert request_line["duration_ms"] >= 0
    assert request_line["user_id"] == personas.partner.pk
    assert set(request_line) >= {"time", "level", "logger", "message", "request_id"}
    text = json.dumps(lines)
    assert f"/cases/{world.case.id}" not in text and "Beispiel" not in text
    assert personas.partner.username not in text and personas.partner.email not in text


@pytest.mark.django_db
def test_djangos_own_records_name_the_route_not_the_path(client, personas, world, json_log):
    client.force_login(personas.outsider)
    client.get(f"/cases/{world.case.id}/notes/ünïcode/", HTTP_X_REQUEST_ID="req-404")
    client.get(f"/cases/{world.case.id + 1000}/", HTTP_X_REQUEST_ID="req-404b")
    records = [line for line in json_log() if line["logger"].startswith("django.")]
    assert records, "Django logs 4xx answers"
    for record in records:
        assert str(world.case.id) not in record["message"]
        assert "/cases/" not in record["message"]
        assert record["request_id"] in {"req-404", "req-404b"}


def test_an_exception_is_logged_by_type_and_place_never_its_message(json_log):
    try:
        raise ValueError("duplicate key value (email)=(miriam@demo.example.org)")
    except ValueError:
        logging.getLogger("casebridge.test").exception("saving failed")
    (record,) = [line for line in json_log() if line["logger"] == "casebridge.test"]
    assert record["exception"] == "ValueError"
    assert any("test_logs.py" in frame for frame in record["stack"])
    assert "miriam" not in json.dumps(record)
    assert record["request_id"] == "-"


def test_plain_format_carries_the_request_id_too():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    RequestContextFilter().filter(record)
    assert PlainFormatter().format(record).endswith("INFO x [-] hello there")


def test_log_format_is_json_or_plain(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        log_format()
    monkeypatch.delenv("LOG_FORMAT")
    monkeypatch.setenv("DEBUG", "0")
    assert log_format() == "json"
    monkeypatch.setenv("DEBUG", "1")
    assert log_format() == "plain"


def test_the_demos_personal_data_is_collected_from_its_source():
    from casebridge.ops import demo

    literals, _patterns = personal_data()
    for user in demo.DEMO_USERS:
        assert f"{user.first_name} {user.last_name}" in literals
        assert lines_with_personal_data(f"x {user.username}@demo.example.org y")
    assert {"Beispielmann", "Jonas", "Ali", "Beispiel", "2008-05-17"} <= set(literals)
    assert lines_with_personal_data("called from +49 30 00004711")
    assert lines_with_personal_data("contact point Anna Becker")
    assert lines_with_personal_data("hotline@example.org")  # the test personas
    # whole words only, and nothing of the ordinary vocabulary of the logs
    assert not lines_with_personal_data('{"message": "Alignment of Scholzens", "route": "-"}')
    assert not lines_with_personal_data('{"logger": "casebridge.request", "route": "cases:case"}')


def test_the_whole_run_is_logged_for_the_check(tmp_path):
    from tests import log_check

    handler = log_check._state["handler"]
    assert handler in logging.getLogger().handlers
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger("casebridge.test").debug("a debug record reaches the file")
    handler.flush()
    with open(log_check._state["path"], encoding="utf-8") as log:
        assert "a debug record reaches the file" in log.read()


def test_gunicorns_lines_name_no_path_and_carry_the_request_id(monkeypatch):
    """deploy/gunicorn.conf.py's logger: the access line without path, query or client
    address; a failed request's line without its URI (tests/robustness for the real one)."""
    import datetime
    import types

    from gunicorn.config import Config

    from casebridge.observability.gunicorn import GunicornLogger

    monkeypatch.setenv("LOG_FORMAT", "json")
    config = Config()
    config.set("accesslog", "-")
    logger = GunicornLogger(config)
    stream = io.StringIO()
    for log in (logger.access_log, logger.error_log):
        for handler in log.handlers:
            handler.setStream(stream)
    response = types.SimpleNamespace(
        status="200 OK", status_code=200, headers=[("X-Request-ID", "req-7")], sent=12
    )
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/cases/17/",
        "QUERY_STRING": "q=Katrin+Vogel",
        "RAW_URI": "/cases/17/?q=Katrin+Vogel",
        "REMOTE_ADDR": "198.51.100.7",
    }
    try:
        logger.access(response, None, environ, datetime.timedelta(milliseconds=42))
        logger.error_log.exception("Error handling request %s", "/cases/17/?q=Katrin+Vogel")
    finally:
        for log in (logger.access_log, logger.error_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access, error = lines
    assert access["logger"] == "gunicorn.access"
    assert (access["method"], access["status"], access["request_id"]) == ("GET", 200, "req-7")
    assert error["message"] == "Error handling request"
    text = stream.getvalue()
    assert "/cases/17" not in text and "Katrin" not in text and "198.51.100.7" not in text
