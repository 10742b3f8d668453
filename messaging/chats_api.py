"""The shared inbox for integrators (`/api/v1/chats…`): the same conversations the inbox
page lists (one per contact, across numbers, with unread counts) and its read mark. A
conversation's messages are `GET /api/v1/messages?contact=<uuid>`."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import api_workspace
from blazz.api_common import refuse_request_body
from blazz.api_errors import ErrorSerializer
from blazz.pagination import cursor_paginator
from messaging.api import MessageContactSerializer
from messaging.inbox import conversation_mark_read
from messaging.models import Chat
from messaging.selectors import contact_get_or_404, inbox_conversations
from sessions_app.selectors import number_by_uuid


class ContactChatSerializer(serializers.Serializer):
    contact = MessageContactSerializer(source="*")
    last_message_at = serializers.DateTimeField()
    last_body = serializers.CharField(help_text="The newest message's text.")
    last_direction = serializers.ChoiceField(choices=Chat.Direction.choices)
    unread = serializers.IntegerField(help_text="Inbound messages since the conversation was last read.")


class ChatFilterSerializer(serializers.Serializer):
    session = serializers.UUIDField(required=False, help_text="Only conversations through this number.")
    q = serializers.CharField(
        required=False, max_length=100, help_text="Part of the contact's name or phone."
    )


LatestConversationFirst = cursor_paginator("-last_message_at", "-id")


_CONTACT_UUID = OpenApiParameter(
    "contact_uuid", OpenApiTypes.UUID, location=OpenApiParameter.PATH, description="The contact's `uuid`."
)


@extend_schema_view(
    get=extend_schema(
        summary="List conversations (the shared inbox)",
        description="One per contact with at least one message, latest first, with the unread count. "
        "Read a conversation with `GET /messages?contact=<uuid>`; mark it read with "
        "`POST /chats/{contact_uuid}/read`.",
        parameters=[ChatFilterSerializer],
    )
)
class ChatListView(generics.ListAPIView):
    serializer_class = ContactChatSerializer
    pagination_class = LatestConversationFirst

    def get_queryset(self):
        workspace = api_workspace(self.request)
        filters = ChatFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        session = None
        wanted = filters.validated_data.get("session")
        if wanted is not None:
            session = number_by_uuid(workspace=workspace, value=wanted, include_deleted=True)
            if session is None:
                raise serializers.ValidationError({"session": "No number with this uuid in this workspace."})
        return inbox_conversations(
            workspace=workspace, session=session, query=filters.validated_data.get("q", "")
        )


class ChatReadView(APIView):
    @extend_schema(
        summary="Mark a conversation read",
        description="For the whole workspace, as opening it in the inbox does; the mark only moves forward.",
        request=None,
        parameters=[_CONTACT_UUID],
        responses={
            204: OpenApiResponse(description="Marked read."),
            404: OpenApiResponse(ErrorSerializer, description="No such contact in this workspace."),
        },
    )
    def post(self, request, contact_uuid):
        refuse_request_body(request)
        contact = contact_get_or_404(workspace=api_workspace(request), contact_uuid=contact_uuid)
        conversation_mark_read(contact=contact)
        return Response(status=status.HTTP_204_NO_CONTENT)
