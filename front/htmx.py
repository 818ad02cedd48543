"""The site's htmx conventions in one place: when to render only the swappable region,
which ``hx-target`` ids the templates use, and what a partial carries besides the region.

A partial response starts with the page's ``<title>`` (its template's ``title`` partial),
which htmx moves into the document: the tab title and the history entry follow the
state (quant, context…). Each swappable region's root carries ``data-announce``, the
sentence ``static/js/site.js`` reads to the visitor after the swap, and
``tabindex="-1"`` so focus can land on it when the control that was used is gone.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django_htmx.http import push_url
from django_htmx.middleware import HtmxDetails

# Every id a template swaps into (hx-target="#…"). The response cache keys a partial on
# its target only when it is one of these; any other HX-Target is ignored.
HTMX_TARGETS = frozenset(
    {"result", "results", "search-results", "gguf-files", "kit-picks", "builds"}
)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def is_partial(request: HttpRequest) -> bool:
    """Render only the swappable region: an htmx request that is not a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def render_region(
    request: HttpRequest,
    page: str,
    context: dict[str, Any],
    region: str = "result",
    *,
    title: bool = True,
) -> HttpResponse:
    """The full page; under htmx its ``region`` partial, led by the page's ``<title>``
    (``title=False`` for a region that does not change the page's state, such as live
    search results shown on another page).

    A state's partial also names the URL the address bar and the history entry take:
    the page's canonical URL (the response cache has rewritten the query canonically:
    ``?quant=Q8_0``, not the form's every field, ``?quant=Q8_0&context=8192&kv_type=f16
    &parallel=1&build=&host=…``), so what a visitor copies or bookmarks is the short,
    shareable address and each state has one history entry's URL."""
    if not is_partial(request):
        return render(request, page, context)
    body = render_to_string(f"{page}#{region}", context, request)
    if not title:
        return HttpResponse(body)
    text = render_to_string(f"{page}#title", context, request).strip()  # escaped
    body = mark_safe(f"<title>{text}</title>\n") + body  # noqa: S308
    return push_url(HttpResponse(body), request.get_full_path())
