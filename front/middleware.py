"""Two guards around every request (``MIDDLEWARE``, first in the list):

* ``ApiErrorsAsJson``: under ``/api/`` an error is always the API's JSON shape,
  ``{"error": {"field": ..., "message": ...}}``, whoever produced it (django-ninja's 405,
  Django's 404 or 500 page, another middleware). The API contract holds even for the
  errors no view saw.
* ``RejectControlCharacters``: a path or query parameter holding a control character
  (``%00``, ``%0A``, ``%7F``…) never reaches a view, the database or the engine.
  PostgreSQL refuses NUL in a string, so without this ``/models/a%00b/`` would be a 500
  there; no model slug, option value or filter a visitor types contains one. The path is
  a 404 (no page has such an address), a query parameter a 400 naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from front.api_limits import error_response

API_PREFIX = "/api/"
# C0 controls, DEL and C1 controls: never part of a slug, a number or a model name.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
KEPT_HEADERS = ("Allow", "Retry-After")

# What an error status means when the API's own handlers did not word it.
STATUS_ERRORS = {
    400: ("request", "the request could not be read"),
    404: ("path", "no such API endpoint; see /api/v1/openapi.json"),
    405: ("method", "method not allowed"),
    413: ("body", "request body is too large"),
    429: ("rate", "too many requests"),
}


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def api_error_for(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The JSON error that stands for a non-JSON error ``response``."""
    status = response.status_code
    field, message = STATUS_ERRORS.get(status, ("server", "internal error; it has been logged"))
    if status == 405 and response.has_header("Allow"):
        message = f"method {request.method} not allowed; use {response['Allow']}"
    elif status < 500 and status not in STATUS_ERRORS:
        field, message = "request", f"request refused ({status})"
    replacement = error_response(field, message, status)
    for header in KEPT_HEADERS:
        if response.has_header(header):
            replacement[header] = response[header]
    return replacement


class ApiErrorsAsJson:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_api(request) and response.status_code >= 400 and not _is_json(response):
            return api_error_for(request, response)
        return response


def control_character_field(request: HttpRequest) -> str | None:
    """``path``, or the name of the first query parameter holding a control character."""
    if CONTROL.search(request.path):
        return "path"
    for key, values in request.GET.lists():
        if CONTROL.search(key):
            return CONTROL.sub("?", key)[:40] or "query"
        if any(CONTROL.search(value) for value in values):
            return key[:40]
    return None


class RejectControlCharacters:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = control_character_field(request)
        if field is None:
            return self.get_response(request)
        if field == "path":
            raise Http404("control character in the path")  # the site's 404 page
        if is_api(request):
            return error_response(field, f"{field}: contains a control character")
        return render(request, "400.html", {"field": field}, status=400)
