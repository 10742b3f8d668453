"""Fetching a media file from a URL an API client names (`POST /api/v1/messages` with
`media_url`, issue 17). The URL is the tenant's, so the server is asked to make a request on
its behalf: the same SSRF guard as webhooks decides where it may go
(`messaging.webhooks.targets.webhook_target_resolve`: every address the host resolves to must
be public, unless BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS), and the connection is made to a checked
address only (`messaging.webhooks.transport.PinnedTransport`, so DNS rebinding gains nothing).

Redirects are followed by hand, a few hops at most, and every hop is checked like the first:
a public URL that answers `302 Location: http://10.0.0.5/` is refused, not followed. Only
https, except for hosts an operator lists in BLAZZ_MEDIA_URL_ALLOWED_HOSTS (an internal asset
server; they skip the private-address check too, and nothing else does).

Size: a declared Content-Length over the cap is refused before the body is read; otherwise the
body is read in pieces into a spooled temporary file and the read stops as soon as it passes
the cap (a server that lies about its length, or sends none, cannot make us read more). Time:
BLAZZ_MEDIA_URL_TIMEOUT_SECONDS per socket operation and BLAZZ_MEDIA_URL_DEADLINE_SECONDS for
the whole fetch, redirects included (a server dripping a byte a second cannot hold a web
thread). What the server says the type is, is only a hint: media_file_store sniffs the bytes."""

from __future__ import annotations

import logging
import re
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO
from urllib.parse import unquote, urljoin, urlsplit

import httpx
from django.conf import settings

from messaging.services.media import MediaRefused
from messaging.webhooks.errors import WebhookUrlRefused
from messaging.webhooks.targets import ResolvedTarget, webhook_target_resolve
from messaging.webhooks.transport import PinnedTransport, pinned_to

logger = logging.getLogger(__name__)

FIELD = "media_url"
MAX_REDIRECTS = 5
MEDIA_URL_MAX_CHARS = 2048
# Bytes kept in memory before the spooled file moves to disk.
_SPOOL_BYTES = 1024 * 1024
_CHUNK_BYTES = 64 * 1024
_FILENAME_IN_DISPOSITION = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


@dataclass
class FetchedMedia:
    """The body of a fetched URL, read to its end and within the cap."""

    file: IO[bytes]  # positioned at 0; close it when done
    size: int
    filename: str  # the name the server or the URL path gives, "" when neither does
    content_type: str  # the server's claim; a hint only


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _http_client() -> httpx.Client:
    """One client per process (made lazily, so a forked worker never shares its parent's
    sockets), connecting only to pinned addresses, never following a redirect by itself."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(
                transport=PinnedTransport(
                    limits=httpx.Limits(max_connections=20, max_keepalive_connections=5)
                ),
                follow_redirects=False,
                trust_env=False,
                headers={"user-agent": "Blazz-Media/1.0", "accept": "*/*", "accept-encoding": "identity"},
            )
        return _client


def _allowed_host(host: str, port: int) -> bool:
    return f"{host}:{port}" in settings.BLAZZ_MEDIA_URL_ALLOWED_HOSTS


def media_url_target(url: str) -> ResolvedTarget:
    """Where a fetch of `url` may connect, or MediaRefused (400, field `media_url`): https only
    and the webhook guard's address check, both lifted only for an operator's allowed host."""
    if not isinstance(url, str) or not url or len(url) > MEDIA_URL_MAX_CHARS:
        raise MediaRefused(f"The media URL must be at most {MEDIA_URL_MAX_CHARS} characters.", field=FIELD)
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError, ValueError):
        raise MediaRefused("The media URL is not a valid URL.", field=FIELD) from None
    scheme = urlsplit(url).scheme.lower()
    port = parsed.port or (443 if scheme == "https" else 80)
    if scheme in ("http", "https") and host and _allowed_host(host, port):
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError, ValueError) as exc:
            raise MediaRefused(f"The media host {host!r} does not resolve ({exc}).", field=FIELD) from None
        addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
        return ResolvedTarget(scheme=scheme, host=host, port=port, addresses=addresses)
    if scheme != "https":
        raise MediaRefused("The media URL must start with https://.", field=FIELD)
    try:
        return webhook_target_resolve(url)
    except WebhookUrlRefused as exc:
        # The guard words its refusals for webhooks; the reason (which address, which rule)
        # is what the client needs.
        reason = str(exc).replace("The webhook host", "The host").replace("receive webhooks", "be fetched")
        raise MediaRefused(f"The media URL is refused: {reason}", field=FIELD) from None


def _filename_from(response: httpx.Response, url: str) -> str:
    disposition = response.headers.get("content-disposition", "")
    match = _FILENAME_IN_DISPOSITION.search(disposition)
    if match:
        name = unquote(match.group(1))
    else:
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    # The last path component, printable, bounded; outbound.media_filename_clean decides the rest.
    name = "".join(ch for ch in name.replace("\\", "/").rsplit("/", 1)[-1] if ch.isprintable())
    return name[:255]


def media_url_fetch(*, url: str, max_bytes: int) -> FetchedMedia:
    """GETs `url` (following at most MAX_REDIRECTS redirects, each hop checked by
    media_url_target) and returns its body, or raises MediaRefused: 413 when the body is (or
    says it is) over `max_bytes`, 400 for an unsafe URL, a redirect to one, an error answer,
    a timeout or a network failure."""
    deadline = time.monotonic() + settings.BLAZZ_MEDIA_URL_DEADLINE_SECONDS
    timeout = httpx.Timeout(
        settings.BLAZZ_MEDIA_URL_TIMEOUT_SECONDS, connect=settings.BLAZZ_MEDIA_URL_CONNECT_TIMEOUT_SECONDS
    )
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        target = media_url_target(current)
        spool: IO[bytes] | None = None
        try:
            with pinned_to(target, deadline=deadline):
                with _http_client().stream("GET", current, timeout=timeout) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        if not location:
                            raise MediaRefused("The media URL redirected nowhere.", field=FIELD)
                        current = urljoin(current, location)
                        continue
                    if response.status_code != 200:
                        raise MediaRefused(
                            f"The media URL answered HTTP {response.status_code}, not 200.", field=FIELD
                        )
                    if response.headers.get("content-encoding", "identity").lower() not in ("", "identity"):
                        # We asked for identity; a compressed body's size says nothing of what
                        # it inflates to, and the bytes must be the file as it is.
                        raise MediaRefused("The media URL sent a compressed body.", field=FIELD)
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise MediaRefused(_too_large(max_bytes), status=413, field=FIELD)
                    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
                    size = 0
                    for chunk in response.iter_raw(_CHUNK_BYTES):
                        size += len(chunk)
                        if size > max_bytes:
                            raise MediaRefused(_too_large(max_bytes), status=413, field=FIELD)
                        spool.write(chunk)
                    spool.seek(0)
                    return FetchedMedia(
                        file=spool,
                        size=size,
                        filename=_filename_from(response, current),
                        content_type=response.headers.get("content-type", "").split(";", 1)[0].strip(),
                    )
        except MediaRefused:
            if spool is not None:
                spool.close()
            raise
        except httpx.TimeoutException:
            if spool is not None:
                spool.close()
            raise MediaRefused("The media URL did not answer in time.", field=FIELD) from None
        except httpx.HTTPError as exc:
            if spool is not None:
                spool.close()
            # The detail stays in the log: what a tenant's URL answered says nothing to us.
            logger.info("media URL fetch failed: %s: %s", type(exc).__name__, exc)
            raise MediaRefused("The media URL could not be fetched.", field=FIELD) from None
    raise MediaRefused(f"The media URL redirected more than {MAX_REDIRECTS} times.", field=FIELD)


def _too_large(max_bytes: int) -> str:
    return f"The file at the media URL is larger than {max_bytes} bytes, the limit for its type."
