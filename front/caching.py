"""The whole-response cache for public GET pages and the GET API, with a canonical key.

A cached response must be a pure function of its key, and junk must not grow the cache.
So the key is built only from what a page can show:

* the host and the path;
* the page's options, validated by ``calculator.options`` and written canonically
  (``?quant=q4_k_m&context=32k`` and ``?context=32768&quant=Q4_K_M`` are one entry;
  default values are left out);
* the machine a model page or the API is asked about (``calculator.options``'
  ``BUILD_FIELDS``: build, host, ram_gb, dimms, every gpu), canonically and in the
  table's order, after the options;
* the page's own filter parameters (``q``, ``family``, ``models``…), in a fixed order;
* the htmx rendering mode: a full page, or a partial for one of the target ids the
  site's templates use (``HTMX_TARGETS``); any other ``HX-Target`` is ignored;
* the versions of the data the page shows (``calculator.versions``): every page shows
  the "models" data; pages with prices also key on "prices", so a price sync
  invalidates only them.

Where: a page is looked up and stored by :class:`ResponseCacheMiddleware`, early in the
middleware, so a hit skips the rest of it (CSP, sessions, CSRF, auth…) and replays the
headers they had added; an API operation (behind django-ninja's view) by the view's
own wrapper, :func:`cached_page`, which also says what each view's key is made of.

Every other query parameter (``utm_*``, ``fbclid``, ``gclid``, anything the page does
not read) is dropped, not redirected: campaign links land in one hop, and the page's
``<link rel="canonical">`` already names the clean URL. The view is called with the
same canonical query the key was built from (``request.GET`` is replaced), so what it
renders cannot depend on anything the key leaves out. A query with a bad option value
is rendered fresh with its inline message and never stored, so typos cannot fill the
cache either.

Entries also expire after ``TIMEOUT`` seconds, which bounds how late a price turning
stale (24 hours after its check) can show. The body is kept gzipped only, compressed
once at store time, for the clients that accept it (every browser); any other client
gets it decompressed.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, get_resolver
from django.utils.cache import patch_vary_headers

from calculator import options as option_table
from calculator import versions
from config import deadline
from front.api_limits import RateLimit, get_many_counting, verdict
from front.htmx import HTMX_TARGETS, is_partial

TIMEOUT = 300
SKIP_HEADERS = {"set-cookie", "content-length"}
MAX_PARAM = 200  # characters of a filter value kept (longer values are cut)
MEMO_QUERY = 1_000  # characters: a longer query string is parsed every time, not memoised


@dataclass(frozen=True)
class PageKey:
    """What one page's response depends on, besides its path."""

    options: tuple[str, ...] = ()  # calculator.options fields the page reads
    params: tuple[str, ...] = ()  # the page's own query parameters
    data: tuple[str, ...] = (versions.MODELS,)  # calculator.versions names it shows
    build: bool = False  # reads the build a visitor picks (calculator.options.BUILD_FIELDS)

    def canonical_query(
        self, query: QueryDict, defaults: Any = option_table.DEFAULTS
    ) -> tuple[str, bool]:
        """The query string the page is rendered from, and whether it may be cached
        (False when an option value is bad: the page shows a message for it).
        ``defaults``: the options this page shows when none are given (a model's own
        default quant), so an option equal to them is dropped and no other is."""
        tables = [(defaults, self.options)]
        if self.build:
            tables.append((option_table.BUILD_DEFAULTS, option_table.BUILD_NAMES))
        items: list[tuple[str, str]] = []
        cacheable = True
        for table_defaults, names in tables:
            parsed, problems = option_table.parse_lenient(query, table_defaults, fields=names)
            if problems:  # rendered fresh with its message: keep what was typed
                items.extend(option_table.raw_items(query, names))
                cacheable = False
            else:
                items.extend(option_table.canonical_items(parsed, table_defaults, fields=names))
        for name in self.params:
            value = query.get(name, "").strip()[:MAX_PARAM]
            if value:
                items.append((name, value))
        encoded = QueryDict(mutable=True)
        for name, value in items:
            encoded.appendlist(name, value)
        # Commas and colons kept as typed: the address bar shows this query
        # (``models=deepseek-r1,qwen3-32b``, ``gpu=rtx-3090:2``), as the site's links do.
        return encoded.urlencode(safe=",:"), cacheable


@lru_cache(maxsize=4_096)
def _canonical_query(page: PageKey, raw: str, defaults: Any) -> tuple[str, bool]:
    return page.canonical_query(QueryDict(raw), defaults)


def canonical_query_of(page: PageKey, request: HttpRequest, defaults: Any) -> tuple[str, bool]:
    """``page.canonical_query`` of the request's query string, memoised (a pure function
    of the page, the string and the defaults; the memo is bounded, and a query string
    too long to be anybody's link is parsed every time instead of kept)."""
    raw = request.META.get("QUERY_STRING", "")
    if len(raw) > MEMO_QUERY:
        return page.canonical_query(request.GET, defaults)
    return _canonical_query(page, raw, defaults)


def htmx_mode(request: HttpRequest) -> str:
    """``full``, ``partial`` or ``partial#<target>`` for a target the templates use."""
    if not is_partial(request):
        return "full"
    target = request.headers.get("HX-Target", "")
    return f"partial#{target}" if target in HTMX_TARGETS else "partial"


def response_key(request: HttpRequest, name: str, page: PageKey, query: str) -> str:
    parts = [
        name,
        request.get_host(),
        request.path,
        query,
        htmx_mode(request),
        *versions.current_for(request, *page.data),
    ]
    return "resp:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _accepts_gzip(request: HttpRequest) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


Entry = tuple[bytes, list[tuple[str, str]]]  # the gzipped body and the headers


def store(key: str, response: HttpResponse) -> Entry | None:
    """Keep a 200 (and return what was kept); a response marked ``no-store`` (a page
    showing a message about its input, such as a build the engine refused) is rendered
    fresh every time."""
    if response.status_code != 200 or response.streaming or response.cookies:
        return None
    if "no-store" in response.get("Cache-Control", ""):
        return None
    patch_vary_headers(response, ("Accept-Encoding",))
    headers = [(k, v) for k, v in response.items() if k.lower() not in SKIP_HEADERS]
    # Only the gzipped body is kept (a hit moves a seventh of the bytes out of Redis);
    # the rare client that does not accept gzip gets it decompressed.
    entry = (gzip.compress(response.content, 6), headers)
    cache.set(key, entry, TIMEOUT)
    return entry


def store_and_send(key: str, response: HttpResponse, request: HttpRequest) -> HttpResponse:
    """Store a fresh ``response`` under ``key`` ("": not cacheable) and return what to
    send: to a client that accepts gzip, the stored body as a hit sends it (compressed
    once, not again by ``GZipMiddleware``)."""
    entry = store(key, response) if key else None
    return replay(entry, request) if entry and _accepts_gzip(request) else response


def replay(hit: Entry, request: HttpRequest) -> HttpResponse:
    """A stored entry as the response this client gets (gzipped when it accepts it)."""
    compressed, headers = hit
    zipped = _accepts_gzip(request)
    response = HttpResponse(compressed if zipped else gzip.decompress(compressed))
    for name, value in headers:
        response[name] = value
    response["Content-Length"] = str(len(response.content))
    if zipped:
        response["Content-Encoding"] = "gzip"
    return response


@dataclass(frozen=True)
class Lookup:
    """A request's canonical query, its key ("" when it may not be cached) and the entry
    found under it (None on a miss)."""

    query: str
    key: str
    hit: Any = None
    refused: HttpResponse | None = None  # the rate limit's 429, counted in the same trip


@dataclass(frozen=True)
class CachedView:
    """What the response cache knows of one view: its name (part of every key), what its
    responses depend on, and how to find its defaults."""

    name: str
    page: PageKey
    defaults: Callable[[HttpRequest, dict[str, Any]], Any] | None = None
    # Counted on every request, hit or miss, in the lookup's round trip (the API's).
    limit: RateLimit | None = None

    def _canonical(self, request: HttpRequest, kwargs: dict[str, Any]) -> tuple[str, str]:
        shown = self.defaults(request, kwargs) if self.defaults else option_table.DEFAULTS
        query, cacheable = canonical_query_of(self.page, request, shown)
        return query, response_key(request, self.name, self.page, query) if cacheable else ""

    def lookup(self, request: HttpRequest, kwargs: dict[str, Any]) -> Lookup:
        """The request's key and entry, in one round trip: the key is built on the data
        versions this process saw last, and the true versions come back with the entry
        (and the rate limit's count). A changed version (new data) means a new key: built
        again, and looked up again."""
        page = self.page
        counted = self.limit.tally(request) if self.limit else None
        shared: list[int | None] = []

        def fetch(keys: list[str]) -> dict[str, Any]:
            if counted is None:
                return cache.get_many(keys) if keys else {}
            found, count = get_many_counting(keys, counted)
            shared.append(count)
            return found

        guess = versions.guess_for(request, *page.data)
        if guess is None:
            versions.current_for(request, *page.data)
        query, key = self._canonical(request, kwargs)
        if guess is not None:
            now, hit = versions.read_with(request, page.data, key, fetch)
            if now != guess:
                query, key = self._canonical(request, kwargs)
                hit = cache.get(key) if key else None
        else:  # the versions were read above: the entry alone (and the count)
            found = fetch([key] if key else [])
            hit = found.get(key) if key else None
        refused = verdict(counted, shared[0]) if counted else None
        return Lookup(query, key, hit, refused)

    def answer(
        self, request: HttpRequest, looked: Lookup, render: Callable[[], HttpResponse]
    ) -> HttpResponse:
        """The refusal, the hit, or ``render()`` from the canonical query, stored."""
        if looked.refused is not None:
            return looked.refused
        if looked.hit is not None:
            return replay(looked.hit, request)
        request.GET = QueryDict(looked.query)  # the view sees what the key was built from
        request.META["QUERY_STRING"] = looked.query
        return store_and_send(looked.key, render(), request)


# Cached views that URL resolution cannot see, by URL name: django-ninja answers each API
# path from one view of its own, which dispatches to the operations.
_ROUTES: dict[str, CachedView] = {}


def cached_page(
    *,
    options: Iterable[str] = (),
    params: Iterable[str] = (),
    data: Iterable[str] = (versions.MODELS,),
    defaults: Callable[[HttpRequest, dict[str, Any]], Any] | None = None,
    build: bool = False,
    limit: RateLimit | None = None,
    route: str = "",
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Serve a GET view's 200 responses from the shared cache under its canonical key.

    ``options``: the ``calculator.options`` fields the page reads; ``params``: its other
    query parameters; ``data``: the ``calculator.versions`` it shows; ``defaults``: the
    options the page shows when none are given, from the request and the view's URL
    arguments (a model page: the model's default quant); ``build``: it reads the build
    fields too. The view sees only those parameters, canonically written. ``limit``:
    asked first on every request, hit or miss (the API's rate limit).

    :class:`ResponseCacheMiddleware` looks the view up and stores it, around most of the
    middleware: a page's URL resolves to the view itself; an API operation, behind
    django-ninja's one view per path, names its URL in ``route`` (``api:get_estimate``).
    This wrapper does it when the middleware did not (a test calling the view).
    """
    page = PageKey(tuple(options), tuple(params), tuple(data), build)

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        cached = CachedView(
            route or f"{view.__module__}.{view.__qualname__}", page, defaults, limit
        )
        if route:
            _ROUTES[route] = cached

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            if getattr(request, "_response_cache", None) is cached:  # the middleware's
                return view(request, *args, **kwargs)
            looked = cached.lookup(request, kwargs)
            return cached.answer(request, looked, lambda: view(request, *args, **kwargs))

        # Decorators over this one (functools.wraps) carry it up to what the URL resolves to.
        wrapper.response_cache = cached  # type: ignore[attr-defined]  # mypy: no attributes on functions
        return wrapper

    return decorator


class ResponseCacheMiddleware:
    """The response cache, early in ``MIDDLEWARE``: a hit is answered before the
    middleware after it runs (CSP, WhiteNoise, sessions, CSRF, auth, messages…), with the
    headers they had added to the response it replays; a miss goes on through them and
    their response is stored. Only a URL whose view is a :func:`cached_page` is touched;
    the middleware before this one (the security headers and HTTPS redirect, the request
    deadline, htmx's request details) runs for every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = _cached_view(request)
        if found is None:
            return self.get_response(request)
        cached, kwargs = found
        with versions.pinned(request):  # a render's memos agree with the key it is stored under
            try:
                looked = cached.lookup(request, kwargs)
            except (DatabaseError, deadline.DeadlineExceeded):
                # A page's defaults read the database: the view answers for it as usual
                # (the API's JSON 503, a page's 503), its wrapper trying the cache again.
                return self.get_response(request)
            request._response_cache = cached  # type: ignore[attr-defined]  # its wrapper stands aside
            return cached.answer(request, looked, lambda: self.get_response(request))


def _cached_view(request: HttpRequest) -> tuple[CachedView, dict[str, Any]] | None:
    if request.method not in ("GET", "HEAD"):
        return None
    try:
        match = get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
    except Resolver404:
        return None
    cached = getattr(match.func, "response_cache", None) or _ROUTES.get(match.view_name)
    return (cached, match.kwargs) if isinstance(cached, CachedView) else None
