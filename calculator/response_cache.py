"""Whole-response caching for the public GET pages and the estimate API.

A response is a pure function of its URL, the htmx headers and the site's data.
The data's version lives in the shared cache (Redis in production) and changes
whenever a model, hardware profile, efficiency class, kit, offer, retailer, sync run
or FAQ entry is saved or deleted, so every web machine drops its stale pages at
once. Entries also expire after ``TIMEOUT`` seconds, which bounds how late a price
turning stale (24 hours after its check) can show. The body is also kept gzipped,
compressed once at store time, for the clients that accept it (every browser).
"""

from __future__ import annotations

import gzip
import hashlib
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

VERSION_KEY = "site-data-version"
TIMEOUT = 300
VARY_HEADERS = ("HX-Request", "HX-History-Restore-Request", "HX-Target")
SKIP_HEADERS = {"set-cookie", "content-length"}


def data_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY) or "uncached"
    return str(version)


def bump_data_version(*args: Any, **kwargs: Any) -> None:
    """Signal receiver: any change to the site's data invalidates every cached response."""
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def response_key(request: HttpRequest, namespace: str) -> str:
    parts = [namespace, data_version(), request.get_full_path()]
    parts += [request.headers.get(h, "") for h in VARY_HEADERS]
    return "resp:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _accepts_gzip(request: HttpRequest) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def store(key: str, response: HttpResponse) -> None:
    if response.status_code != 200 or response.streaming or response.cookies:
        return
    patch_vary_headers(response, ("Accept-Encoding",))
    headers = [(k, v) for k, v in response.items() if k.lower() not in SKIP_HEADERS]
    cache.set(key, (response.content, gzip.compress(response.content, 6), headers), TIMEOUT)


def load(key: str, request: HttpRequest) -> HttpResponse | None:
    hit = cache.get(key)
    if hit is None:
        return None
    content, compressed, headers = hit
    zipped = _accepts_gzip(request)
    response = HttpResponse(compressed if zipped else content)
    for name, value in headers:
        response[name] = value
    if zipped:
        response["Content-Encoding"] = "gzip"
    return response


def cached_response(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve a GET view's 200 responses from the shared cache while the data is unchanged."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        key = response_key(request, view.__qualname__)
        hit = load(key, request)
        if hit is not None:
            return hit
        response = view(request, *args, **kwargs)
        store(key, response)
        return response

    return wrapper
