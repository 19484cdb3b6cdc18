"""Real installations for the robustness tests: a data directory, keys on "other storage",
SQLite or a throwaway PostgreSQL database (cb_ops_*), and gunicorn with deploy/gunicorn.conf.py
on a free port of 127.0.0.1.

Everything runs as an operator would run it: the ``casebridge`` command and gunicorn in
their own processes. Each helper cleans up after itself (servers killed, databases dropped).
"""

from __future__ import annotations

import atexit
import contextlib
import http.cookiejar
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import casebridge

REPO = Path(__file__).resolve().parents[2]
SOURCE = Path(casebridge.__file__).resolve().parents[1]
GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"
POSTGRES_ADMIN_URL = os.environ.get("CASEBRIDGE_OPS_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_available() -> bool:
    result = subprocess.run(
        ["pg_isready", "-q", "-d", POSTGRES_ADMIN_URL + "/postgres"],
        check=False,
        capture_output=True,
    )
    return result.returncode == 0


def psql(sql: str, database: str = "postgres") -> str:
    result = subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env={**os.environ, "PGDATABASE": database, **_pg_environment()},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def _pg_environment() -> dict:
    parts = urllib.parse.urlsplit(POSTGRES_ADMIN_URL)
    environment = {"PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432)}
    if parts.username:
        environment["PGUSER"] = urllib.parse.unquote(parts.username)
    if parts.password:
        environment["PGPASSWORD"] = urllib.parse.unquote(parts.password)
    return environment


@contextlib.contextmanager
def postgres_database():
    """Create a throwaway database ``cb_ops_<random>``; yield its URL; drop it afterwards."""
    name = f"cb_ops_{secrets.token_hex(4)}"
    psql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_URL}/{name}", name
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def same_kind_of_database(source: Installation):
    """The DATABASE_URL for a fresh installation on the database kind of ``source``:
    a new cb_ops_* database on PostgreSQL (dropped afterwards), None for SQLite."""
    if source.database_url:
        with postgres_database() as (url, _name):
            yield url
    else:
        yield None


@dataclass
class Installation:
    """One casebridge installation: data directory, key directory, database."""

    root: Path
    database_url: str | None = None
    env: dict = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def keys_dir(self) -> Path:
        """Key material, kept apart from the data directory as docs/operations.md asks."""
        return self.root / "keys"

    def __post_init__(self) -> None:
        from casebridge.audit.signing import generate_key
        from casebridge.crypto.keys import new_key_line

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        secret = self.keys_dir / "secret_key"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(50))
            (self.keys_dir / "keyring").write_text(
                new_key_line("k1") + "\n" + new_key_line("index") + "\n"
            )
            generate_key(self.keys_dir / "audit-signing.key")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "PYTHONPATH": str(SOURCE),
            "CASEBRIDGE_DATA_DIR": str(self.data_dir),
            "SECRET_KEY_FILE": str(secret),
            "CASEBRIDGE_KEYS_FILE": str(self.keys_dir / "keyring"),
            "CASEBRIDGE_AUDIT_KEY_FILE": str(self.keys_dir / "audit-signing.key"),
            "CASEBRIDGE_AUDIT_CHECKPOINT_FILE": str(self.keys_dir / "audit-checkpoints.jsonl"),
            "LANGUAGE_CODE": "en",
            "SECURE_COOKIES": "0",
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOGIN_ADDRESS_FAILURE_LIMIT": "0",
            **({"DATABASE_URL": self.database_url} if self.database_url else {}),
        }

    def run(
        self, *args: str, check: bool = True, timeout: int = 600
    ) -> subprocess.CompletedProcess:
        """Run ``casebridge ARGS`` in this installation."""
        result = subprocess.run(
            [sys.executable, "-m", "casebridge.ops.cli", *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"casebridge {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result

    def python(self, code: str) -> str:
        """Run Python code with Django set up in this installation; return its stdout."""
        return self.run("shell", "--no-imports", "-c", code).stdout

    def restore_keys(self, key_backup: Path) -> None:
        """Put the files of a ``casebridge backup keys`` folder where the variables point."""
        manifest = json.loads((key_backup / "keys.json").read_text())
        for name, what in manifest["files"].items():
            if what["variable"]:
                shutil.copyfile(key_backup / name, self.env[what["variable"]])
        shutil.copyfile(
            key_backup / "audit-signing.key.pub", self.keys_dir / "audit-signing.key.pub"
        )

    def prepare_demo(self) -> None:
        """The demo installation: built once per test run and kind of installation, then
        copied (data and key folders; on the shared PostgreSQL server the database as a
        template), because building it is most of a robustness test's time. A copy is the
        same bytes as a build; an installation on another server builds its own."""
        key = self._template_key()
        if key is None:
            self.run("demo", "--no-serve")
            return
        template = _DEMO_TEMPLATES.get(key)
        if template is None:
            template = _DEMO_TEMPLATES[key] = _demo_template(self)
        root, database = template
        for folder in ("data", "keys"):
            shutil.rmtree(self.root / folder)
            shutil.copytree(root / folder, self.root / folder)
        if database is None:
            return
        if self.database_url.startswith(POSTGRES_ADMIN_URL + "/"):
            own = self.database_url.rsplit("/", 1)[1]
            psql(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')
            psql(f'CREATE DATABASE "{own}" TEMPLATE "{database}"')
            return
        # another server (the standby test's own cluster): the template's dump, replayed
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", f"{POSTGRES_ADMIN_URL}/{database}"],
            capture_output=True,
            check=True,
            timeout=300,
        )
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", self.database_url],
            input=dump.stdout,
            capture_output=True,
            check=True,
            timeout=300,
        )

    def _template_key(self) -> tuple | None:
        """What the demo depends on besides the folders and the database's name; None where
        no template can serve (keys kept elsewhere, no shared PostgreSQL server)."""
        if self.database_url and not postgres_available():
            return None  # the template is built on the shared server
        standard = {
            "SECRET_KEY_FILE": "secret_key",
            "CASEBRIDGE_KEYS_FILE": "keyring",
            "CASEBRIDGE_AUDIT_KEY_FILE": "audit-signing.key",
            "CASEBRIDGE_AUDIT_CHECKPOINT_FILE": "audit-checkpoints.jsonl",
        }
        if any(self.env.get(k) != str(self.keys_dir / name) for k, name in standard.items()):
            return None  # keys kept elsewhere: the copy would not be where they are read
        own = {
            "HOME",
            "CASEBRIDGE_DATA_DIR",
            "DATABASE_URL",
            "DATABASE_REPLICA_URL",
            *_KEY_VARIABLES,
        }
        return (
            bool(self.database_url),
            tuple(sorted((k, v) for k, v in self.env.items() if k not in own)),
        )

    def api_token(self, username: str) -> str:
        return self.python(
            "from casebridge.accounts.models import User\n"
            "from casebridge.accounts.services import api_token_create\n"
            f"user = User.objects.get(username={username!r})\n"
            "print(api_token_create(actor=user, name='robustness')[1])\n"
        ).strip()

    @contextlib.contextmanager
    def server(self, *, workers: int = 2, port: int | None = None):
        """gunicorn with the shipped configuration; yields the running Server."""
        server = Server.start(self, workers=workers, port=port)
        try:
            yield server
        finally:
            server.stop()


_KEY_VARIABLES = (
    "SECRET_KEY_FILE",
    "CASEBRIDGE_KEYS_FILE",
    "CASEBRIDGE_AUDIT_KEY_FILE",
    "CASEBRIDGE_AUDIT_CHECKPOINT_FILE",
)
# (root folder, template database or None for SQLite) by Installation._template_key()
_DEMO_TEMPLATES: dict[tuple, tuple[Path, str | None]] = {}


def _demo_template(like: Installation) -> tuple[Path, str | None]:
    """Build the demo once in a folder of its own (and a cb_ops_tpl_* database), removed
    when the test run ends."""
    root = Path(tempfile.mkdtemp(prefix="cb-demo-template-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    database = None
    url = None
    if like.database_url:
        database = f"cb_ops_tpl_{secrets.token_hex(4)}"
        psql(f'CREATE DATABASE "{database}"')
        atexit.register(psql, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        url = f"{POSTGRES_ADMIN_URL}/{database}"
    template = Installation(root=root, database_url=url)
    own = {"HOME", "CASEBRIDGE_DATA_DIR", "DATABASE_URL", "DATABASE_REPLICA_URL", *_KEY_VARIABLES}
    template.env.update({k: v for k, v in like.env.items() if k not in own})
    template.run("demo", "--no-serve")
    # the key files' paths are the copy's own (the variables name files in its keys folder)
    return root, database


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, installation: Installation, *, workers: int, port: int | None = None) -> Server:
        """gunicorn on ``port`` (a free one if None: a partner's model file may name it, and
        a server started again keeps its address)."""
        port = port or free_port()
        log = installation.root / f"gunicorn-{port}.log"
        environment = {
            # request metrics in the test's folder: a server killed with SIGKILL leaves
            # nothing in /dev/shm (deploy/gunicorn.conf.py removes its own folder at exit)
            "PROMETHEUS_MULTIPROC_DIR": str(installation.root / f"metrics-{port}"),
            **installation.env,
            "CASEBRIDGE_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
        }
        # appended: a server started again on its port keeps the log of its first run
        with log.open("ab") as output:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    str(GUNICORN_CONF),
                    "casebridge.wsgi",
                ],
                env=environment,
                cwd=installation.root,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 reaches every worker
            )
        server = cls(process=process, port=port, log=log)
        server.wait_until_up()
        return server

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/accounts/login/", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"gunicorn did not answer in {timeout} s:\n{self.log.read_text()}")

    def pids(self) -> list[int]:
        """The master and its workers (the process group)."""
        result = subprocess.run(
            ["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in result.stdout.split() if not _zombie(int(pid))]

    def kill9(self) -> None:
        """SIGKILL to the master and every worker at once: no graceful anything."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()
        # workers left behind by a killed master would hold the port and the database
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def _zombie(pid: int) -> bool:
    """A killed process whose parent died too waits here until init reaps it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # gone already
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


class Browser:
    """A tiny HTTP client with cookies and CSRF, enough to sign in and use pages."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def _csrf(self) -> str:
        return next(cookie.value for cookie in self.cookies if cookie.name == "csrftoken")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base_url + path, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str, data: dict) -> tuple[int, str]:
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self._csrf()}).encode()
        request = urllib.request.Request(
            self.base_url + path, data=body, headers={"Referer": self.base_url + path}
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def fetch(
        self, path: str, body: bytes | None = None, content_type: str = ""
    ) -> tuple[int, bytes]:
        """GET (or POST ``body``) and return the raw bytes: for files and uploads."""
        headers = {"Referer": self.base_url + path}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def upload(self, path: str, fields: dict, files: dict) -> tuple[int, bytes]:
        """POST a form with files (multipart), CSRF token included."""
        body, content_type = multipart({**fields, "csrfmiddlewaretoken": self._csrf()}, files)
        return self.fetch(path, body, content_type)

    def sign_in(self, username: str, password: str) -> None:
        self.get("/accounts/login/")
        status, page = self.post("/accounts/login/", {"username": username, "password": password})
        assert status == 200, status
        assert 'name="password"' not in page, "sign-in failed"


def api_post(base_url: str, path: str, token: str, payload: dict, timeout: float = 30):
    """POST JSON with a bearer token; return (status, parsed body)."""
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """A multipart/form-data body: ``files`` maps a field to (file name, content)."""
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (file_name, content) in files.items():
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{file_name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def api_fetch(
    base_url: str, path: str, token: str, body: bytes | None = None, content_type: str = ""
) -> tuple[int, bytes]:
    """GET (or POST ``body``) with a bearer token; return status and raw bytes."""
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(base_url + path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, dirs_exist_ok=True)


HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def haproxy_available() -> bool:
    return Path(HAPROXY).exists()


@dataclass
class Proxy:
    """HAProxy (Debian's package) in front of app servers: round robin, a TCP check every
    half second, a request whose connection is refused goes to another server (no request
    was sent, so nothing is done twice). No log: nothing of a request is written down."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def configuration(port: int, backends: list[str]) -> str:
        servers = "\n".join(
            f"    server app{number} {address} check inter 500ms fall 1 rise 2"
            for number, address in enumerate(backends, start=1)
        )
        return f"""global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 75s
    timeout server 75s
    retries 3
    option redispatch 1
    option http-server-close

frontend casebridge
    bind 127.0.0.1:{port}
    default_backend app_servers

backend app_servers
    balance roundrobin
{servers}
"""

    @classmethod
    @contextlib.contextmanager
    def start(cls, root: Path, backends: list[str]):
        """HAProxy on a free port of 127.0.0.1 in front of ``backends`` (host:port)."""
        port = free_port()
        config = root / f"haproxy-{port}.cfg"
        config.write_text(cls.configuration(port, backends))
        log = root / f"haproxy-{port}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(config)],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proxy = cls(process=process, port=port, log=log)
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"haproxy exited:\n{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(proxy.url + "/accounts/login/", timeout=5):
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"haproxy did not answer:\n{log.read_text()[-3000:]}"
                        ) from None
                    time.sleep(0.2)
            yield proxy
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
