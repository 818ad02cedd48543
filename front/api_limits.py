"""The JSON API's limits: request rate, body size and JSON shape.

Applied around each operation before django-ninja reads the body, so an oversized
POST is refused from its Content-Length alone and a flood is refused before any
parsing. Rates come from settings (API_RATE_GET, API_RATE_POST) and are counted
per client address in the default cache, which every web process shares.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_ratelimit.core import get_usage


def error_response(field: str, message: str, status: int = 400) -> HttpResponse:
    """The API's one error shape: ``{"error": {"field": ..., "message": ...}}``."""
    return JsonResponse({"error": {"field": field, "message": message}}, status=status)


def _client_address(group: str, request: HttpRequest) -> str:
    """The client's address; behind a proxy, the one the proxy appended last."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return str(request.META.get("REMOTE_ADDR", ""))


def too_many(request: HttpRequest, rate_setting: str) -> HttpResponse | None:
    rate = getattr(settings, rate_setting)
    usage = get_usage(
        request, group=f"api.{rate_setting}", key=_client_address, rate=rate, increment=True
    )
    if usage is None or not usage["should_limit"]:
        return None
    retry_after = max(1, int(usage["time_left"]))
    response = error_response(
        "rate", f"too many requests (limit {rate}); retry in {retry_after} s", 429
    )
    response["Retry-After"] = str(retry_after)
    return response


def _nesting_field(data: Any, limit: int) -> str | None:
    """The top-level key under which ``data`` nests deeper than ``limit``, if any."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "body")]
    while stack:
        value, depth, top = stack.pop()
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if depth >= limit:
            return top
        for key, child in items:
            stack.append((child, depth + 1, str(key) if depth == 0 else top))
    return None


def bad_body(request: HttpRequest) -> HttpResponse | None:
    """413 for a body over API_MAX_BODY_BYTES (unread); 400 for JSON nested too deep."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error_response("body", "Content-Length is not a number")
    limit = settings.API_MAX_BODY_BYTES
    if length > limit:
        return error_response("body", f"request body is too large (limit {limit} bytes)", 413)
    if not length:
        return None
    try:
        data = json.loads(request.body)
    except RecursionError:
        data = None
        field: str | None = "config"
    except ValueError:
        return None  # not JSON: django-ninja answers with its usual 400
    else:
        field = _nesting_field(data, settings.API_MAX_JSON_DEPTH)
    if field is None:
        return None
    return error_response(
        field, f"{field}: nested deeper than {settings.API_MAX_JSON_DEPTH} levels"
    )


def layer_count_over_limit(config: dict[str, Any], prefix: str = "config") -> str | None:
    """The first ``*layers`` count above API_MAX_CONFIG_LAYERS (the engine lists tensors
    per layer, so an absurd count would cost seconds of CPU per request)."""
    for key, value in config.items():
        if isinstance(value, dict):
            found = layer_count_over_limit(value, f"{prefix}.{key}")
            if found:
                return found
        elif (
            str(key).endswith("layers")
            and isinstance(value, int | float)
            and value > settings.API_MAX_CONFIG_LAYERS
        ):
            return f"{prefix}.{key}"
    return None


def guard(rate_setting: str, *, check_body: bool = False) -> Callable[..., Any]:
    def decorator(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(run)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refused = (check_body and bad_body(request)) or too_many(request, rate_setting)
            return refused or run(request, *args, **kwargs)

        return guarded

    return decorator
