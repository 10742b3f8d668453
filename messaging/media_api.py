"""Media bytes over HTTP (issue 17): `GET /api/v1/media/{uuid}` with the workspace's API key
(another workspace's file is a 404), and the signed, expiring link `/media/s/<token>` that
needs no key (webhooks, the inbox). Both stream through messaging.media.serve."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from accounts.api_auth import api_workspace
from accounts.tenancy import get_scoped_or_404
from blazz.api_errors import ErrorSerializer
from messaging.media.links import media_token_read
from messaging.media.serve import media_file_response
from messaging.models import MediaFile


class MediaFileView(APIView):
    @extend_schema(
        summary="Download a media file",
        description="The bytes of a photo, voice note, video, document or sticker of this workspace "
        "(a message's `media.api_url`). Raster images, audio and video are served inline with their "
        "sniffed type; anything else (SVG, HTML, documents, unrecognised bytes) as an attachment. "
        "`?thumbnail=1` gives the JPEG thumbnail (404 while there is none). A single `Range: bytes=` "
        "request (an audio or video player seeking) is answered 206 with that part.",
        parameters=[
            OpenApiParameter("media_uuid", OpenApiTypes.UUID, OpenApiParameter.PATH),
            OpenApiParameter("thumbnail", OpenApiTypes.BOOL, OpenApiParameter.QUERY, required=False),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The bytes."),
            (206, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The range asked for."
            ),
            416: OpenApiResponse(description="The range is outside the file."),
            404: OpenApiResponse(ErrorSerializer, description="Not found."),
        },
    )
    def get(self, request, media_uuid):
        media_file = get_scoped_or_404(MediaFile, api_workspace(request), uuid=media_uuid)
        thumbnail = request.query_params.get("thumbnail", "") in ("1", "true", "yes")
        return media_file_response(media_file=media_file, thumbnail=thumbnail, request=request)


@require_safe
def media_signed_view(request: HttpRequest, token: str) -> HttpResponseBase:
    """No login, no key: the signature is the permission, and it expires
    (BLAZZ_MEDIA_LINK_LIFETIME_S). A bad or expired token is a 404 like an unknown file."""
    read = media_token_read(token)
    if read is None:
        raise Http404("This link is invalid or has expired.")
    file_uuid, thumbnail = read
    media_file = MediaFile.objects.filter(uuid=file_uuid).first()
    if media_file is None:
        raise Http404("Not found.")
    return media_file_response(media_file=media_file, thumbnail=thumbnail, request=request)
