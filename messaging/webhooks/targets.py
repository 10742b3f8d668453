"""SSRF guard: where a webhook may be sent. Checked when an endpoint is created or its URL
changes, and again before every attempt (a name can be re-pointed after creation)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from messaging.webhooks.errors import WebhookUrlRefused


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    # is_global also excludes what is neither private nor public: shared address space
    # (100.64.0.0/10, carrier-grade NAT), benchmarking, documentation and reserved ranges.
    return ip.is_global and not ip.is_multicast


def webhook_url_check(url: str) -> None:
    """Raises WebhookUrlRefused unless `url` is http(s) with a host and, when private targets
    are not allowed, every address the host resolves to is public. Resolution happens at
    creation and again before each send (a name can be re-pointed after creation)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlRefused("Webhook URLs must start with http:// or https://.")
    if not parts.hostname:
        raise WebhookUrlRefused("The webhook URL has no host.")
    if settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise WebhookUrlRefused(f"The webhook host {parts.hostname!r} does not resolve ({exc}).")
    addresses = {info[4][0] for info in infos}
    blocked = sorted(a for a in addresses if not _address_is_public(a))
    if blocked:
        raise WebhookUrlRefused(
            f"The webhook host {parts.hostname!r} resolves to a private or reserved address "
            f"({', '.join(blocked)}); only public addresses can receive webhooks."
        )
