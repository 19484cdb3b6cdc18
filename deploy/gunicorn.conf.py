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
- GUNICORN_ACCESS_LOG (default "-", stdout; empty = off): the access log. Its format holds
  the path without the query string, status, size and duration: no query strings, no
  referrer, no cookies.
"""

import multiprocessing
import os

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
# %(U)s is the path without the query string; search words travel in POST bodies anyway.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = env.env_str("LOG_LEVEL", "INFO").lower()
proc_name = "casebridge"
