"""The messages and contacts API (`/api/v1/messages…`, `/api/v1/contacts…`). Thin: the
workspace is the API key's, input is validated here, sending is `chat_send` (the same
service the inbox uses). Another workspace's message or contact is a 404, never a 403."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.api_auth import api_workspace
from accounts.api_throttles import ApiKeyRateThrottle, ApiKeySendRateThrottle
from accounts.quotas import QuotaExceeded
from accounts.tenancy import get_scoped_or_404
from blazz.api_common import InputSerializer, idempotency_key_from
from blazz.api_errors import ErrorSerializer, ServiceError, ServiceErrorsMixin
from blazz.api_parsers import GuardedJSONParser
from blazz.body_limit import is_multipart
from blazz.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from messaging.media_send_api import (
    MediaErrorsMixin,
    MessageMediaField,
    MessageMediaInputMixin,
    MessageUploadSerializer,
    outbound_media_from_json,
    outbound_media_from_upload,
)
from messaging.models import Chat, Contact, ContactSession
from messaging.selectors import (
    contact_get_or_404,
    contact_sessions_of,
    contacts_search,
    message_get_or_404,
    messages_of_workspace,
)
from messaging.services import (
    InvalidMessage,
    MessagingError,
    NoConnectedNumber,
    chat_send,
    contact_create,
    contact_erase,
    contact_update,
)
from messaging.services.outbound import chat_for_idempotency_key, media_send_precheck
from sessions_app.selectors import number_by_uuid

# --- Serializers ---------------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer):
    phone = serializers.CharField(
        source="phone_e164",
        read_only=True,
        allow_null=True,
        help_text="E.164; null while WhatsApp shows only a LID.",
    )
    wa_lid = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="WhatsApp's LID (`<digits>@lid`) for this contact, when WhatsApp addressed it by one.",
    )
    wa_id = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text=(
            "The sender's WhatsApp id (`<digits>@c.us`) when its number is not one the phone-number "
            "library accepts; null otherwise. Reply to it by passing it as `to`."
        ),
    )

    class Meta:
        model = Contact
        fields = [
            "uuid",
            "phone",
            "wa_lid",
            "wa_id",
            "name",
            "profile_name",
            "tags",
            "metadata",
            "created_at",
            "updated_at",
        ]


class ContactCreateSerializer(InputSerializer):
    phone = serializers.CharField(
        max_length=64, help_text="E.164 (`+5511987650103`); other formats a phone-number library parses work."
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=False),
        required=False,
        help_text='Labels campaigns and the contact list filter on, e.g. `["vip", "wholesale"]`: stored in '
        "lower case with spaces collapsed, each at most 50 characters, at most 30.",
    )
    metadata = serializers.DictField(
        required=False,
        help_text='Other facts campaign filters match on, e.g. `{"city": "Recife"}`: at most 50 keys and '
        '16 KiB as JSON. A `"tags"` list here is taken as `tags` (how the first release kept them).',
    )


class ContactUpdateSerializer(InputSerializer):
    name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Blank clears it."
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="Replaces the tags as a whole (an empty list removes them all).",
    )
    metadata = serializers.DictField(
        required=False, help_text="Replaces the metadata as a whole (so a key can be removed)."
    )


class MessageContactSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    phone = serializers.CharField(source="phone.as_e164")
    name = serializers.CharField()


class MessageSessionSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    phone_number = serializers.CharField(source="phone_number.as_e164", allow_null=True)


class MessageSerializer(serializers.ModelSerializer):
    contact = MessageContactSerializer(read_only=True)
    session = MessageSessionSerializer(
        source="whatsapp_session", read_only=True, help_text="The number the message went through."
    )
    wam_id = serializers.CharField(
        allow_null=True, read_only=True, help_text="WhatsApp's id; null until the message is sent."
    )
    media = MessageMediaField(
        help_text="A photo, voice note, video, document, sticker, location or contact card; null for "
        "text. The caption is `body`."
    )

    class Meta:
        model = Chat
        fields = [
            "uuid",
            "wam_id",
            "direction",
            "status",
            "body",
            "media",
            "contact",
            "session",
            "error",
            "sent_at",
            "created_at",
        ]
        read_only_fields = fields


class MessageCreateSerializer(MessageMediaInputMixin, InputSerializer):
    to = serializers.CharField(
        max_length=64, help_text="The recipient's phone number, E.164 (`+5511987650103`)."
    )
    # Not trimmed: the body is sent exactly as given (chat_send refuses blank, NUL and oversized).
    body = serializers.CharField(
        trim_whitespace=False,
        allow_blank=True,
        required=False,
        help_text="The text to send (required unless the message is media; then it is the caption).",
    )
    session = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The `uuid` of the number to send from. Default: the number this contact last talked "
        "to, else the workspace's primary connected number.",
    )


class MessageFilterSerializer(serializers.Serializer):
    session = serializers.UUIDField(required=False, help_text="Only messages through this number.")
    contact = serializers.UUIDField(required=False, help_text="Only messages with this contact.")
    direction = serializers.ChoiceField(choices=Chat.Direction.choices, required=False)
    since = serializers.DateTimeField(
        required=False, help_text="Only messages created at or after this ISO 8601 time."
    )


class ContactSessionSerializer(serializers.ModelSerializer):
    session = MessageSessionSerializer(source="whatsapp_session", read_only=True)
    status = serializers.CharField(
        source="whatsapp_session.status", read_only=True, help_text="The number's status now."
    )

    class Meta:
        model = ContactSession
        fields = ["session", "status", "first_interaction_at", "last_interaction_at", "total_messages"]
        read_only_fields = fields


# --- Errors --------------------------------------------------------------------------------


class MessagingErrorsMixin(MediaErrorsMixin, ServiceErrorsMixin):
    service_errors = (
        ServiceError(QuotaExceeded, 403, "quota_exceeded"),
        ServiceError(NoConnectedNumber, 409, "no_connected_number"),
        ServiceError((InvalidMessage, MessagingError), 400, "invalid"),
    )


_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    description="Any unique string (a UUID is a good choice), printable ASCII, at most "
    f"{IDEMPOTENCY_KEY_MAX_LENGTH} characters. Repeating a request with the same key returns the message "
    "the first one created (200) and sends nothing, so a retry after a timeout is safe.",
)
_CHAT_UUID = OpenApiParameter(
    "chat_uuid", OpenApiTypes.UUID, location=OpenApiParameter.PATH, description="The message's `uuid`."
)
_CONTACT_UUID = OpenApiParameter(
    "contact_uuid", OpenApiTypes.UUID, location=OpenApiParameter.PATH, description="The contact's `uuid`."
)
_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such object in this workspace.")


# --- Messages ------------------------------------------------------------------------------


class MessageListView(MessagingErrorsMixin, generics.ListAPIView):
    throttle_classes = [ApiKeyRateThrottle, ApiKeySendRateThrottle]
    serializer_class = MessageSerializer
    # JSON (text, media_url, an uploaded file's uuid, location, contact card) or a multipart
    # upload. Not form-urlencoded: that is a browser form's shape, not an integrator's.
    parser_classes = [GuardedJSONParser, MultiPartParser]

    def get_queryset(self):
        filters = MessageFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)  # a malformed filter is a 400, never a 500
        data = filters.validated_data
        return messages_of_workspace(
            workspace=api_workspace(self.request),
            session_uuid=data.get("session"),
            contact_uuid=data.get("contact"),
            direction=data.get("direction"),
            since=data.get("since"),
        )

    @extend_schema(
        summary="List messages",
        description="Inbound and outbound, newest first, cursor-paginated (follow `next`).",
        parameters=[MessageFilterSerializer],
        responses={200: MessageSerializer(many=True), 400: OpenApiResponse(description="Invalid filter.")},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Send a message",
        description="Stores the message as `pending` and hands it to the browser of the sending number; "
        "follow `message.sent` / `message.ack` / `message.failed` webhooks or events, or GET it, for its "
        "status. The body is sent exactly as given (no trimming).\n\n"
        "Media: upload the file as `multipart/form-data` (`file`, `to`, `caption`, `type`, `filename`, "
        "`session`), or send JSON with one of `media_url` (fetched by the server), `media` (a file "
        "uploaded with `POST /api/v1/media`), `location` or `contact_card` / `vcard`. Size limits per "
        "type: images, video and audio 16 MB, documents 100 MB; a larger upload is refused with 413 "
        "before it is read.",
        request={
            "application/json": MessageCreateSerializer,
            "multipart/form-data": MessageUploadSerializer,
        },
        parameters=[_IDEMPOTENCY_KEY],
        responses={
            201: OpenApiResponse(MessageSerializer, description="Stored; it is being sent."),
            200: OpenApiResponse(
                MessageSerializer, description="Already sent by an earlier request with this Idempotency-Key."
            ),
            400: OpenApiResponse(
                ErrorSerializer,
                description="Invalid recipient, body, number or Idempotency-Key (blank, NUL characters, "
                "over the length limit, unknown number); invalid media (a media URL refused or failing, a "
                "type that does not fit, two kinds of media at once).",
            ),
            413: OpenApiResponse(
                ErrorSerializer,
                description="The file is over the size limit of its type, or the workspace's media storage "
                "is full (`too_large`); or the request body is over the server's cap (`request_too_large`).",
            ),
            403: OpenApiResponse(
                ErrorSerializer,
                description="A new recipient would take the workspace past its contacts quota "
                "(`quota_exceeded`).",
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description="No number of the workspace is connected, or the named number is not connected.",
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        workspace = api_workspace(request)
        key = idempotency_key_from(request, max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
        upload = is_multipart(request.content_type)
        body = (MessageUploadSerializer if upload else MessageCreateSerializer)(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        session = None
        if data.get("session") is not None:
            session = number_by_uuid(workspace=workspace, value=data["session"])
            if session is None:
                raise serializers.ValidationError({"session": "No number with this uuid in this workspace."})
        carries_file = upload or "media_url" in data
        earlier = chat_for_idempotency_key(workspace=workspace, idempotency_key=key) if carries_file else None
        if earlier is not None:
            # A retried upload or fetch: answered before its bytes are stored or fetched again.
            chat, created = earlier, False
        else:
            caption = data.get("caption", data.get("body", ""))
            if carries_file:
                media_send_precheck(
                    workspace=workspace, to=data["to"], caption=caption, kind=data.get("type")
                )
            if upload:
                media = outbound_media_from_upload(workspace=workspace, data=data)
            else:
                media = outbound_media_from_json(workspace=workspace, data=data)
            chat, created = chat_send(
                workspace=workspace,
                to=data["to"],
                body=caption,
                session=session,
                idempotency_key=key,
                media=media,
            )
        chat = message_get_or_404(workspace=workspace, chat_uuid=chat.uuid)
        return Response(
            MessageSerializer(chat).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema_view(
    get=extend_schema(
        summary="Get a message",
        parameters=[_CHAT_UUID],
        responses={200: MessageSerializer, 404: _NOT_FOUND},
    )
)
class MessageDetailView(generics.RetrieveAPIView):
    serializer_class = MessageSerializer

    def get_object(self):
        return message_get_or_404(workspace=api_workspace(self.request), chat_uuid=self.kwargs["chat_uuid"])


# --- Contacts ------------------------------------------------------------------------------

_CONTACT_QUERY = OpenApiParameter("q", OpenApiTypes.STR, description="Part of the contact's name or phone.")
_CONTACT_TAG = OpenApiParameter("tag", OpenApiTypes.STR, description="Only contacts with this tag.")


class ContactListView(MessagingErrorsMixin, generics.ListAPIView):
    serializer_class = ContactSerializer

    def get_queryset(self):
        return contacts_search(
            workspace=api_workspace(self.request),
            query=self.request.query_params.get("q", ""),
            tag=self.request.query_params.get("tag", ""),
        )

    @extend_schema(summary="List contacts", parameters=[_CONTACT_QUERY, _CONTACT_TAG])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Add a contact",
        description="The phone number is a contact's key in its workspace, so this is idempotent without "
        "an Idempotency-Key: posting a number the workspace already has returns that contact (200), with "
        "a non-blank `name` replacing its name, `metadata` keys merged into its metadata and `tags` added "
        "to its tags; a retry never makes a second contact.",
        request=ContactCreateSerializer,
        responses={
            201: OpenApiResponse(ContactSerializer, description="Added."),
            200: OpenApiResponse(ContactSerializer, description="The workspace already had this number."),
            400: OpenApiResponse(
                ErrorSerializer, description="Invalid phone number, over-long name or invalid metadata."
            ),
            403: OpenApiResponse(
                ErrorSerializer,
                description="The workspace has as many contacts as its quota allows (`quota_exceeded`).",
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        body = ContactCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contact, created = contact_create(workspace=api_workspace(request), **body.validated_data)
        return Response(
            ContactSerializer(contact).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema_view(
    get=extend_schema(
        summary="Get a contact",
        parameters=[_CONTACT_UUID],
        responses={200: ContactSerializer, 404: _NOT_FOUND},
    ),
    patch=extend_schema(
        summary="Change a contact's name, tags or metadata",
        description="Only the fields given change. The phone number cannot change: it is the contact.",
        parameters=[_CONTACT_UUID],
        request=ContactUpdateSerializer,
        responses={
            200: ContactSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="Over-long name, invalid metadata or an unknown field."
            ),
            404: _NOT_FOUND,
        },
    ),
    delete=extend_schema(
        summary="Erase a contact",
        description="Deletes the contact with its messages, conversations, notes and campaign recipient "
        "entries (an erasure request). The contact is made again if they write in.",
        parameters=[_CONTACT_UUID],
        responses={204: OpenApiResponse(description="Erased."), 404: _NOT_FOUND},
    ),
)
class ContactDetailView(MessagingErrorsMixin, generics.RetrieveAPIView):
    serializer_class = ContactSerializer

    def get_object(self):
        return get_scoped_or_404(Contact, api_workspace(self.request), uuid=self.kwargs["contact_uuid"])

    def patch(self, request, *args, **kwargs):
        contact = self.get_object()
        body = ContactUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contact = contact_update(contact=contact, **body.validated_data)
        return Response(ContactSerializer(contact).data)

    def delete(self, request, *args, **kwargs):
        contact_erase(contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(
        summary="The numbers a contact talked to",
        description="With the first and last interaction and the number of messages through each, most "
        "recent first. Replies with no explicit number go out from the first one listed that is connected.",
        parameters=[_CONTACT_UUID],
        responses={200: ContactSessionSerializer(many=True), 404: _NOT_FOUND},
    )
)
class ContactSessionsView(generics.ListAPIView):
    serializer_class = ContactSessionSerializer
    pagination_class = None  # a contact talks to a handful of numbers

    def get_queryset(self):
        contact = contact_get_or_404(
            workspace=api_workspace(self.request), contact_uuid=self.kwargs["contact_uuid"]
        )
        return contact_sessions_of(contact=contact)
