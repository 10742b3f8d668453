"""Request bodies over the cap are refused with 413 before they are read.

Django only compares a body with DATA_UPLOAD_MAX_MEMORY_SIZE once it has it, and its ASGI
handler reads the whole body (to memory, then a temporary file) before any middleware or view
runs: a 100 MB unauthenticated POST was read in full before its 403. Two guards, one policy
(`BodyLimits`, from settings; the cap depends on the path and, for uploads, on whether the body
is multipart/form-data):

- `RequestBodyLimitMiddleware`, ASGI middleware around the Django app (blazz/asgi.py): a
  declared Content-Length over the path's cap is answered before the app asks for the body,
  and a body without one (chunked) is counted as it is received and refused once past the
  cap. This is all an ASGI server that streams bodies (uvicorn, hypercorn) needs.
- `BodyCappedWebRequest`, for daphne, which serves Blazz: daphne (Twisted) buffers the whole
  body before it calls the application at all, so the middleware alone would still let the
  body be read (to daphne's temporary file). Its request class therefore refuses as soon as
  the headers are in (a Content-Length over the path's cap) or when a chunked body passes
  it, and closes the connection.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from twisted.web.http import HTTPChannel

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ERROR_CODE = "request_too_large"  # the API's code for a 413 (blazz.api_errors.RequestTooLarge)


def _longest_prefix(caps: dict[str, int], path: str) -> int | None:
    matching = [prefix for prefix in caps if path.startswith(prefix)]
    return caps[max(matching, key=len)] if matching else None


def is_multipart(content_type: str | bytes | None) -> bool:
    """True for a multipart/form-data body (the only kind that carries uploaded files)."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    return (content_type or "").split(";", 1)[0].strip().lower() == "multipart/form-data"


@dataclass(frozen=True)
class BodyLimits:
    """The largest body accepted: `default`, or the cap of the longest matching path prefix;
    for a multipart/form-data body (uploads, issue 17), the larger of that and the longest
    matching prefix of `multipart_by_path_prefix`. So one path can take a 100 MB file upload
    while a JSON body to it is still refused at ~1 MB: the media type is in the headers, which
    both guards have before the first byte of the body."""

    default: int
    by_path_prefix: dict[str, int] = field(default_factory=dict)
    multipart_by_path_prefix: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls) -> BodyLimits:
        from django.conf import settings

        return cls(
            default=settings.BLAZZ_MAX_REQUEST_BODY_BYTES,
            by_path_prefix=dict(settings.BLAZZ_MAX_REQUEST_BODY_BYTES_BY_PATH),
            multipart_by_path_prefix=dict(getattr(settings, "BLAZZ_MAX_MULTIPART_BODY_BYTES_BY_PATH", {})),
        )

    def for_path(self, path: str, content_type: str | bytes | None = None) -> int:
        cap = _longest_prefix(self.by_path_prefix, path) or self.default
        if is_multipart(content_type):
            upload_cap = _longest_prefix(self.multipart_by_path_prefix, path)
            if upload_cap is not None:
                cap = max(cap, upload_cap)
        return cap

    @property
    def largest(self) -> int:
        return max([self.default, *self.by_path_prefix.values(), *self.multipart_by_path_prefix.values()])


class BodyTooLarge(Exception):
    """Raised by the counting `receive` once a body without Content-Length passes its cap."""


def header_value(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The Content-Length header as a number; None when absent or not a number (the server or
    Django answers a malformed one; the body is then counted instead)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def refusal(path: str, limit: int) -> tuple[str, bytes]:
    """(content type, body) of the 413: the API's one error shape under /api/, plain text
    elsewhere."""
    message = f"The request body is larger than {limit} bytes."
    if path.startswith("/api/"):
        body = {"error": {"code": ERROR_CODE, "message": message, "field": None}}
        return "application/json", json.dumps(body).encode()
    return "text/plain; charset=utf-8", message.encode()


class RequestBodyLimitMiddleware:
    """ASGI middleware: 413 for a body over `limits.for_path(path)`, without reading it when
    its length is declared, and without reading past the cap when it is not."""

    def __init__(self, app: AsgiApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self._limits = limits

    @property
    def limits(self) -> BodyLimits:
        # Read on first use, not at import: tests change the settings after blazz.asgi loads.
        return self._limits or BodyLimits.from_settings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        limit = self.limits.for_path(scope["path"], header_value(headers, b"content-type"))
        declared = declared_length(headers)
        if declared is not None and declared > limit:
            await self._refuse(scope, send, limit)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if response_started:
                raise
            await self._refuse(scope, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, limit: int) -> None:
        logger.info("refused a request body over %d bytes: %s %s", limit, scope.get("method"), scope["path"])
        content_type, body = refusal(scope["path"], limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                # The rest of the body is never read: the connection cannot carry another request.
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# --- daphne ----------------------------------------------------------------------------------


def install_daphne_guard() -> None:
    """Makes daphne build `BodyCappedWebRequest`s. daphne has no setting or hook for its
    request class: its HTTPFactory reads the module's `WebRequest` when a connection opens,
    so replacing that name (once blazz.asgi is imported, before daphne's server starts) is the
    only way in. Checked by tests/blazz/test_request_body_limit.py against a real daphne."""
    from daphne import http_protocol

    if not issubclass(http_protocol.WebRequest, _BodyCappedMixin):
        base = http_protocol.WebRequest
        http_protocol.WebRequest = type("BodyCappedWebRequest", (_BodyCappedMixin, base), {})


class _BodyCappedMixin:
    """For daphne's WebRequest (a twisted.web.http.Request). Twisted calls `gotLength` when the
    headers are in and `handleContentChunk` for each piece of body; the application is only
    called (`process`) after the last piece. A refused request answers 413 at once, closes the
    connection (which stops reading from it) and never reaches the application."""

    _blazz_refused = False
    _blazz_received = 0
    # No cap until gotLength sets one for an HTTP/1.x request (HTTP/2: the middleware's).
    _blazz_limit: int | None = None

    def gotLength(self, length: int | None) -> None:  # Twisted's name
        if not isinstance(self.channel, HTTPChannel):  # type: ignore[attr-defined]
            # An HTTP/2 stream (daphne speaks it only on TLS endpoints; Blazz runs behind a
            # proxy on HTTP/1.1): left to the middleware.
            super().gotLength(length)  # type: ignore[misc]
            return
        limits = BodyLimits.from_settings()
        path = self._blazz_path()
        # The headers are all in when Twisted calls gotLength (HTTPChannel.allHeadersReceived).
        content_type = self.requestHeaders.getRawHeaders(b"content-type", [None])[0]  # type: ignore[attr-defined]
        self._blazz_limit = limits.for_path(path, content_type) if path else limits.largest
        if length is not None and length > self._blazz_limit:
            self._blazz_refuse()
            return
        super().gotLength(length)  # type: ignore[misc]

    def handleContentChunk(self, data: bytes) -> None:  # Twisted's name
        if self._blazz_refused:
            return
        self._blazz_received += len(data)
        if self._blazz_limit is not None and self._blazz_received > self._blazz_limit:
            self._blazz_refuse()
            return
        super().handleContentChunk(data)  # type: ignore[misc]

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._blazz_refused:
            return
        super().requestReceived(command, path, version)  # type: ignore[misc]

    def _blazz_path(self) -> str:
        """The request line's path. Twisted sets the request's own `path` only once the body is
        in; until then the channel keeps it (a private attribute: without it, the largest cap
        and the plain-text answer apply)."""
        raw = getattr(self.channel, "_path", b"") or b""  # type: ignore[attr-defined]
        return raw.split(b"?", 1)[0].decode("latin-1")

    def _blazz_refuse(self) -> None:
        self._blazz_refused = True
        # No "100 Continue" for a body that will not be read (the channel sends it after
        # gotLength when the client asked).
        self.requestHeaders.removeHeader(b"Expect")  # type: ignore[attr-defined]
        channel = self.channel  # type: ignore[attr-defined]
        content_type, body = refusal(self._blazz_path(), self._blazz_limit)
        head = (
            "HTTP/1.1 413 Content Too Large\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        channel.transport.write(head.encode() + body)
        channel.loseConnection()
        logger.info("daphne refused a request body over %d bytes", self._blazz_limit)
