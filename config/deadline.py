"""A deadline for every web request (``REQUEST_DEADLINE`` seconds, 0: none).

A thread serving a WSGI request cannot be interrupted, so the deadline is cooperative:
the middleware stamps when the request must be done, and every database query checks
the stamp before it runs. A request past its deadline stops at its next query and
answers 503 with ``Retry-After`` (JSON under ``/api/``) instead of running on. Each
single wait is bounded on its own (``DB_CONNECT_TIMEOUT``, ``DB_STATEMENT_TIMEOUT``, the
cache's and broker's socket timeouts), so no request holds a thread much longer than
the deadline plus one statement. ``lifted()`` switches it off for a block.

A database that refuses connections, or a statement PostgreSQL cancelled at its
timeout (Django's ``OperationalError``), is answered the same way: 503 with
``Retry-After``, not a 500, since trying again shortly is the right thing for the
client to do. The API's own exception handlers (``front/api.py``) call
``response_for`` for both, since django-ninja answers before this middleware sees an
exception; ``server_error`` (``handler500``) catches the ones raised where no middleware
sees them (the 404 page's own queries, another middleware).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

log = logging.getLogger("config.deadline")
RETRY_AFTER_S = 5
MESSAGE = "The server took too long to answer this request; please try again shortly."
DATABASE_MESSAGE = "The database is unavailable right now; please try again shortly."

_deadline: ContextVar[float | None] = ContextVar("request_deadline", default=None)


class DeadlineExceeded(Exception):
    """The request ran past REQUEST_DEADLINE; raised before its next database query."""


def remaining() -> float | None:
    """Seconds left for the current request (negative when past), None outside one."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def lifted() -> Iterator[None]:
    """No deadline inside this block: for work an editor asked to run in the request
    (a price sync without a broker), bounded by its own timeouts instead."""
    token = _deadline.set(None)
    try:
        yield
    finally:
        _deadline.reset(token)


def check_deadline(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
    """A database execute-wrapper: refuse to start a query once the request is late."""
    left = remaining()
    if left is not None and left < 0:
        raise DeadlineExceeded(f"request past its deadline by {-left:.1f} s")
    return execute(sql, params, many, context)


def _install_on_every_connection() -> None:
    # First in the list, so a test's own `with connection.execute_wrapper(...)` pops its
    # wrapper, not this one.
    for connection in connections.all():
        if check_deadline not in connection.execute_wrappers:
            connection.execute_wrappers.insert(0, check_deadline)


def unavailable_response(request: HttpRequest, message: str, field: str) -> HttpResponse:
    """503 with ``Retry-After``: the API's JSON error shape under ``/api/``, plain text
    elsewhere."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"error": {"field": field, "message": message}}, status=503
        )
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def deadline_response(request: HttpRequest) -> HttpResponse:
    return unavailable_response(request, MESSAGE, "request")


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    return unavailable_response(request, DATABASE_MESSAGE, "server")


def response_for(request: HttpRequest, exception: Exception) -> HttpResponse | None:
    """The 503 for a late request or an unavailable database, None for anything else."""
    if isinstance(exception, DeadlineExceeded):
        log.warning("%s %s: %s", request.method, request.path, exception)
        return deadline_response(request)
    if isinstance(exception, OperationalError):
        log.error("%s %s: database unavailable: %s", request.method, request.path, exception)
        return database_unavailable_response(request)
    return None


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: Django calls it for an exception nothing else handled. An
    unavailable database or a late request is still a 503; anything else is the 500 page."""
    exception = sys.exc_info()[1]
    if isinstance(exception, Exception):
        response = response_for(request, exception)
        if response is not None:
            return response
    return defaults.server_error(request)


class RequestDeadlineMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = float(getattr(settings, "REQUEST_DEADLINE", 0) or 0)
        if seconds <= 0:
            return self.get_response(request)
        _install_on_every_connection()
        token = _deadline.set(time.monotonic() + seconds)
        try:
            return self.get_response(request)
        finally:
            _deadline.reset(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return response_for(request, exception)
