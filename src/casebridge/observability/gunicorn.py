"""gunicorn's own log lines in the application's format (deploy/gunicorn.conf.py).

The access line names no path (ids), no query string, no client address, no referrer and
no user agent: method, status, bytes, duration and the request id, which finds the
application's line for the same request (with the route's name).
"""

from __future__ import annotations

import logging

from gunicorn.glogging import Logger

from casebridge.observability.logs import (
    REQUEST_ID_HEADER,
    JsonFormatter,
    PlainFormatter,
    RequestContextFilter,
    log_format,
    method_label,
)


class NoRequestLines(logging.Filter):
    """gunicorn names the request's URI (path and query) when a request fails outside the
    application, and quotes the request line of a malformed request: keep the event only."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Error handling request"):
            record.msg, record.args = "Error handling request", ()
        elif message.startswith("Invalid request from ip="):
            record.msg, record.args = "Invalid request", ()
        return True


class GunicornLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        formatter = JsonFormatter() if log_format() == "json" else PlainFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
                if not any(isinstance(f, RequestContextFilter) for f in handler.filters):
                    handler.addFilter(NoRequestLines())
                    handler.addFilter(RequestContextFilter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        wanted = REQUEST_ID_HEADER.lower()
        request_id = next((value for name, value in resp.headers if name.lower() == wanted), "-")
        status = getattr(resp, "status_code", None)
        if status is None and isinstance(resp.status, str) and resp.status[:3].isdigit():
            status = int(resp.status[:3])
        method = method_label(environ.get("REQUEST_METHOD"))
        duration_ms = round(request_time.total_seconds() * 1000, 1)
        self.access_log.log(
            logging.INFO,
            "access %s %s %sms",
            method,
            status,
            duration_ms,
            extra={
                "request_id": request_id,
                "route": "-",
                "method": method,
                "status": status,
                "duration_ms": duration_ms,
            },
        )
