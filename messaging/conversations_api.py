"""The team inbox for integrators (`/api/v1/conversations…`, `/api/v1/quick-replies…`): the
same conversations (one contact on one number), assignment, status, read marks, internal
notes and quick replies that the inbox page uses, through the same services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from accounts.api_auth import api_workspace
from accounts.tenancy import get_scoped_or_404
from blazz.api_common import InputSerializer
from blazz.api_errors import ErrorSerializer
from blazz.pagination import cursor_paginator
from messaging.api import MessageContactSerializer, MessageSessionSerializer, MessagingErrorsMixin
from messaging.models import Chat, ContactSession, ConversationNote, QuickReply
from messaging.selectors import (
    conversation_get_or_404,
    conversations_search,
    quick_replies_of,
)
from messaging.services import (
    conversation_assign,
    conversation_mark_read,
    conversation_mark_unread,
    conversation_set_status,
    note_add,
    quick_reply_delete,
    quick_reply_save,
)
from messaging.services.conversations import member_display_name
from sessions_app.selectors import number_by_uuid

# --- Serializers ---------------------------------------------------------------------------


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return member_display_name(user)


class ConversationSerializer(serializers.ModelSerializer):
    contact = MessageContactSerializer(read_only=True)
    number = MessageSessionSerializer(source="whatsapp_session", read_only=True)
    assignee = MemberSerializer(read_only=True, allow_null=True)
    last_body = serializers.CharField(read_only=True, allow_null=True, help_text="The newest message's text.")
    last_direction = serializers.ChoiceField(choices=Chat.Direction.choices, read_only=True, allow_null=True)

    class Meta:
        model = ContactSession
        fields = [
            "uuid",
            "contact",
            "number",
            "status",
            "assignee",
            "unread_count",
            "total_messages",
            "first_interaction_at",
            "last_interaction_at",
            "last_inbound_at",
            "last_body",
            "last_direction",
        ]
        read_only_fields = fields


class ConversationFilterSerializer(serializers.Serializer):
    number = serializers.UUIDField(required=False, help_text="Only conversations on this number.")
    status = serializers.ChoiceField(choices=ContactSession.Status.choices, required=False)
    assignee = serializers.CharField(
        required=False,
        max_length=20,
        help_text="A member's `id`, or `none` for unassigned conversations.",
    )
    q = serializers.CharField(
        required=False,
        max_length=200,
        help_text="A contact's name, a phone number in any format, or words of any message.",
    )

    def validate_assignee(self, value: str) -> str:
        if value != "none" and not value.isdigit():
            raise serializers.ValidationError("Give a member's id or `none`.")
        return value


class ConversationUpdateSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=ContactSession.Status.choices, required=False)
    assignee = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="A member's `id`; null unassigns."
    )
    unread = serializers.BooleanField(
        required=False, help_text="false marks the conversation read; true marks it unread."
    )


class NoteSerializer(serializers.ModelSerializer):
    author = MemberSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ConversationNote
        fields = ["uuid", "author", "body", "created_at"]
        read_only_fields = fields


class NoteCreateSerializer(InputSerializer):
    body = serializers.CharField(trim_whitespace=False, help_text="Shown to the team only; never sent.")


class QuickReplySerializer(serializers.ModelSerializer):
    class Meta:
        model = QuickReply
        fields = ["uuid", "shortcut", "body", "created_at", "updated_at"]
        read_only_fields = ["uuid", "created_at", "updated_at"]


class QuickReplyInputSerializer(InputSerializer):
    shortcut = serializers.CharField(max_length=41, help_text="Typed after `/` in the reply box.")
    body = serializers.CharField(
        trim_whitespace=False, help_text="May use `{{name}}`, `{{phone}}` and metadata variables."
    )


LatestConversationFirst = cursor_paginator("-last_interaction_at", "-id")
_CONVERSATION_UUID = OpenApiParameter(
    "conversation_uuid",
    OpenApiTypes.UUID,
    location=OpenApiParameter.PATH,
    description="The conversation's `uuid`.",
)
_QUICK_REPLY_UUID = OpenApiParameter(
    "quick_reply_uuid",
    OpenApiTypes.UUID,
    location=OpenApiParameter.PATH,
    description="The quick reply's `uuid`.",
)
_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such object in this workspace.")
_INVALID = OpenApiResponse(ErrorSerializer, description="Invalid input.")


def _member(workspace, user_id: int | None):
    if user_id is None:
        return None
    user = get_user_model().objects.filter(pk=user_id, memberships__workspace=workspace).first()
    if user is None:
        raise serializers.ValidationError({"assignee": "No member of this workspace has this id."})
    return user


# --- Conversations -------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="List conversations",
        description="One per contact and number, latest activity first, with status, assignee and unread "
        "count. Read one's messages with `GET /messages?contact=<contact uuid>&session=<number uuid>`.",
        parameters=[ConversationFilterSerializer],
        responses={200: ConversationSerializer(many=True), 400: _INVALID},
    )
)
class ConversationListView(MessagingErrorsMixin, generics.ListAPIView):
    serializer_class = ConversationSerializer
    pagination_class = LatestConversationFirst

    def get_queryset(self):
        workspace = api_workspace(self.request)
        filters = ConversationFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        number = None
        if data.get("number") is not None:
            number = number_by_uuid(workspace=workspace, value=data["number"], include_deleted=True)
            if number is None:
                raise serializers.ValidationError({"number": "No number with this uuid in this workspace."})
        conversations = conversations_search(
            workspace=workspace, number=number, status=data.get("status"), query=data.get("q", "")
        )
        assignee = data.get("assignee")
        if assignee == "none":
            conversations = conversations.filter(assignee__isnull=True)
        elif assignee:
            conversations = conversations.filter(assignee_id=int(assignee))
        return conversations


@extend_schema_view(
    get=extend_schema(
        summary="Get a conversation",
        parameters=[_CONVERSATION_UUID],
        responses={200: ConversationSerializer, 404: _NOT_FOUND},
    ),
    patch=extend_schema(
        summary="Assign, change the status of, or mark read/unread a conversation",
        description="Only the fields given change. A new inbound message reopens a resolved conversation.",
        parameters=[_CONVERSATION_UUID],
        request=ConversationUpdateSerializer,
        responses={200: ConversationSerializer, 400: _INVALID, 404: _NOT_FOUND},
    ),
)
class ConversationDetailView(MessagingErrorsMixin, generics.RetrieveAPIView):
    serializer_class = ConversationSerializer

    def get_object(self):
        workspace = api_workspace(self.request)
        conversation = conversation_get_or_404(
            workspace=workspace, conversation_uuid=self.kwargs["conversation_uuid"]
        )
        return conversations_search(workspace=workspace).get(pk=conversation.pk)

    def patch(self, request, *args, **kwargs):
        workspace = api_workspace(request)
        conversation = self.get_object()
        body = ConversationUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if "assignee" in data:
            conversation_assign(conversation=conversation, assignee=_member(workspace, data["assignee"]))
        if "status" in data:
            conversation_set_status(conversation=conversation, status=data["status"])
        if data.get("unread") is True:
            conversation_mark_unread(conversation=conversation)
        elif data.get("unread") is False:
            conversation_mark_read(conversation=conversation)
        return Response(ConversationSerializer(self.get_object()).data)


class ConversationNotesView(MessagingErrorsMixin, generics.ListAPIView):
    serializer_class = NoteSerializer
    pagination_class = None

    def get_queryset(self):
        conversation = conversation_get_or_404(
            workspace=api_workspace(self.request), conversation_uuid=self.kwargs["conversation_uuid"]
        )
        return ConversationNote.objects.filter(conversation=conversation).select_related("author")

    @extend_schema(
        summary="A conversation's internal notes",
        parameters=[_CONVERSATION_UUID],
        responses={200: NoteSerializer(many=True), 404: _NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Add an internal note",
        description="Shown in the thread to the team; never sent to the contact. The author is the API "
        "key's creator.",
        parameters=[_CONVERSATION_UUID],
        request=NoteCreateSerializer,
        responses={201: NoteSerializer, 400: _INVALID, 404: _NOT_FOUND},
    )
    def post(self, request, *args, **kwargs):
        conversation = conversation_get_or_404(
            workspace=api_workspace(request), conversation_uuid=kwargs["conversation_uuid"]
        )
        body = NoteCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        author = getattr(request.auth, "created_by", None)
        note = note_add(conversation=conversation, author=author, body=body.validated_data["body"])
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


# --- Quick replies -------------------------------------------------------------------------


class QuickReplyListView(MessagingErrorsMixin, generics.ListAPIView):
    serializer_class = QuickReplySerializer
    pagination_class = None

    def get_queryset(self):
        return quick_replies_of(workspace=api_workspace(self.request))

    @extend_schema(summary="List quick replies")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Add a quick reply",
        request=QuickReplyInputSerializer,
        responses={201: QuickReplySerializer, 400: _INVALID},
    )
    def post(self, request, *args, **kwargs):
        body = QuickReplyInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        quick_reply = quick_reply_save(
            workspace=api_workspace(request),
            created_by=getattr(request.auth, "created_by", None),
            **body.validated_data,
        )
        return Response(QuickReplySerializer(quick_reply).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="Get a quick reply",
        parameters=[_QUICK_REPLY_UUID],
        responses={200: QuickReplySerializer, 404: _NOT_FOUND},
    ),
    put=extend_schema(
        summary="Change a quick reply",
        parameters=[_QUICK_REPLY_UUID],
        request=QuickReplyInputSerializer,
        responses={200: QuickReplySerializer, 400: _INVALID, 404: _NOT_FOUND},
    ),
    delete=extend_schema(
        summary="Delete a quick reply",
        parameters=[_QUICK_REPLY_UUID],
        responses={204: OpenApiResponse(description="Deleted."), 404: _NOT_FOUND},
    ),
)
class QuickReplyDetailView(MessagingErrorsMixin, generics.RetrieveAPIView):
    serializer_class = QuickReplySerializer

    def get_object(self):
        return get_scoped_or_404(
            QuickReply, api_workspace(self.request), uuid=self.kwargs["quick_reply_uuid"]
        )

    def put(self, request, *args, **kwargs):
        quick_reply = self.get_object()
        body = QuickReplyInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        quick_reply = quick_reply_save(
            workspace=quick_reply.workspace, quick_reply=quick_reply, **body.validated_data
        )
        return Response(QuickReplySerializer(quick_reply).data)

    def delete(self, request, *args, **kwargs):
        quick_reply_delete(quick_reply=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
