"""The site's htmx conventions in one place: when to render only the swappable region,
and which ``hx-target`` ids the templates use."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

# Every id a template swaps into (hx-target="#…"). The response cache keys a partial on
# its target only when it is one of these; any other HX-Target is ignored.
HTMX_TARGETS = frozenset({"result", "results", "search-results"})


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def is_partial(request: HttpRequest) -> bool:
    """Render only the swappable region: an htmx request that is not a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def template_for(request: HttpRequest, page: str, region: str = "result") -> str:
    """The page's template, or only its ``region`` partial under htmx."""
    return f"{page}#{region}" if is_partial(request) else page
