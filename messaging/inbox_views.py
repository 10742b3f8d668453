"""The team inbox page (issue 19): conversations on the left (Mine / Unassigned / All, by
number and status, search), the open conversation's thread with its notes in the middle, the
contact on the right on wide screens. Every write is one service call (the same the API
uses) followed by a redirect back, so a reload never repeats it; refusals are flash messages."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db.models import prefetch_related_objects
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts.mixins import WorkspaceManagerMixin, WorkspaceMemberMixin
from messaging.inbox_media import SEND_AS_CHOICES, conversations_with_last_media, upload_kind, upload_mimetype
from messaging.models import ContactSession, QuickReply
from messaging.selectors import (
    InboxView,
    connected_numbers,
    contact_sessions_of,
    conversation_get_or_404,
    conversation_thread,
    conversations_search,
    inbox_numbers,
    last_inbound_number,
    quick_replies_of,
    reply_number,
    reply_number_warning,
)
from messaging.services import (
    InvalidMessage,
    MessagingError,
    chat_send,
    conversation_assign,
    conversation_mark_read,
    conversation_mark_unread,
    conversation_set_status,
    note_add,
    quick_reply_render,
)
from messaging.services.conversations import (
    inbox_auto_assign_enabled,
    inbox_auto_assign_set,
    member_display_name,
)
from messaging.services.media import MediaRefused, OutboundMedia, media_file_store, media_size_limit
from sessions_app.selectors import number_by_uuid

LIST_SIZE = 100
# Where the list starts when nothing is asked: an agent's own queue first.
DEFAULT_VIEW = InboxView.ALL
# The kinds whose size limits the reply box checks before uploading (a voice note is audio).
ATTACH_LIMIT_KINDS = ("image", "video", "audio", "document")


def _filters(request) -> dict[str, str]:
    """The list's filters from the query string, only those that are set (kept in every link)."""
    wanted = {key: request.GET.get(key, "").strip() for key in ("view", "number", "status", "q")}
    if wanted["view"] not in InboxView.__members__.values():
        wanted["view"] = ""
    if wanted["status"] not in ContactSession.Status.values:
        wanted["status"] = ""
    return {key: value for key, value in wanted.items() if value}


def _back(request, conversation: ContactSession) -> HttpResponse:
    url = reverse("messaging:inbox_conversation", kwargs={"conversation_uuid": conversation.uuid})
    query = request.POST.get("filters", "")
    return redirect(f"{url}?{query}" if query else url)


class TeamInboxView(WorkspaceMemberMixin, TemplateView):
    template_name = "messaging/team_inbox.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        workspace, member = self.request.workspace, self.request.user
        filters = _filters(self.request)
        number = number_by_uuid(workspace=workspace, value=filters.get("number"), include_deleted=True)
        conversations = list(
            conversations_with_last_media(
                conversations_search(
                    workspace=workspace,
                    member=member,
                    view=filters.get("view", DEFAULT_VIEW),
                    number=number,
                    status=filters.get("status"),
                    query=filters.get("q", ""),
                )
            )[:LIST_SIZE]
        )
        context.update(
            conversations=conversations,
            filters=filters,
            filter_query=urlencode(filters),
            view=filters.get("view", DEFAULT_VIEW),
            views=[(InboxView.MINE, "Mine"), (InboxView.UNASSIGNED, "Unassigned"), (InboxView.ALL, "All")],
            statuses=ContactSession.Status.choices,
            numbers=inbox_numbers(workspace=workspace).order_by("phone_number"),
            number=number,
            auto_assign=inbox_auto_assign_enabled(workspace=workspace),
        )
        selected = self.kwargs.get("conversation_uuid")
        if selected is not None:
            context.update(
                self._conversation_context(
                    conversation_get_or_404(workspace=workspace, conversation_uuid=selected)
                )
            )
        return context

    def _conversation_context(self, conversation: ContactSession) -> dict[str, Any]:
        workspace = self.request.workspace
        numbers = list(connected_numbers(workspace=workspace))
        # A reply goes out from this conversation's own number when it is connected.
        sending = conversation.whatsapp_session if conversation.whatsapp_session in numbers else None
        sending = sending or reply_number(workspace=workspace, contact=conversation.contact)
        last_inbound = last_inbound_number(contact_id=conversation.contact_id)
        thread = conversation_thread(conversation=conversation)
        prefetch_related_objects([item.message for item in thread if item.message], "media_file")
        members = get_user_model().objects.filter(memberships__workspace=workspace).order_by("username")
        return {
            "conversation": conversation,
            "contact": conversation.contact,
            "thread": thread,
            # The reply box checks a file against the API's limits before it uploads it.
            "attach_limits": {kind: media_size_limit(kind) for kind in ATTACH_LIMIT_KINDS},
            "send_as_choices": SEND_AS_CHOICES,
            "reply_numbers": numbers,
            "sending_number": sending,
            "reply_warning": reply_number_warning(
                conversation=conversation, sending_number=sending, last_inbound=last_inbound
            )
            if sending
            else None,
            "last_inbound_number": last_inbound,
            "members": [(m.pk, member_display_name(m)) for m in members],
            "other_conversations": [
                link
                for link in contact_sessions_of(contact=conversation.contact)
                if link.pk != conversation.pk
            ],
            "quick_replies": quick_replies_of(workspace=workspace),
            "reply_key": uuid.uuid4().hex,
            "assigned_to_someone_else": conversation.assignee_id not in (None, self.request.user.pk),
        }


class _ConversationAction(WorkspaceMemberMixin, View):
    """POST on one conversation of the caller's workspace, then back to it."""

    def post(self, request, conversation_uuid):
        conversation = conversation_get_or_404(
            workspace=request.workspace, conversation_uuid=conversation_uuid
        )
        try:
            response = self.act(request, conversation)
        except (MessagingError, MediaRefused) as exc:
            messages.error(request, str(exc))
            return _back(request, conversation)
        return response or _back(request, conversation)

    def act(self, request, conversation: ContactSession) -> HttpResponse | None:
        raise NotImplementedError


class ConversationReplyAction(_ConversationAction):
    """A reply, with an attachment when the form carries a file (issue 17): the file goes
    through the same services as `POST /api/v1/messages` (media_file_store, then chat_send
    with `media=`), so the limits and the quota are the API's. The reply box's script posts
    it with `X-Requested-With: fetch` to show upload progress, and gets JSON back (where to
    go, or the refusal) instead of a redirect."""

    def post(self, request, conversation_uuid):
        if request.headers.get("X-Requested-With") != "fetch":
            return super().post(request, conversation_uuid)
        conversation = conversation_get_or_404(
            workspace=request.workspace, conversation_uuid=conversation_uuid
        )
        try:
            response = self.act(request, conversation) or _back(request, conversation)
        except (MessagingError, MediaRefused) as exc:
            status = exc.status if isinstance(exc, MediaRefused) else 400
            return JsonResponse({"error": str(exc)}, status=status)
        return JsonResponse({"redirect": response.url})

    def act(self, request, conversation):
        session = conversation.whatsapp_session
        if request.POST.get("session"):
            session = number_by_uuid(workspace=request.workspace, value=request.POST["session"])
            if session is None:
                raise InvalidMessage("That number is no longer available; pick another one.")
        key = request.POST.get("idempotency_key", "").strip()
        upload = request.FILES.get("file")
        media = (
            _attachment(request.workspace, upload, send_as=request.POST.get("send_as", ""))
            if upload is not None
            else None
        )
        _, created = chat_send(
            workspace=request.workspace,
            to=conversation.contact.address,
            body=request.POST.get("body", ""),
            session=session,
            idempotency_key=f"inbox:{key}" if key else None,
            sent_by=request.user,
            media=media,
        )
        if not created:
            messages.info(request, "This reply was already sent.")
        if session.pk != conversation.whatsapp_session_id:
            # The reply lives in the conversation of the number it left from.
            moved = ContactSession.objects.filter(
                contact=conversation.contact, whatsapp_session=session
            ).first()
            if moved is not None:
                return _back(request, moved)
        return None


def _attachment(workspace, upload: UploadedFile, *, send_as: str) -> OutboundMedia:
    """The reply box's file, stored (once per workspace) and described for chat_send, by the
    rules of `POST /api/v1/messages`: a file whose kind is inferred is stored under the document
    limit, then goes out as what its bytes are (photo, video, audio) when it fits that kind's
    limit, else as a document. Raises MediaRefused (over the limit, quota full) or
    InvalidMessage (empty, or a voice note that is not audio)."""
    if not upload.size:
        raise InvalidMessage("The file is empty.", field="file")
    if send_as == "ptt" and upload_kind(mimetype=upload_mimetype(upload), send_as="ptt") != "ptt":
        raise InvalidMessage("A voice note must be an audio file.", field="file")
    filename = (upload.name or "")[:255]
    stored = media_file_store(workspace=workspace, data=upload, kind=send_as or "document", filename=filename)
    kind = upload_kind(mimetype=stored.mimetype, send_as=send_as)
    if stored.size > media_size_limit(kind):
        kind = "document"  # a 20 MB photo is over WhatsApp's photo limit, not a document's
    return OutboundMedia(kind=kind, file=stored, filename=filename)


class ConversationAssignAction(_ConversationAction):
    def act(self, request, conversation):
        raw = request.POST.get("assignee", "")
        assignee = None
        if raw == "me":
            assignee = request.user
        elif raw:
            assignee = get_user_model().objects.filter(pk=raw if raw.isdigit() else 0).first()
            if assignee is None:
                messages.error(request, "That member no longer exists.")
                return None
        conversation_assign(conversation=conversation, assignee=assignee)
        return None


class ConversationStatusAction(_ConversationAction):
    def act(self, request, conversation):
        conversation_set_status(conversation=conversation, status=request.POST.get("status", ""))
        return None


class ConversationUnreadAction(_ConversationAction):
    def act(self, request, conversation):
        conversation_mark_unread(conversation=conversation)
        # Back to the list: staying on the thread would mark it read again.
        query = request.POST.get("filters", "")
        url = reverse("messaging:inbox")
        return redirect(f"{url}?{query}" if query else url)


class ConversationReadAction(_ConversationAction):
    """The page's script posts this while the thread is on screen (never a plain GET)."""

    def act(self, request, conversation):
        conversation_mark_read(conversation=conversation)
        if request.headers.get("X-Requested-With") == "fetch":
            return HttpResponse(status=204)
        return None


class ConversationNoteAction(_ConversationAction):
    def act(self, request, conversation):
        note_add(conversation=conversation, author=request.user, body=request.POST.get("body", ""))
        return None


class QuickReplyTextView(WorkspaceMemberMixin, View):
    """GET: a quick reply's text for this conversation's contact (JSON for the reply box)."""

    def get(self, request, conversation_uuid):
        conversation = conversation_get_or_404(
            workspace=request.workspace, conversation_uuid=conversation_uuid
        )
        shortcut = request.GET.get("shortcut", "").strip().lstrip("/").lower()
        quick_reply = QuickReply.objects.filter(workspace=request.workspace, shortcut=shortcut).first()
        if quick_reply is None:
            return JsonResponse({"error": f"No quick reply /{shortcut} in this workspace."}, status=404)
        try:
            text = quick_reply_render(quick_reply=quick_reply, conversation=conversation)
        except MessagingError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        return JsonResponse({"shortcut": quick_reply.shortcut, "text": text})


class InboxSettingsAction(WorkspaceManagerMixin, View):
    """POST `auto_assign` on/off: new conversations go to the member with the fewest open ones."""

    def post(self, request):
        enabled = request.POST.get("auto_assign") == "on"
        inbox_auto_assign_set(workspace=request.workspace, enabled=enabled)
        messages.success(
            request,
            "New conversations are now assigned automatically."
            if enabled
            else "New conversations now wait in Unassigned.",
        )
        query = request.POST.get("filters", "")
        url = reverse("messaging:inbox")
        return redirect(f"{url}?{query}" if query else url)
