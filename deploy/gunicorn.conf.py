"""gunicorn configuration for casebridge: ``gunicorn -c gunicorn.conf.py casebridge.wsgi``.

Every value comes from an environment variable (see docs/operations.md, "Production");
a malformed one stops gunicorn with ``ImproperlyConfigured`` naming the variable.

- CASEBRIDGE_BIND (default 127.0.0.1:8000): where gunicorn listens; the reverse proxy
  connects here. Keep it on loopback or a private interface.
- GUNICORN_WORKERS (default 2 x CPUs + 1): worker processes (sync workers).
- GUNICORN_TIMEOUT (default 60): seconds before a silent worker is killed and replaced.
- GUNICORN_MAX_REQUESTS (default 2000, 0 = never): recycle a worker after this many
  requests (with jitter), which bounds slow memory growth.
- FORWARDED_ALLOW_IPS (default 127.0.0.1): addresses of the reverse proxy whose
  X-Forwarded-* headers gunicorn trusts.
- GUNICORN_ACCESS_LOG (default "-", stdout; empty = off): the access log, in LOG_FORMAT
  (json or plain) like the application's: method, status, size, duration and the request
  id; no path (ids), no query string, no client address, no referrer, no cookies.
- PROMETHEUS_MULTIPROC_DIR (default: a new folder in /dev/shm): where the workers keep
  their request metrics for /metrics to add up; emptied when gunicorn starts.
"""

import multiprocessing
import os
import shutil
import tempfile

from casebridge import env

bind = [env.env_str("CASEBRIDGE_BIND", "127.0.0.1:8000")]
workers = env.env_int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1, minimum=1)
worker_class = "sync"
timeout = env.env_int("GUNICORN_TIMEOUT", 60, minimum=5)
graceful_timeout = 30
keepalive = 5
max_requests = env.env_int("GUNICORN_MAX_REQUESTS", 2000, minimum=0)
max_requests_jitter = max_requests // 10
# The app is loaded in every worker after the fork, so no database connection is shared.
preload_app = False
forwarded_allow_ips = env.env_str("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Heartbeat files on tmpfs: a worker blocked on a slow disk is not taken for dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

accesslog = env.env_str("GUNICORN_ACCESS_LOG", "-") or None
# Written by casebridge.observability.gunicorn, which names no path and no query string.
logger_class = "casebridge.observability.gunicorn.GunicornLogger"
errorlog = "-"
loglevel = env.env_str("LOG_LEVEL", "INFO").lower()
proc_name = "casebridge"

# Request metrics of all workers (prometheus_client's multiprocess mode): set before the
# workers load the app; kept across reloads (SIGHUP), emptied at start, removed at exit.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["CASEBRIDGE_METRICS_DIR_OURS"] = "1"  # made here: removed at exit
    _shm = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="casebridge-metrics-", dir=_shm
    )


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for name in os.listdir(folder):  # counts of an earlier run would be added up again
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess  # noqa: PLC0415 - only in the master

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if os.environ.get("CASEBRIDGE_METRICS_DIR_OURS") == "1":
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def pre_request(worker, req):
    """gunicorn's default logs "METHOD /path" at DEBUG: the path holds ids. Nothing here;
    the application logs the route's name with the request id."""
