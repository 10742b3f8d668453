"""Media in the messages API (issue 17): the request shapes of `POST /api/v1/messages` that
carry media (a multipart upload, a `media_url` the server fetches, a file uploaded earlier
through `POST /api/v1/media`, a location, a contact card) turned into the OutboundMedia that
`chat_send` takes, and `POST /api/v1/media` itself. Thin: bytes are stored by
`media_file_store` (content-addressed per workspace, mimetype sniffed from the bytes), URLs
fetched by `messaging.media_fetch`, sending rules are `chat_send`'s."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.api_auth import api_workspace
from accounts.models import Workspace
from blazz.api_common import InputSerializer
from blazz.api_errors import ApiError, ErrorSerializer, ServiceErrorsMixin
from messaging.media_fetch import MEDIA_URL_MAX_CHARS, media_url_fetch
from messaging.models import Chat, MediaFile
from messaging.services.media import (
    DOWNLOADABLE_KINDS,
    MediaRefused,
    OutboundMedia,
    media_file_store,
    media_payload,
    media_size_limit,
)
from messaging.services.outbound import (
    LOCATION_TEXT_MAX_CHARS,
    MEDIA_FILENAME_MAX_CHARS,
    VCARD_MAX_CHARS,
    media_filename_clean,
    vcard_build,
)

# The kinds a file can be sent as (DOWNLOADABLE_KINDS), in the order the API documents them.
FILE_KINDS = tuple(
    kind for kind in ("image", "video", "audio", "ptt", "document", "sticker") if kind in DOWNLOADABLE_KINDS
)
# The JSON fields that each make a message a media message; at most one per request.
MEDIA_SOURCES = ("media_url", "media", "location", "contact_card", "vcard")

_TYPE_HELP = (
    "What to send the file as: `image`, `video`, `audio`, `ptt` (a voice note: audio sent with "
    "`isPtt`, ideally OGG/Opus), `document` or `sticker` (WebP). Default: from the file's bytes "
    "(image/*, video/*, audio/*, else document). Bytes that are not of the claimed type (a PDF "
    "sent as `image`) are stored as `application/octet-stream` and sent as a document."
)


# --- Serializers -------------------------------------------------------------------------------------


class LocationInputSerializer(InputSerializer):
    lat = serializers.FloatField(min_value=-90, max_value=90, help_text="Latitude, degrees.")
    lng = serializers.FloatField(min_value=-180, max_value=180, help_text="Longitude, degrees.")
    name = serializers.CharField(max_length=LOCATION_TEXT_MAX_CHARS, required=False, allow_blank=True)
    address = serializers.CharField(max_length=LOCATION_TEXT_MAX_CHARS, required=False, allow_blank=True)


class ContactCardInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=200, help_text="The name shown on the card.")
    phone = serializers.CharField(
        max_length=64, help_text="E.164; the card offers to message it on WhatsApp."
    )


class MessageLocationSerializer(serializers.Serializer):
    lat = serializers.FloatField(allow_null=True)
    lng = serializers.FloatField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    address = serializers.CharField(allow_null=True)


class MessageMediaSerializer(serializers.Serializer):
    """The `media` object of a message (null for text): messaging.services.media.media_payload,
    the same object webhooks carry."""

    # Text, not an enum: the input's `type` enum is the file kinds only, and two enums named
    # `type` would collide in the schema.
    type = serializers.CharField(
        help_text="`image`, `video`, `audio`, `ptt` (a voice note), `document`, `sticker`, `location` "
        "or `vcard` (a contact card)."
    )
    caption = serializers.CharField(help_text="The message's text (`body`); may be empty.")
    ptt = serializers.BooleanField(help_text="A voice note.")
    status = serializers.CharField(
        allow_null=True,
        help_text="Of the bytes: `pending` (still being fetched from WhatsApp), `ready`, `failed`; "
        "null for locations and contact cards.",
    )
    mimetype = serializers.CharField(required=False, help_text="Sniffed from the bytes.")
    size = serializers.IntegerField(required=False, help_text="Bytes.")
    filename = serializers.CharField(required=False)
    duration = serializers.IntegerField(required=False, help_text="Seconds (audio, voice notes, video).")
    width = serializers.IntegerField(required=False, allow_null=True)
    height = serializers.IntegerField(required=False, allow_null=True)
    view_once = serializers.BooleanField(required=False)
    error = serializers.CharField(required=False, help_text="Why fetching the bytes failed.")
    location = MessageLocationSerializer(required=False)
    vcard = serializers.CharField(required=False, help_text="The contact card's vCard text.")
    url = serializers.CharField(
        allow_null=True, help_text="A signed link to the bytes that needs no API key; it expires."
    )
    api_url = serializers.CharField(allow_null=True, help_text="The bytes with the workspace's API key.")
    thumbnail_url = serializers.CharField(allow_null=True, help_text="A signed link to a JPEG thumbnail.")


@extend_schema_field(MessageMediaSerializer(allow_null=True))
class MessageMediaField(serializers.Field):
    """The message's media object, as webhooks and the inbox see it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, chat: Chat) -> dict[str, Any] | None:
        return media_payload(chat)


class MessageMediaInputMixin(serializers.Serializer):
    """The media fields of a JSON send."""

    caption = serializers.CharField(
        trim_whitespace=False,
        required=False,
        allow_blank=True,
        help_text="The text under a photo, video or document (`body` works too); may be empty. Voice "
        "notes, stickers, locations and contact cards take none.",
    )
    type = serializers.ChoiceField(choices=FILE_KINDS, required=False, help_text=_TYPE_HELP)
    media_url = serializers.CharField(
        max_length=MEDIA_URL_MAX_CHARS,
        required=False,
        help_text="An `https` URL the server fetches the file from (public addresses only, every "
        "redirect checked; at most the type's size limit; a timeout). The bytes' type is sniffed.",
    )
    media = serializers.UUIDField(
        required=False, help_text="The `uuid` of a file uploaded earlier with `POST /api/v1/media`."
    )
    filename = serializers.CharField(
        max_length=MEDIA_FILENAME_MAX_CHARS,
        required=False,
        allow_blank=True,
        help_text="The name the recipient sees (documents). Default: the uploaded or fetched name.",
    )
    location = LocationInputSerializer(required=False, help_text="Send a location pin instead of text.")
    contact_card = ContactCardInputSerializer(
        required=False, help_text="Send a contact card (a vCard 3.0 the server builds)."
    )
    vcard = serializers.CharField(
        max_length=VCARD_MAX_CHARS,
        required=False,
        trim_whitespace=False,
        help_text="Send a contact card from your own vCard text (BEGIN:VCARD … END:VCARD).",
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        sources = [name for name in MEDIA_SOURCES if name in data]
        if len(sources) > 1:
            raise serializers.ValidationError(
                {sources[1]: f"Send one of {', '.join(MEDIA_SOURCES)} per message, not several."}
            )
        if "caption" in data and "body" in data:
            raise serializers.ValidationError(
                {"caption": "Give the caption as `caption` or `body`, not both."}
            )
        source = sources[0] if sources else None
        if source not in ("media_url", "media"):
            for name in ("type", "filename"):
                if name in data:
                    raise serializers.ValidationError(
                        {name: f"`{name}` goes with a file (`media_url`, `media` or a multipart `file`)."}
                    )
        if source is None and "caption" in data:
            raise serializers.ValidationError({"caption": "A caption goes with media; send text as `body`."})
        if source is None and "body" not in data:
            raise serializers.ValidationError(
                {"body": serializers.ErrorDetail("This field is required.", code="required")}
            )
        return data


class MessageUploadSerializer(InputSerializer):
    """`POST /api/v1/messages` as multipart/form-data: a file and its caption."""

    to = serializers.CharField(max_length=64, help_text="The recipient's phone number, E.164.")
    file = serializers.FileField(help_text="The file to send.", allow_empty_file=False)
    caption = serializers.CharField(
        trim_whitespace=False, required=False, allow_blank=True, help_text="The text under it; may be empty."
    )
    body = serializers.CharField(
        trim_whitespace=False, required=False, allow_blank=True, help_text="Same as `caption`."
    )
    type = serializers.ChoiceField(choices=FILE_KINDS, required=False, help_text=_TYPE_HELP)
    filename = serializers.CharField(
        max_length=MEDIA_FILENAME_MAX_CHARS,
        required=False,
        allow_blank=True,
        help_text="The name the recipient sees. Default: the uploaded file's name.",
    )
    session = serializers.UUIDField(
        required=False, allow_null=True, help_text="The `uuid` of the number to send from (as for text)."
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if "caption" in data and "body" in data:
            raise serializers.ValidationError(
                {"caption": "Give the caption as `caption` or `body`, not both."}
            )
        return data


class MediaUploadSerializer(InputSerializer):
    file = serializers.FileField(
        help_text="The file (at most the size limit of its type).", allow_empty_file=False
    )
    type = serializers.ChoiceField(
        choices=FILE_KINDS,
        required=False,
        help_text="What it will be sent as; decides the size limit and whether the bytes fit it. "
        "Default: document (the largest limit; any bytes).",
    )


class MediaFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediaFile
        fields = ["uuid", "mimetype", "size", "sha256", "width", "height", "created_at"]
        read_only_fields = fields


# --- From a request to an OutboundMedia -------------------------------------------------------------


def kind_from_mimetype(mimetype: str) -> str:
    """The kind a file is sent as when the client names none."""
    if mimetype.startswith("image/") and mimetype != "image/svg+xml":
        return "image"
    if mimetype.startswith("video/"):
        return "video"
    if mimetype.startswith("audio/"):
        return "audio"
    return "document"


def _store(
    *, workspace: Workspace, data: Any, size: int, kind: str | None, filename: str, field: str
) -> tuple[MediaFile, str]:
    """Stores the bytes (checked against the size limit of `kind`, or of documents when the
    kind is to be inferred) and returns (file, kind to send as)."""
    stored_as = kind or "document"
    limit = media_size_limit(stored_as)
    if size > limit:
        raise MediaRefused(
            f"The file has {size} bytes; the limit for {stored_as} is {limit}.", status=413, field=field
        )
    try:
        media_file = media_file_store(workspace=workspace, data=data, kind=stored_as, filename=filename)
    except MediaRefused as refused:
        refused.field = field  # the input at fault is the one this request named
        raise
    if kind is None:
        kind = kind_from_mimetype(media_file.mimetype)
        if media_file.size > media_size_limit(kind):
            kind = "document"  # a 40 MB video is over WhatsApp's video limit, not a document's
    return media_file, kind


def outbound_media_from_upload(*, workspace: Workspace, data: dict[str, Any]) -> OutboundMedia:
    upload = data["file"]
    filename = media_filename_clean(data.get("filename") or upload.name or "")
    media_file, kind = _store(
        workspace=workspace,
        data=upload,
        size=upload.size,
        kind=data.get("type"),
        filename=filename,
        field="file",
    )
    return OutboundMedia(kind=kind, file=media_file, filename=filename)


def outbound_media_from_json(*, workspace: Workspace, data: dict[str, Any]) -> OutboundMedia | None:
    """None for a text message."""
    kind = data.get("type")
    if "media_url" in data:
        fetched = media_url_fetch(url=data["media_url"], max_bytes=media_size_limit(kind or "document"))
        try:
            filename = media_filename_clean(data.get("filename") or fetched.filename)
            media_file, kind = _store(
                workspace=workspace,
                data=fetched.file,
                size=fetched.size,
                kind=kind,
                filename=filename,
                field="media_url",
            )
        finally:
            fetched.file.close()
        return OutboundMedia(kind=kind, file=media_file, filename=filename)
    if "media" in data:
        media_file = MediaFile.objects.filter(workspace=workspace, uuid=data["media"]).first()
        if media_file is None:
            raise serializers.ValidationError({"media": "No uploaded file with this uuid in this workspace."})
        kind = kind or kind_from_mimetype(media_file.mimetype)
        if media_file.size > media_size_limit(kind):
            raise MediaRefused(
                f"The file has {media_file.size} bytes; the limit for {kind} is {media_size_limit(kind)}.",
                status=413,
                field="media",
            )
        return OutboundMedia(
            kind=kind, file=media_file, filename=media_filename_clean(data.get("filename") or "")
        )
    if "location" in data:
        return OutboundMedia(kind="location", location=dict(data["location"]))
    if "contact_card" in data:
        card = data["contact_card"]
        return OutboundMedia(kind="vcard", vcard=vcard_build(name=card["name"], phone=card["phone"]))
    if "vcard" in data:
        return OutboundMedia(kind="vcard", vcard=data["vcard"])
    return None


# --- Errors -------------------------------------------------------------------------------------------


class MediaErrorsMixin(ServiceErrorsMixin):
    """MediaRefused carries its own status: 413 for a file over its limit or a full quota, 400
    for an unsafe or failing URL."""

    def handle_exception(self, exc: Exception):
        if isinstance(exc, MediaRefused):
            exc = ApiError(
                str(exc),
                status_code=exc.status,
                code="too_large" if exc.status == 413 else "invalid",
                field=exc.field,
            )
        return super().handle_exception(exc)


# --- POST /api/v1/media ------------------------------------------------------------------------------


class MediaUploadView(MediaErrorsMixin, generics.GenericAPIView):
    parser_classes = [MultiPartParser]
    serializer_class = MediaFileSerializer

    @extend_schema(
        summary="Upload a media file",
        description="Stores a file once for this workspace (the same bytes again return the same file) "
        "and returns its `uuid`, to send in any number of messages (`media` in `POST /api/v1/messages`) "
        "or attach to a campaign (`media` in `POST /api/v1/campaigns`). The mimetype is sniffed from the "
        "bytes.",
        request={"multipart/form-data": MediaUploadSerializer},
        responses={
            201: OpenApiResponse(MediaFileSerializer, description="Stored."),
            400: OpenApiResponse(ErrorSerializer, description="No file, an empty file or an unknown type."),
            413: OpenApiResponse(
                ErrorSerializer,
                description="Over the size limit of its type, or the workspace's storage quota.",
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        body = MediaUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        media_file, _ = _store(
            workspace=api_workspace(request),
            data=upload,
            size=upload.size,
            kind=body.validated_data.get("type") or "document",
            filename=media_filename_clean(upload.name or ""),
            field="file",
        )
        return Response(MediaFileSerializer(media_file).data, status=status.HTTP_201_CREATED)
