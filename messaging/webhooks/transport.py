"""An httpx transport that connects only to addresses the SSRF guard checked.

httpx (through httpcore) normally resolves the URL's host itself when it opens a connection,
so a guard that resolved the name a moment earlier checked one answer and the connection
used another (DNS rebinding). Here the network backend never resolves: the caller pins the
host to the addresses it checked (`pinned_to`), and `connect_tcp` opens a socket to one of
those addresses and nothing else. Everything above the socket is unchanged: the request line
and the Host header carry the URL's host, and TLS uses it for SNI and certificate
verification (httpcore passes the origin's host as `server_hostname`), so an HTTPS receiver
behind a shared IP works and a certificate for another name is still refused.

A connection attempted for a host that was not pinned fails closed. A kept-alive connection
is reused only for the same origin (scheme, host, port), and was itself opened to a checked
address.

httpx's timeouts bound each socket operation, not a request: a receiver that sends one byte
every few seconds would hold its delivery (and a worker thread) for ever. `pinned_to` also
takes a deadline (time.monotonic()), and every read, write and TLS handshake of the request
waits at most until then."""

from __future__ import annotations

import contextlib
import contextvars
import ssl
import time
import typing
from collections.abc import Iterator

import httpcore
import httpx

from messaging.webhooks.targets import ResolvedTarget

_pinned: contextvars.ContextVar[ResolvedTarget | None] = contextvars.ContextVar(
    "webhook_pinned_target", default=None
)
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("webhook_deadline", default=None)
# A socket operation past the deadline still gets this long, so it fails as a timeout.
_EXPIRED = 0.001


@contextlib.contextmanager
def pinned_to(target: ResolvedTarget, *, deadline: float | None = None) -> Iterator[None]:
    """Within this block, connections to `target.host` go to `target.addresses` only, and
    (with a `deadline`, in time.monotonic() seconds) no socket operation waits past it."""
    pin, until = _pinned.set(target), _deadline.set(deadline)
    try:
        yield
    finally:
        _pinned.reset(pin)
        _deadline.reset(until)


def _clamp(timeout: float | None) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    remaining = max(deadline - time.monotonic(), _EXPIRED)
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every wait is cut at the current request's deadline (read at
    call time, so a kept-alive connection obeys the request it now serves)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class PinnedNetworkBackend(httpcore.SyncBackend):
    """httpcore's socket backend with name resolution replaced by the pinned addresses."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options=None,
    ) -> httpcore.NetworkStream:
        target = _pinned.get()
        if target is None or target.host != host or target.port != port:
            raise httpcore.ConnectError(f"refusing to connect to {host}:{port}: not a checked webhook target")
        # Each checked address in the resolver's order, as a client would; a numeric host
        # makes socket.create_connection skip name resolution.
        failure: Exception = httpcore.ConnectError(f"{host} has no checked address")
        for address in target.addresses:
            try:
                stream = super().connect_tcp(address, port, _clamp(timeout), local_address, socket_options)
                return _DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure


class PinnedTransport(httpx.HTTPTransport):
    """`httpx.HTTPTransport` whose connection pool uses PinnedNetworkBackend. No proxy
    (a proxy would resolve the name itself), HTTP/1.1 only."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        super().__init__(verify=verify, limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=verify
            if isinstance(verify, ssl.SSLContext)
            else httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedNetworkBackend(),
        )
