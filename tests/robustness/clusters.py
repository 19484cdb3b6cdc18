"""Throwaway PostgreSQL clusters for the standby test: a primary and a streaming-replication
standby made with Debian's postgresql-common (pg_createcluster, pg_ctlcluster) and
pg_basebackup, each on a free port of 127.0.0.1 with trust authentication on loopback only.

The shared cluster ("15 main", port 5432) is never touched: these clusters have their own
names (cb_primary_<random>, cb_standby_<random>), ports and data directories, and
``replicated_pair()`` drops both (``pg_dropcluster --stop``) whatever happens.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.robustness.server import free_port

TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "pg_basebackup", "pg_lsclusters")
# loopback only, trust: these clusters exist for the length of one test
HBA = """\
local   all             all                                     trust
local   replication     all                                     trust
host    all             all             127.0.0.1/32            trust
host    replication     all             127.0.0.1/32            trust
"""


SETTINGS = """\
listen_addresses = '127.0.0.1'
ssl = off
fsync = off  # a throwaway cluster: no need to wait for the disk
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
wal_level = replica
max_wal_senders = 4
hot_standby = on
"""


def missing_tools() -> list[str]:
    """The postgresql-common / client tools this machine lacks."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def version() -> str:
    """The newest installed PostgreSQL server version (Debian: /usr/lib/postgresql/N)."""
    found = sorted(
        (path.name for path in Path("/usr/lib/postgresql").glob("*") if path.is_dir()),
        key=int,
    )
    if not found:
        raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql")
    return found[-1]


def _run(*args: str, timeout: float = 120, user: str | None = None) -> str:
    command = ["runuser", "-u", user, "--", *args] if user else list(args)
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


@dataclass
class Cluster:
    version: str
    name: str
    port: int

    @property
    def data_dir(self) -> Path:
        return Path(f"/var/lib/postgresql/{self.version}/{self.name}")

    @property
    def config_dir(self) -> Path:
        return Path(f"/etc/postgresql/{self.version}/{self.name}")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, action: str, *extra: str) -> None:
        _run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, *extra)

    def start(self) -> None:
        self.ctl("start")
        self.wait_ready()

    def stop(self, mode: str = "fast") -> None:
        self.ctl("stop", "-m", mode)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run(
                ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"cluster {self.name} not ready after {timeout} s")

    def sql(self, statement: str, database: str = "postgres") -> str:
        """One statement through psql; the unaligned, tuples-only result."""
        return _run(
            "psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
            "-c", statement,
        ).strip()  # fmt: skip

    def drop(self) -> None:
        """Stop at once (nothing to keep) and remove data, configuration and log."""
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop("immediate")
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            _run("pg_dropcluster", "--stop", self.version, self.name, timeout=60)
        # pg_dropcluster leaves a folder holding a file it did not write (conf.d's), and
        # the data directory of a cluster that never got its configuration
        for folder in (self.config_dir, self.data_dir):
            shutil.rmtree(folder, ignore_errors=True)


def _create(version_: str, name: str, port: int) -> Cluster:
    cluster = Cluster(version_, name, port)
    _run(
        "pg_createcluster", version_, name, "-p", str(port), "--start-conf", "manual",
        "--", "--auth=trust", "--no-sync",
    )  # fmt: skip
    (cluster.config_dir / "conf.d" / "casebridge-test.conf").write_text(SETTINGS)
    (cluster.config_dir / "pg_hba.conf").write_text(HBA)
    return cluster


@contextlib.contextmanager
def replicated_pair():
    """A running primary and a running hot standby that streams from it; dropped after."""
    version_ = version()
    tag = secrets.token_hex(3)
    primary = standby = None
    try:
        primary = _create(version_, f"cb_primary_{tag}", free_port())
        primary.start()
        standby = _create(version_, f"cb_standby_{tag}", free_port())
        # the standby's data directory is the primary's, copied over the wire, with
        # standby.signal and primary_conninfo written (-R)
        for entry in standby.data_dir.iterdir():  # the directory stays (postgres, 0700)
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        _run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(standby.data_dir), "-R", "-X", "stream", "-c", "fast", "--no-sync",
            user="postgres",
        )  # fmt: skip
        standby.start()
        yield primary, standby
    finally:
        for cluster in (standby, primary):
            if cluster is not None:
                cluster.drop()
