"""The team inbox's own state: who owns a conversation, whether it is open, pending or
resolved, what has been read, internal notes and quick replies. A conversation is a
ContactSession (one contact on one number). Every change is published to the workspace's
members after commit, so two agents looking at the same conversation see the same thing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Greatest

from accounts.models import Membership, Workspace
from blazz.realtime import publish_to_workspace
from blazz.templating import TemplateError, render, variables_in
from messaging.models import ContactSession, ConversationNote, QuickReply
from messaging.services.common import InvalidMessage

NOTE_MAX_CHARS = 5000
QUICK_REPLY_MAX_CHARS = 4096
# Workspace.settings key: when true, a new inbound message on an unassigned conversation
# assigns it to the member with the fewest open conversations.
AUTO_ASSIGN_SETTING = "inbox_auto_assign"


class InvalidConversationChange(InvalidMessage):
    """A refused inbox change; the message is safe to show."""


def conversation_payload(conversation: ContactSession) -> dict[str, Any]:
    assignee = conversation.assignee
    return {
        "uuid": str(conversation.uuid),
        "contact": str(conversation.contact.uuid),
        "number": str(conversation.whatsapp_session.uuid),
        "status": conversation.status,
        "assignee": None if assignee is None else {"id": assignee.pk, "name": member_display_name(assignee)},
        "unread_count": conversation.unread_count,
        "last_interaction_at": conversation.last_interaction_at.isoformat(),
    }


def member_display_name(user: AbstractBaseUser) -> str:
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full_name or user.get_username()


def _publish(conversation: ContactSession, event: str = "conversation.updated", **extra: Any) -> None:
    conversation = ContactSession.objects.select_related(
        "contact__workspace", "whatsapp_session", "assignee"
    ).get(pk=conversation.pk)
    publish_to_workspace(
        workspace_uuid=conversation.contact.workspace.uuid,
        event=event,
        payload={**conversation_payload(conversation), **extra},
    )


def _member_of(workspace: Workspace, user: AbstractBaseUser) -> bool:
    return Membership.objects.filter(workspace=workspace, user=user).exists()


def conversation_assign(*, conversation: ContactSession, assignee: AbstractBaseUser | None) -> ContactSession:
    """Gives the conversation to a member of its workspace (None: unassigned)."""
    workspace = conversation.contact.workspace
    if assignee is not None and not _member_of(workspace, assignee):
        raise InvalidConversationChange("Only a member of this workspace can be assigned.", field="assignee")
    ContactSession.objects.filter(pk=conversation.pk).update(assignee=assignee)
    conversation.assignee = assignee
    _publish(conversation)
    return conversation


def conversation_claim_on_reply(*, conversation: ContactSession, member: AbstractBaseUser) -> bool:
    """A member who answers an unassigned conversation takes it; one already owned keeps its
    owner (the reply box warns before answering someone else's). True when it was taken."""
    taken = ContactSession.objects.filter(pk=conversation.pk, assignee__isnull=True).update(assignee=member)
    if taken:
        conversation.assignee = member
        _publish(conversation)
    return bool(taken)


def conversation_set_status(*, conversation: ContactSession, status: str) -> ContactSession:
    if status not in ContactSession.Status.values:
        raise InvalidConversationChange(
            f"Status must be one of {', '.join(ContactSession.Status.values)}.", field="status"
        )
    ContactSession.objects.filter(pk=conversation.pk).update(status=status)
    conversation.status = status
    _publish(conversation)
    return conversation


def conversation_mark_read(*, conversation: ContactSession) -> None:
    if ContactSession.objects.filter(pk=conversation.pk, unread_count__gt=0).update(unread_count=0):
        conversation.unread_count = 0
        _publish(conversation)


def conversation_mark_unread(*, conversation: ContactSession) -> None:
    ContactSession.objects.filter(pk=conversation.pk).update(unread_count=Greatest(F("unread_count"), 1))
    conversation.refresh_from_db(fields=["unread_count"])
    _publish(conversation)


def inbox_auto_assign_enabled(*, workspace: Workspace) -> bool:
    return bool((workspace.settings or {}).get(AUTO_ASSIGN_SETTING))


@transaction.atomic
def inbox_auto_assign_set(*, workspace: Workspace, enabled: bool) -> None:
    """Turns auto-assignment of new conversations on or off for the workspace."""
    locked = Workspace.objects.select_for_update(no_key=True).get(pk=workspace.pk)
    locked.settings = {**(locked.settings or {}), AUTO_ASSIGN_SETTING: bool(enabled)}
    locked.save(update_fields=["settings"])
    workspace.settings = locked.settings


def conversations_auto_assign(*, workspace: Workspace, conversation_ids: list[int]) -> int:
    """Inside ingestion's transaction: when the workspace turned auto-assignment on, each
    unassigned conversation among `conversation_ids` goes to the member with the fewest open
    conversations (ties: the longest-standing member). Returns how many were assigned."""
    if not conversation_ids or not (workspace.settings or {}).get(AUTO_ASSIGN_SETTING):
        return 0
    unassigned = list(
        ContactSession.objects.select_for_update(skip_locked=True)
        .filter(pk__in=conversation_ids, assignee__isnull=True)
        .order_by("pk")
    )
    if not unassigned:
        return 0
    load = dict(
        Membership.objects.filter(workspace=workspace)
        .annotate(
            open_count=Count(
                "user__assigned_conversations",
                filter=Q(user__assigned_conversations__contact__workspace=workspace)
                & ~Q(user__assigned_conversations__status=ContactSession.Status.RESOLVED),
            )
        )
        .values_list("user_id", "open_count")
    )
    if not load:
        return 0
    order = {
        user_id: n
        for n, user_id in enumerate(
            Membership.objects.filter(workspace=workspace)
            .order_by("created_at", "id")
            .values_list("user_id", flat=True)
        )
    }
    for conversation in unassigned:
        user_id = min(load, key=lambda uid: (load[uid], order.get(uid, 0)))
        ContactSession.objects.filter(pk=conversation.pk).update(assignee_id=user_id)
        load[user_id] += 1
        _publish(conversation)
    return len(unassigned)


# --- Notes ---------------------------------------------------------------------------------


def note_add(*, conversation: ContactSession, author: AbstractBaseUser, body: Any) -> ConversationNote:
    """An internal note: stored and shown to the team, never handed to a transport."""
    if not isinstance(body, str) or not body.strip():
        raise InvalidConversationChange("A note needs some text.", field="body")
    if "\x00" in body:
        raise InvalidConversationChange("A note must not contain NUL characters.", field="body")
    if len(body) > NOTE_MAX_CHARS:
        raise InvalidConversationChange(
            f"A note has at most {NOTE_MAX_CHARS} characters; this one has {len(body)}.", field="body"
        )
    note = ConversationNote.objects.create(conversation=conversation, author=author, body=body.strip())
    _publish(
        conversation,
        event="conversation.note",
        note={"uuid": str(note.uuid), "body": note.body, "author": member_display_name(author)},
    )
    return note


# --- Quick replies ------------------------------------------------------------------------


def _quick_reply_clean(shortcut: Any, body: Any) -> tuple[str, str]:
    if not isinstance(shortcut, str) or not shortcut.strip():
        raise InvalidConversationChange("A quick reply needs a shortcut such as `thanks`.", field="shortcut")
    shortcut = shortcut.strip().lstrip("/").lower()
    if (
        not shortcut.replace("-", "").replace("_", "").isalnum()
        or len(shortcut) > 40
        or not shortcut.isascii()
    ):
        raise InvalidConversationChange(
            "A shortcut is up to 40 letters, digits, - or _ (it is typed after /).", field="shortcut"
        )
    if not isinstance(body, str) or not body.strip():
        raise InvalidConversationChange("A quick reply needs a text.", field="body")
    if "\x00" in body or len(body) > QUICK_REPLY_MAX_CHARS:
        raise InvalidConversationChange(
            f"A quick reply is at most {QUICK_REPLY_MAX_CHARS} characters, without NUL.", field="body"
        )
    try:
        variables_in(body)
    except TemplateError as exc:
        raise InvalidConversationChange(str(exc), field="body") from exc
    return shortcut, body


def quick_reply_save(
    *,
    workspace: Workspace,
    shortcut: Any,
    body: Any,
    created_by: AbstractBaseUser | None = None,
    quick_reply: QuickReply | None = None,
) -> QuickReply:
    """Creates a quick reply, or changes `quick_reply`. Shortcuts are unique per workspace."""
    shortcut, body = _quick_reply_clean(shortcut, body)
    try:
        with transaction.atomic():
            if quick_reply is None:
                return QuickReply.objects.create(
                    workspace=workspace, shortcut=shortcut, body=body, created_by=created_by
                )
            quick_reply.shortcut, quick_reply.body = shortcut, body
            quick_reply.save(update_fields=["shortcut", "body", "updated_at"])
            return quick_reply
    except IntegrityError:
        raise InvalidConversationChange(
            f"/{shortcut} already exists in this workspace.", field="shortcut"
        ) from None


def quick_reply_delete(*, quick_reply: QuickReply) -> None:
    quick_reply.delete()


def quick_reply_render(*, quick_reply: QuickReply, conversation: ContactSession) -> str:
    """The quick reply's text for this conversation's contact, variables filled as campaigns
    fill them. A variable the contact has no value for (and no fallback) is refused."""
    contact = conversation.contact
    try:
        return render(
            quick_reply.body, name=contact.name, phone=contact.phone_e164 or "", metadata=contact.metadata
        )
    except TemplateError as exc:
        raise InvalidConversationChange(str(exc), field="body") from exc
