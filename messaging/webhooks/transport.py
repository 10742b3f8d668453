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
address."""

from __future__ import annotations

import contextlib
import contextvars
import ssl
from collections.abc import Iterator

import httpcore
import httpx

from messaging.webhooks.targets import ResolvedTarget

_pinned: contextvars.ContextVar[ResolvedTarget | None] = contextvars.ContextVar(
    "webhook_pinned_target", default=None
)


@contextlib.contextmanager
def pinned_to(target: ResolvedTarget) -> Iterator[None]:
    """Within this block, connections to `target.host` go to `target.addresses` only."""
    token = _pinned.set(target)
    try:
        yield
    finally:
        _pinned.reset(token)


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
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
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
