"""What operators watch, on a real gunicorn with two workers (issue 21): request metrics
add up over the workers, readiness follows the database, and the JSON logs of a walk
through the demo as every persona (pages and API) hold no name, e-mail address or phone
number of the demo, and every line is one JSON object with a request id."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from casebridge.ops import demo
from tests.personal_data import lines_with_personal_data
from tests.robustness.server import Browser, Installation, psql
from tests.totp import code_for

pytestmark = pytest.mark.slow


def get(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def sample(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            series, _, value = line.rpartition(" ")
            found = dict(re.findall(r'(\w+)="([^"]*)"', series))
            if all(found.get(key) == want for key, want in labels.items()):
                total += float(value)
    return total


@pytest.fixture(scope="module")
def demo_installation(tmp_path_factory):
    installation = Installation(root=tmp_path_factory.mktemp("observability"))
    installation.prepare_demo()
    installation.env["LOG_LEVEL"] = "DEBUG"  # everything the app and gunicorn say
    installation.env["PROMETHEUS_MULTIPROC_DIR"] = str(installation.root / "metrics")
    return installation


def test_request_metrics_add_up_over_two_workers(demo_installation):
    with demo_installation.server(workers=2) as server:
        # Which sync worker accepts a connection is the kernel's choice (an idle machine
        # may give all to one): a request left half-sent holds one worker, so the next
        # 20 go to the other; then it is finished, and 19 more go wherever.
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as held:
            held.sendall(b"GET /health/live HTTP/1.0\r\nHost: 127.0.0.1\r\n")
            time.sleep(0.5)  # accepted by one worker, which now waits for the rest
            for _ in range(20):
                assert get(server.url + "/health/live")[0] == 200
            held.sendall(b"\r\n")
            answer = b""
            while chunk := held.recv(4096):
                answer += chunk
            assert answer.split(b"\r\n", 1)[0].endswith(b"200 OK"), answer[:200]
        for _ in range(19):
            assert get(server.url + "/health/live")[0] == 200
        files = list((demo_installation.root / "metrics").glob("histogram_*.db"))
        assert len(files) >= 2, "both workers served requests"
        for _ in range(6):  # whichever worker answers the scrape sees all 40
            status, body, _headers = get(server.url + "/metrics")
            assert status == 200
            text = body.decode()
            assert (
                sample(
                    text,
                    "casebridge_http_request_duration_seconds_count",
                    route="health_live",
                    method="GET",
                    status="2xx",
                )
                == 40
            )
            assert sample(text, "casebridge_metrics_database_up") == 1
            assert "casebridge_worker_queue_tasks" in text
            assert "casebridge_obligations_overdue" in text
            assert "casebridge_audit_pending_seals" in text
        assert get(server.url + "/health/ready")[0] == 200


def test_metrics_refused_to_other_addresses(demo_installation):
    demo_installation.env["METRICS_ALLOWED_ADDRESSES"] = "192.0.2.0/24"
    try:
        with demo_installation.server(workers=1) as server:
            assert get(server.url + "/metrics")[0] == 404
    finally:
        del demo_installation.env["METRICS_ALLOWED_ADDRESSES"]


def test_not_ready_when_the_database_is_gone(tmp_path, postgres_url):
    installation = Installation(root=tmp_path, database_url=postgres_url)
    installation.run("migrate", "--no-input")
    name = postgres_url.rsplit("/", 1)[1]
    with installation.server(workers=1) as server:
        status, body, headers = get(server.url + "/health/ready")
        assert status == 200, body
        assert headers["Cache-Control"] == "no-store"
        psql(f'DROP DATABASE "{name}" WITH (FORCE)')
        status, body, _headers = get(server.url + "/health/ready")
        assert status == 503
        assert json.loads(body)["checks"]["database"] == "unavailable"
        assert name.encode() not in body
        assert get(server.url + "/health/live")[0] == 200
        psql(f'CREATE DATABASE "{name}"')  # for the fixture's drop


def test_not_ready_without_the_signing_key(demo_installation):
    key = Path(demo_installation.env["CASEBRIDGE_AUDIT_KEY_FILE"])
    moved = key.with_name("moved-away.key")
    with demo_installation.server(workers=1) as server:
        key.rename(moved)
        try:
            status, body, _headers = get(server.url + "/health/ready")
        finally:
            moved.rename(key)
        assert status == 503
        assert json.loads(body)["checks"]["audit_signing_key"] == "missing"
        assert str(key).encode() not in body
        assert get(server.url + "/health/ready")[0] == 200


LINK = re.compile(r'href="(/[^"#]*)"')
SKIP = ("/static/", "/accounts/logout", "/i18n/", "/api/")


def walk(browser: Browser, start: str, limit: int) -> list[str]:
    """The pages reachable from ``start`` (breadth first, GET only, at most ``limit``)."""
    seen, queue = [], [start]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen or path.startswith(SKIP) or "export" in path or "download" in path:
            continue
        seen.append(path)
        status, page = browser.get(path)
        assert status < 500, (path, status)
        queue.extend(link.replace("&amp;", "&") for link in LINK.findall(page))
    return seen


def api_tokens(installation: Installation) -> dict[str, str]:
    code = (
        "import json\n"
        "from casebridge.accounts.models import User\n"
        "from casebridge.accounts.services import api_token_create\n"
        "from casebridge.ops.demo import DEMO_USERS\n"
        "print(json.dumps({u.username: api_token_create(actor=User.objects.get("
        "username=u.username), name='observability')[1] for u in DEMO_USERS}))\n"
    )
    return json.loads(installation.python(code).strip().splitlines()[-1])


def api_paths(base: str, token: str) -> list[str]:
    status, body, _headers = get(
        base + "/api/v1/openapi.json", {"Authorization": f"Bearer {token}"}
    )
    assert status == 200
    paths = []
    for path, operations in json.loads(body)["paths"].items():
        if "get" in operations and "export" not in path:
            paths.append(re.sub(r"\{[^}]+\}", "1", path))
    return paths


def test_json_logs_of_every_persona_hold_no_personal_data(demo_installation):
    tokens = api_tokens(demo_installation)
    with demo_installation.server(workers=2) as server:
        for user in demo.DEMO_USERS:
            browser = Browser(server.url)
            browser.sign_in(user.username, user.password)
            status, page = browser.get("/")
            if "two-factor/verify" in page or 'name="code"' in page:
                code = code_for(bytes.fromhex(demo.demo_totp_key(user.username)))
                browser.post("/accounts/two-factor/verify/", {"code": code})
            pages = walk(browser, "/", limit=30)
            assert len(pages) > 3, (user.username, pages)
            # names in search boxes travel in the query string: never logged
            browser.get("/cases/?q=Jonas+Beispielmann")
            browser.get(f"/network/?q={user.last_name}")
            token = tokens[user.username]
            for path in api_paths(server.url, token)[:40]:
                status, _body, _headers = get(
                    server.url + path, {"Authorization": f"Bearer {token}"}
                )
                assert status < 500, (path, status)
        get(server.url + "/cases/1/?name=Katrin+Vogel", {"X-Request-ID": "walk-end"})
    log = server.log.read_text(encoding="utf-8")
    lines = [line for line in log.splitlines() if line.strip()]
    assert len(lines) > 200
    records = []
    for line in lines:
        record = json.loads(line)  # every line is one JSON object...
        assert record["request_id"], line  # ...with a request id ("-" outside a request)
        records.append(record)
    requests = [r for r in records if r["logger"] == "casebridge.request"]
    assert {r["route"] for r in requests} >= {"home", "cases:case"}
    assert all(r["request_id"] != "-" for r in requests)
    assert any(r["request_id"] == "walk-end" for r in records)
    # the access log and the application's line of the same request share the id
    access = {r["request_id"] for r in records if r["logger"] == "gunicorn.access"}
    assert {r["request_id"] for r in requests} <= access
    assert lines_with_personal_data(log) == []
    with_ids = [r for r in records if re.search(r"/cases/\d", json.dumps(r))]
    assert with_ids == [], "no path with ids"
    assert "?q=" not in log and "Beispielmann" not in log
