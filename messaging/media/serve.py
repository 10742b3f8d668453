"""Serving stored media (the API's `/api/v1/media/{uuid}` and the signed links): streamed
from the storage, never sniffed by the browser (`nosniff`), and inline only for raster images,
audio and video a browser plays itself; everything else (SVG, HTML, PDF, octet-stream...) is a
download (`Content-Disposition: attachment`)."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, Http404

from messaging.media.sniff import OCTET_STREAM, is_inline_safe
from messaging.media.storage import media_storage
from messaging.models import MediaFile


def media_file_response(*, media_file: MediaFile, thumbnail: bool = False) -> FileResponse:
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
    response = FileResponse(
        handle,
        content_type=mimetype,
        as_attachment=not inline,
        filename=f"{media_file.sha256[:16]}{'-thumb' if thumbnail else ''}{extension}",
    )
    if not thumbnail:
        response["Content-Length"] = str(media_file.size)
    response["X-Content-Type-Options"] = "nosniff"
    # Even an inline file never runs as a page: no script, no plugin, no framing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # The bytes behind a uuid never change; only the tenant (and the link's holder) may keep them.
    response["Cache-Control"] = "private, max-age=3600"
    response["ETag"] = f'"{media_file.sha256}{"-t" if thumbnail else ""}"'
    return response
