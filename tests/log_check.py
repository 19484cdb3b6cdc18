"""For a whole test run: every log record (DEBUG and up, every logger) goes through the
production JSON formatter and filter into a file; at the end of the run that file must hold
none of the demo's or the builders' personal data (tests/personal_data.py), or the run
fails naming the loggers that wrote it (not what they wrote).

Hooks imported by tests/conftest.py. Cheap on purpose: one buffered file, one pass of
substring searches at the end (docs/development.md, "Logs").
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time

import pytest

from casebridge.observability.logs import JsonFormatter, RequestContextFilter
from tests.personal_data import lines_with_personal_data

_state: dict = {}


class _SessionLog(logging.StreamHandler):
    """The whole run's records, formatted as production formats them."""


def pytest_sessionstart(session):
    descriptor, name = tempfile.mkstemp(prefix="casebridge-test-log-", suffix=".jsonl")
    stream = os.fdopen(descriptor, "w", encoding="utf-8", buffering=1 << 20)
    handler = _SessionLog(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    # DEBUG reaches our handler; the other handlers keep the level they had
    for other in root.handlers:
        other.setLevel(max(other.level, root.level))
    _state.update(path=name, stream=stream, handler=handler, level=root.level)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


def _attached() -> None:
    """Put the handler back where something took it away: a logging configuration run
    again during the suite (``django.setup()`` in a script under test, ``dictConfig``)
    replaces the root logger's handlers and level, and the rest of the run went unchecked."""
    handler = _state.get("handler")
    if handler is None:
        return
    root = logging.getLogger()
    if handler not in root.handlers:
        root.addHandler(handler)
    if root.level != logging.DEBUG:
        for other in root.handlers:
            if other is not handler:
                other.setLevel(max(other.level, root.level))
        root.setLevel(logging.DEBUG)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _attached()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    _attached()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item):
    _attached()


def pytest_sessionfinish(session, exitstatus):
    handler = _state.get("handler")
    if handler is None:
        return
    root = logging.getLogger()
    root.removeHandler(handler)
    root.setLevel(_state["level"])
    _state["stream"].close()
    path = _state["path"]
    started = time.perf_counter()
    with open(path, encoding="utf-8") as log:
        text = log.read()
    offending = lines_with_personal_data(text)
    _state["checked"] = (len(text.encode()), time.perf_counter() - started)
    if not offending:
        os.remove(path)
        return
    loggers = sorted({_logger_of(line) for line in offending})
    _state["failure"] = (
        f"{len(offending)} log records hold the demo's or the builders' personal data, "
        f"written by: {', '.join(loggers)} (the records: {path})"
    )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _logger_of(line: str) -> str:
    try:
        return str(json.loads(line).get("logger", "?"))
    except ValueError:
        return "? (a record over several lines)"


def pytest_terminal_summary(terminalreporter):
    if "checked" in _state:
        size, seconds = _state["checked"]
        terminalreporter.write_line(
            f"log check for personal data: {size / 1e6:.1f} MB of log records in {seconds:.2f} s"
        )
    failure = _state.get("failure")
    if failure:
        terminalreporter.section("personal data in the logs", red=True)
        terminalreporter.line(failure, red=True)
