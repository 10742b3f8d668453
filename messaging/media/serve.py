"""Serving stored media (the API's `/api/v1/media/{uuid}` and the signed links): streamed
from the storage, never sniffed by the browser (`nosniff`), and inline only for raster images,
audio and video a browser plays itself; everything else (SVG, HTML, PDF, octet-stream...) is a
download (`Content-Disposition: attachment`)."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from typing import IO

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from messaging.media.sniff import OCTET_STREAM, is_inline_safe
from messaging.media.storage import media_storage
from messaging.models import MediaFile

# One range only (what a browser's <audio>/<video> asks for when it seeks); a multi-range
# request gets the whole file, as RFC 9110 allows.
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CHUNK = 256 * 1024


def _byte_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """(first, last) for a satisfiable single range; None to send the whole file; False for
    an unsatisfiable one (416)."""
    match = _RANGE.fullmatch(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0:
            return False
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return False
    return start, end


def _read_span(handle: IO[bytes], start: int, end: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def media_file_response(
    *, media_file: MediaFile, thumbnail: bool = False, request: HttpRequest | None = None
) -> HttpResponseBase:
    name = media_file.thumbnail_name if thumbnail else media_file.storage_name
    if not name:
        raise Http404("No thumbnail.")
    try:
        handle = media_storage().open(name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("The file is gone.") from exc
    mimetype = "image/jpeg" if thumbnail else (media_file.mimetype or OCTET_STREAM)
    inline = is_inline_safe(mimetype)
    extension = ".jpg" if thumbnail else (mimetypes.guess_extension(mimetype) or ".bin")
    filename = f"{media_file.sha256[:16]}{'-thumb' if thumbnail else ''}{extension}"
    wanted = request.headers.get("Range", "") if request is not None and not thumbnail else ""
    span = _byte_range(wanted, media_file.size) if wanted else None
    if span is False:
        handle.close()
        response: HttpResponseBase = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{media_file.size}"
    elif span:
        start, end = span
        response = StreamingHttpResponse(_read_span(handle, start, end), status=206, content_type=mimetype)
        response["Content-Range"] = f"bytes {start}-{end}/{media_file.size}"
        response["Content-Length"] = str(end - start + 1)
        response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    else:
        response = FileResponse(handle, content_type=mimetype, as_attachment=not inline, filename=filename)
        if not thumbnail:
            response["Content-Length"] = str(media_file.size)
    if not thumbnail:
        response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    # Even an inline file never runs as a page: no script, no plugin, no framing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # The bytes behind a uuid never change; only the tenant (and the link's holder) may keep them.
    response["Cache-Control"] = "private, max-age=3600"
    response["ETag"] = f'"{media_file.sha256}{"-t" if thumbnail else ""}"'
    return response
