"""An HTTP client whose every request has a total deadline, not only per-read timeouts.

httpx's timeouts apply to each network operation: a server that sends one byte every
half second never trips a 10 s read timeout and can hold a request for as long as it
likes. Here every connect, read and write on the socket gets at most the time left
before the request's deadline (``deadline_seconds`` in the source settings, and never
past the whole run's deadline), so a trickling reply fails on time.
"""

from __future__ import annotations

import typing

import httpcore
import httpx
from httpcore import NetworkBackend, NetworkStream

from .base import Deadline, SourceError, SourceSettings, TransientSourceError, check_url


class _DeadlineStream(NetworkStream):
    def __init__(self, stream: NetworkStream, backend: _DeadlineBackend) -> None:
        self._stream = stream
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._backend.limit(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._backend.limit(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> NetworkStream:
        timeout = self._backend.limit(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, timeout), self._backend
        )

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self.deadline: Deadline | None = None

    def limit(self, timeout: float | None, error: type[Exception]) -> float | None:
        if self.deadline is None:
            return timeout
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise error(f"request deadline of {self.deadline.seconds:g} s passed")
        return remaining if timeout is None else min(timeout, remaining)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> NetworkStream:
        timeout = self.limit(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> NetworkStream:  # pragma: no cover - sources use TCP only
        raise httpcore.ConnectError("unix sockets are not used by price sources")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - no retries in httpcore
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx transport: each request must finish by ``min(run deadline, now + per_request)``."""

    def __init__(self, *, per_request: float, run_deadline: Deadline) -> None:
        super().__init__(trust_env=False)
        self.per_request = per_request
        self.run_deadline = run_deadline
        self._backend = _DeadlineBackend()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=4,
            network_backend=self._backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._backend.deadline = self.run_deadline.sooner(self.per_request)
        return super().handle_request(request)

    @property
    def request_deadline(self) -> Deadline | None:
        return self._backend.deadline


class SourceClient:
    """A small wrapper: one deadline-bound client per fetch, errors mapped for sources."""

    def __init__(self, settings: SourceSettings, run_deadline: Deadline) -> None:
        self.transport = DeadlineTransport(
            per_request=settings.deadline_seconds, run_deadline=run_deadline
        )
        seconds = settings.timeout_seconds
        self.client = httpx.Client(
            transport=self.transport,
            timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)),
            follow_redirects=False,
            trust_env=False,
        )

    def __enter__(self) -> SourceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def fetch(
        self,
        method: str,
        url: str,
        *,
        read: typing.Callable[[httpx.Response], typing.Any],
        **kwargs: typing.Any,
    ) -> typing.Any:
        """Send one request and return ``read(response)``, mapping transport errors."""
        try:
            check_url(url)
        except ValueError as exc:
            raise SourceError(str(exc)) from exc
        try:
            with self.client.stream(method, url, **kwargs) as response:
                return read(response)
        except httpx.TimeoutException as exc:
            deadline = self.transport.request_deadline
            if deadline is not None and deadline.expired():
                raise TransientSourceError(
                    f"timeout: {url} took longer than its {deadline.seconds:g} s deadline"
                ) from exc
            raise TransientSourceError(f"timeout calling {url}: {exc}") from exc
        except httpx.TransportError as exc:
            raise TransientSourceError(f"network error calling {url}: {exc}") from exc
