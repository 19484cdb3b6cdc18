"""Structured logs: one JSON object per line, each carrying the request id.

``RequestIdMiddleware`` takes the id from a safe ``X-Request-ID`` header (or makes one),
echoes it in the response and keeps it, with the route's name, in a context variable;
``RequestContextFilter`` copies both into every record of that request and takes request
paths out of Django's own records (``django.request``, ``django.security.*``,
``django.server``), whose messages would otherwise end with the path (ids in it).
``JsonFormatter`` writes a fixed set of fields: never the path, the query string, a user
name or an exception's message (database errors quote the values they refused).
"""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.urls import resolve

from casebridge import env

REQUEST_ID_HEADER = "X-Request-ID"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
NO_REQUEST = "-"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass
class RequestContext:
    request_id: str
    route: str = NO_REQUEST


current: ContextVar[RequestContext | None] = ContextVar("casebridge_request", default=None)


def request_id_from(header: str | None) -> str:
    """The caller's id when it is a short token of letters, digits and dashes, else a new one."""
    if header and SAFE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def route_name(request) -> str:
    """The URL pattern's name (``cases:case``), never the path; ``unresolved`` when no
    pattern matches (static files, 404s). A request answered by a middleware before URL
    resolution (a 400 for an unreadable body) is resolved here."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Http404:
            return "unresolved"
    return match.view_name or match.route or "unnamed"


def method_label(method: str | None) -> str:
    """A bounded label: clients may send any token as a method."""
    return method if method in KNOWN_METHODS else "other"


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``route`` to every record; replaces the request path in the
    records Django writes about a request with the route's name."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current.get()
        request = getattr(record, "request", None)
        if context is None and hasattr(request, "request_id"):
            # Django logs a 4xx/5xx response after the middleware has returned
            context = RequestContext(request.request_id, route_name(request))
        if not hasattr(record, "request_id"):
            record.request_id = context.request_id if context else NO_REQUEST
        if not hasattr(record, "route"):
            record.route = context.route if context else NO_REQUEST
        if record.name.startswith(("django.request", "django.security", "django.server")):
            scrub_path(record)
        return True


def scrub_path(record: logging.LogRecord) -> None:
    request = getattr(record, "request", None)
    args = record.args
    if isinstance(args, tuple) and args:
        path = getattr(request, "path", None)
        # log_response escapes its arguments (unicode_escape): compare with both spellings
        paths = {path, path.encode("unicode_escape").decode("ascii")} if path else set()
        if args[-1] in paths:
            record.args = (*args[:-1], route_name(request))
        elif record.name == "django.server":  # '"GET /path?query HTTP/1.1" 200 123'
            record.args = ("-", *args[1:])
    if record.name == "django.server" or getattr(record, "request", None) is not None:
        record.request = None  # a formatter must not find the request (headers, cookies)


class JsonFormatter(logging.Formatter):
    """One JSON object per line with a fixed set of fields."""

    EXTRA = ("method", "status", "duration_ms", "user_id")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_REQUEST),
            "route": getattr(record, "route", NO_REQUEST),
        }
        for name in self.EXTRA:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            kind, _value, trace = record.exc_info
            # The type and where: an exception's message may quote stored values.
            entry["exception"] = kind.__qualname__
            entry["stack"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(trace)
            ]
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = NO_REQUEST
        return super().format(record)


request_logger = logging.getLogger("casebridge.request")


class RequestIdMiddleware:
    """Outermost: the request id for the logs and the response; one log line per request
    (route name, method, status, duration; the user only as the internal number)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        context = RequestContext(request_id_from(request.META.get("HTTP_X_REQUEST_ID")))
        request.request_id = context.request_id
        token = current.set(context)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            context.route = route_name(request)
            response[REQUEST_ID_HEADER] = context.request_id
            user = getattr(request, "user", None)
            request_logger.info(
                "request",
                extra={
                    "method": method_label(request.method),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": user.pk if user is not None and user.is_authenticated else None,
                },
            )
            return response
        finally:
            current.reset(token)


def log_format() -> str:
    """LOG_FORMAT: json (the default unless DEBUG) or plain."""
    value = env.env_str("LOG_FORMAT", "plain" if env.env_bool("DEBUG", default=False) else "json")
    if value not in {"json", "plain"}:
        raise ImproperlyConfigured("LOG_FORMAT: must be json or plain")
    return value


def logging_config(log_format: str, level: str) -> dict:
    """The LOGGING setting (also what gunicorn's own loggers use, deploy/gunicorn.conf.py)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": "casebridge.observability.logs.RequestContextFilter"}},
        "formatters": {
            "json": {"()": "casebridge.observability.logs.JsonFormatter"},
            "plain": {"()": "casebridge.observability.logs.PlainFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's request records: warnings and errors only, the path replaced by the
            # route's name (RequestContextFilter); one line per request is ours.
            "django.request": {"level": "WARNING"},
            "django.server": {"level": "WARNING"},
            # Authlib logs PKCE verifiers and token responses at DEBUG: never, whatever
            # the level.
            "authlib": {"level": "WARNING"},
        },
    }
