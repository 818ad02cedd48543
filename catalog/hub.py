"""The Hugging Face Hub, through the ``huggingface_hub`` library: a repository's file
listing (``HfApi.model_info(files_metadata=True)``: one ``GET /api/models/<repo>?blobs=true``
giving the head commit and every file's size) and ranged reads of a file's first bytes
(``GET /<repo>/resolve/<commit>/<path>`` with ``Range: bytes=0-N``, for GGUF headers).

* ``HF_ENDPOINT`` (environment) points the client elsewhere, e.g. a loopback server in
  tests; https only, plain http only on loopback hosts. ``HF_TOKEN`` (environment) is
  sent when set; no token stored on disk is ever used.
* Every reply is bounded: at most ``MAX_LISTING_BYTES`` read for a listing, never past the
  run's deadline (checked as bytes arrive, so a server trickling bytes cannot hold a run),
  and per-read timeouts. The library's client factory is replaced once per process by
  one that enforces this (``huggingface_hub.set_client_factory``).
* Errors map to the catalog's source errors: a 429 or 5xx is ``TransientSourceError``
  with the Hub's ``Retry-After``; a missing repository (404) is ``RepositoryGone``; a
  reply that is not the expected JSON is ``SourceError``. Nothing here writes to the
  database (``catalog.gguf_services`` applies what this returns).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
import huggingface_hub
import pydantic
from huggingface_hub import HfApi, hf_hub_url
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import build_hf_headers

from catalog.sources.base import (
    LOOPBACK_HOSTS,
    Deadline,
    SourceError,
    TransientSourceError,
    retry_after_seconds,
)

DEFAULT_ENDPOINT = "https://huggingface.co"
MAX_LISTING_BYTES = 8_000_000  # the largest GGUF repositories list ~100 KB
MAX_ENTRIES = 20_000
TIMEOUT_SECONDS = 15.0


class RepositoryGone(SourceError):
    """The Hub answers 404 for the repository (deleted, renamed, made private)."""


class _ReplyTooLarge(Exception):
    pass


class _DeadlinePassed(Exception):
    pass


@dataclass(frozen=True)
class _Bounds:
    max_bytes: int
    deadline: Deadline


_BOUNDS: contextvars.ContextVar[_Bounds | None] = contextvars.ContextVar("hub_bounds", default=None)


class _BoundedStream(httpx2.SyncByteStream):
    def __init__(self, inner: Any, bounds: _Bounds) -> None:
        self._inner = inner
        self._bounds = bounds

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for chunk in self._inner:
            size += len(chunk)
            if size > self._bounds.max_bytes:
                raise _ReplyTooLarge(f"reply larger than the {self._bounds.max_bytes:,}-byte limit")
            if self._bounds.deadline.expired():
                raise _DeadlinePassed(f"deadline of {self._bounds.deadline.seconds:g} s passed")
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _BoundedTransport(httpx2.BaseTransport):
    """Refuses replies over the caller's byte budget or past its deadline."""

    def __init__(self) -> None:
        self._inner = httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        bounds = _BOUNDS.get()
        if bounds is not None and bounds.deadline.expired():
            raise _DeadlinePassed(f"deadline of {bounds.deadline.seconds:g} s passed")
        response = self._inner.handle_request(request)
        if bounds is None:
            return response
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > bounds.max_bytes:
            response.close()
            raise _ReplyTooLarge(
                f"reply of {int(declared):,} bytes is larger than the {bounds.max_bytes:,}-byte "
                "limit"
            )
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_BoundedStream(response.stream, bounds),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        self._inner.close()


def _client() -> httpx2.Client:
    return httpx2.Client(
        transport=_BoundedTransport(),
        follow_redirects=True,
        timeout=httpx2.Timeout(TIMEOUT_SECONDS, connect=5.0),
    )


_installed = False
_install_lock = threading.Lock()


def _install_client() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            huggingface_hub.set_client_factory(_client)
            _installed = True


def endpoint() -> str:
    """``HF_ENDPOINT`` (read at call time) or huggingface.co; https, or http on loopback."""
    url = (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise SourceError(f"HF_ENDPOINT must be an https URL, not {url[:80]!r}")


def _token() -> str | bool:
    return os.environ.get("HF_TOKEN") or False  # False: never a token saved on disk


@contextlib.contextmanager
def _bounded(max_bytes: int, deadline: Deadline, what: str) -> Iterator[None]:
    token = _BOUNDS.set(_Bounds(max_bytes, deadline))
    try:
        yield
    except RepositoryNotFoundError as exc:
        raise RepositoryGone(f"{what}: the Hub has no such repository (404)") from exc
    except HfHubHTTPError as exc:
        response = exc.response
        status = response.status_code if response is not None else 0
        if status == 429 or status >= 500:
            seconds = retry_after_seconds(response.headers.get("retry-after"))
            said = f" (Retry-After: {seconds:.0f} s)" if seconds is not None else ""
            raise TransientSourceError(f"{what}: HTTP {status}{said}", retry_after=seconds) from exc
        raise SourceError(f"{what}: HTTP {status}") from exc
    except _ReplyTooLarge as exc:
        raise SourceError(f"{what}: {exc}") from exc
    except (_DeadlinePassed, httpx2.TimeoutException) as exc:
        raise TransientSourceError(f"{what}: timed out ({exc})") from exc
    except httpx2.TransportError as exc:
        raise TransientSourceError(f"{what}: network error ({exc})") from exc
    except RecursionError as exc:
        raise SourceError(f"{what}: reply nested too deeply to read") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # not the Hub's JSON
        raise SourceError(f"{what}: unreadable reply ({str(exc)[:120]})") from exc
    finally:
        _BOUNDS.reset(token)


# ── Listings ────────────────────────────────────────────────────────────────────


class _Lfs(pydantic.BaseModel):
    size: int = pydantic.Field(ge=0, lt=2**53)


class _Sibling(pydantic.BaseModel):
    rfilename: str = pydantic.Field(min_length=1, max_length=1000)
    size: int | None = pydantic.Field(None, ge=0, lt=2**53)
    lfs: _Lfs | None = None


class _Listing(pydantic.BaseModel):
    sha: str = pydantic.Field(pattern=r"^[0-9a-f]{40}$")
    siblings: list[_Sibling] = pydantic.Field(max_length=MAX_ENTRIES)


@dataclass(frozen=True)
class Listing:
    """A repository at one commit: every file path with its size (None: not given)."""

    repo_id: str
    commit: str
    entries: tuple[tuple[str, int | None], ...]


def list_repository(repo_id: str, *, deadline: Deadline) -> Listing:
    """Every file of ``repo_id`` with its size, at the head commit of ``main``."""
    _install_client()
    api = HfApi(endpoint=endpoint())
    what = f"listing {repo_id}"
    with _bounded(MAX_LISTING_BYTES, deadline, what):
        info = api.model_info(
            repo_id,
            files_metadata=True,
            timeout=min(TIMEOUT_SECONDS, max(deadline.remaining(), 0.1)),
            token=_token(),
        )
    raw = {
        "sha": info.sha,
        "siblings": [
            {
                "rfilename": s.rfilename,
                "size": s.size,
                "lfs": {"size": s.lfs.size} if s.lfs is not None else None,
            }
            for s in (info.siblings or [])
        ],
    }
    try:
        listing = _Listing.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise SourceError(
            f"{what}: not the Hub's listing shape ({exc.error_count()} problems)"
        ) from None
    entries = tuple(
        (s.rfilename, s.lfs.size if s.lfs is not None else s.size) for s in listing.siblings
    )
    return Listing(repo_id, listing.sha, entries)


# ── Ranged reads ────────────────────────────────────────────────────────────────


def read_prefix(repo_id: str, path: str, *, commit: str, size: int, deadline: Deadline) -> bytes:
    """The first ``size`` bytes of a file (``Range: bytes=0-<size-1>``); fewer when the
    file is shorter. A server that ignores the range is read only up to ``size``."""
    _install_client()
    url = hf_hub_url(repo_id, path, revision=commit or None, endpoint=endpoint())
    headers = build_hf_headers(token=_token())
    headers["Range"] = f"bytes=0-{size - 1}"
    what = f"reading {path}"
    session = huggingface_hub.get_session()
    with (
        _bounded(size + 65_536, deadline, what),
        session.stream("GET", url, headers=headers) as response,
    ):
        if response.status_code == 404:
            raise SourceError(f"{what}: HTTP 404")
        if response.status_code == 429 or response.status_code >= 500:
            seconds = retry_after_seconds(response.headers.get("retry-after"))
            raise TransientSourceError(f"{what}: HTTP {response.status_code}", retry_after=seconds)
        if response.status_code not in (200, 206):
            raise SourceError(f"{what}: HTTP {response.status_code}")
        chunks, got = [], 0
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            got += len(chunk)
            if got >= size:
                break
    return b"".join(chunks)[:size]
