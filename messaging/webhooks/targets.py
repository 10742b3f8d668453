"""SSRF guard: where a webhook may be sent.

A URL is checked when an endpoint is created or its URL changes, and again before every
attempt (a name can be re-pointed after creation). At delivery the host is resolved exactly
once (`webhook_target_resolve`), every address it resolves to is checked, and the connection
is made to one of those checked addresses only (`messaging.webhooks.transport`): a resolver
that answers a public address to the guard and 127.0.0.1 to the HTTP client (DNS rebinding)
gains nothing, because the HTTP client never resolves the name again.

IPv6 forms that carry an IPv4 address are judged by that IPv4 address: IPv4-mapped
(::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
The local-use NAT64 prefix (64:ff9b:1::/48, RFC 8215) is refused outright (its embedded
address can sit at several offsets, and it is by definition a network's own translator);
Teredo (2001::/32) is outside the global range, so refused as any non-global address."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from messaging.webhooks.errors import WebhookUrlRefused

_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the translated forms."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip in _IPV4_COMPATIBLE or ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_is_public(address: str) -> bool:
    """True if `address` (v4 or v6, scope id allowed) reaches the public internet only."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL_USE:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # ::1 and :: sit inside ::/96 too; they are judged as IPv6 (not global) below.
            if ip.is_loopback or ip.is_unspecified:
                return False
            ip = embedded
    # is_global also excludes what is neither private nor public: shared address space
    # (100.64.0.0/10, carrier-grade NAT), benchmarking, documentation and reserved ranges.
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class ResolvedTarget:
    """A webhook URL's host resolved once, with the addresses that may be connected to."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _host_and_port(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the host exactly as httpx will hand it to the connection
    (IDNA-encoded ASCII, IPv6 without brackets), so what is resolved and checked is the name
    the connection is for."""
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise WebhookUrlRefused("Webhook URLs must start with http:// or https://.")
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError, ValueError):
        raise WebhookUrlRefused("The webhook URL is not a valid URL.")
    if not host:
        raise WebhookUrlRefused("The webhook URL has no host.")
    port = parsed.port or (443 if scheme == "https" else 80)
    if not 0 < port < 65536:
        raise WebhookUrlRefused("The webhook URL has an invalid port.")
    return scheme, host, port


def webhook_target_resolve(url: str) -> ResolvedTarget:
    """Resolves the URL's host once and returns the addresses a delivery may connect to.
    Raises WebhookUrlRefused unless `url` is http(s) with a host that resolves and, when
    private targets are not allowed, every address it resolves to is public (one private
    address refuses the whole name: which one the client would pick is not ours to guess)."""
    scheme, host, port = _host_and_port(url)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise WebhookUrlRefused(f"The webhook host {host!r} does not resolve ({exc}).")
    # Keep the resolver's order (it is the preference order) without duplicates.
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise WebhookUrlRefused(f"The webhook host {host!r} does not resolve.")
    if not settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS:
        blocked = sorted(a for a in addresses if not address_is_public(a))
        if blocked:
            raise WebhookUrlRefused(
                f"The webhook host {host!r} resolves to a private or reserved address "
                f"({', '.join(blocked)}); only public addresses can receive webhooks."
            )
    return ResolvedTarget(scheme=scheme, host=host, port=port, addresses=addresses)


def webhook_url_check(url: str) -> None:
    """Raises WebhookUrlRefused unless `url` may receive webhooks now (see
    webhook_target_resolve). Used when an endpoint is created or its URL changes."""
    if settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS:
        _host_and_port(url)  # a host that does not resolve yet is allowed in development
        return
    webhook_target_resolve(url)
