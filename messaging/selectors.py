"""Reads for messaging: contacts, messages (API) and the shared inbox (UI). Every function
takes the workspace and scopes through `accounts.tenancy`, so no caller can forget to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery

from accounts.models import Workspace
from accounts.tenancy import get_scoped_or_404, scoped
from messaging.models import Chat, Contact, ContactSession
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import connected_numbers

# How many messages a conversation page shows (the newest ones).
CONVERSATION_PAGE_SIZE = 200


def contacts_search(*, workspace: Workspace, query: str = "") -> QuerySet[Contact]:
    contacts = scoped(Contact, workspace)
    query = query.strip()
    if query:
        contacts = contacts.filter(Q(name__icontains=query) | Q(phone__icontains=query))
    return contacts.order_by("name", "phone")


def contact_get_or_404(*, workspace: Workspace, contact_uuid: UUID | str) -> Contact:
    return get_scoped_or_404(Contact, workspace, uuid=contact_uuid)


# --- Messages (API) -----------------------------------------------------------------------------


def messages_of_workspace(
    *,
    workspace: Workspace,
    session_uuid: UUID | None = None,
    contact_uuid: UUID | None = None,
    direction: str | None = None,
    since: datetime | None = None,
) -> QuerySet[Chat]:
    """The workspace's messages, optionally filtered; the caller orders/paginates. A filter
    on another workspace's session or contact simply matches nothing."""
    chats = scoped(Chat, workspace).select_related("contact", "whatsapp_session")
    if session_uuid is not None:
        chats = chats.filter(whatsapp_session__uuid=session_uuid)
    if contact_uuid is not None:
        chats = chats.filter(contact__uuid=contact_uuid)
    if direction:
        chats = chats.filter(direction=direction)
    if since is not None:
        chats = chats.filter(created_at__gte=since)
    return chats


def message_get_or_404(*, workspace: Workspace, chat_uuid: UUID | str) -> Chat:
    return get_scoped_or_404(
        Chat.objects.select_related("contact", "whatsapp_session"), workspace, uuid=chat_uuid
    )


def contact_sessions_of(*, contact: Contact) -> QuerySet[ContactSession]:
    """The numbers `contact` talked to, most recent first (soft-deleted numbers included:
    the history happened)."""
    return (
        ContactSession.objects.filter(contact=contact)
        .select_related("whatsapp_session")
        .order_by("-last_interaction_at", "-id")
    )


# --- Shared inbox (UI) --------------------------------------------------------------------------


def inbox_numbers(*, workspace: Workspace) -> QuerySet[WhatsAppSession]:
    """Numbers that can appear in the inbox filter: every non-deleted number that has a phone."""
    return scoped(WhatsAppSession, workspace).filter(deleted_at__isnull=True, phone_number__isnull=False)


def reply_number(*, workspace: Workspace, contact: Contact | None) -> WhatsAppSession | None:
    """The number a message to `contact` goes out from when nobody names one: the connected
    number the contact last talked to, else the primary, else the latest connected. The one
    rule `chat_send` and the inbox's reply box share."""
    connected = connected_numbers(workspace=workspace)
    if contact is not None:
        link = (
            ContactSession.objects.filter(contact=contact, whatsapp_session__in=connected)
            .order_by("-last_interaction_at")
            .select_related("whatsapp_session")
            .first()
        )
        if link is not None:
            return link.whatsapp_session
    return connected.first()


def inbox_conversations(
    *, workspace: Workspace, session: WhatsAppSession | None = None, query: str = ""
) -> QuerySet[Contact]:
    """One row per contact with at least one message (on `session` when given), annotated with
    `last_message_at`, `last_body`, `last_direction` and `unread` (inbound messages after the
    conversation was last opened), latest conversation first."""
    chats = Q(chats__workspace=workspace)
    latest = Chat.objects.filter(contact=OuterRef("pk"))
    if session is not None:
        chats &= Q(chats__whatsapp_session=session)
        latest = latest.filter(whatsapp_session=session)
    latest = latest.order_by("-created_at", "-id")
    unread = (
        chats
        & Q(chats__direction=Chat.Direction.INBOUND)
        & (Q(inbox_read_at__isnull=True) | Q(chats__created_at__gt=F("inbox_read_at")))
    )
    # Annotate first, then keep contacts with a message: filtering on `chats` before
    # annotating would reuse (and restrict) the join the counts run over.
    contacts = (
        contacts_search(workspace=workspace, query=query)
        .annotate(
            last_message_at=Max("chats__created_at", filter=chats),
            unread=Count("chats", filter=unread),
            last_body=Subquery(latest.values("body")[:1]),
            last_direction=Subquery(latest.values("direction")[:1]),
        )
        .filter(last_message_at__isnull=False)
        .order_by("-last_message_at", "-id")
    )
    return contacts


@dataclass(frozen=True)
class Conversation:
    contact: Contact
    messages: list[Chat]  # oldest first, the newest CONVERSATION_PAGE_SIZE
    truncated: bool


def conversation_get(*, contact: Contact) -> Conversation:
    newest = list(
        Chat.objects.filter(contact=contact)
        .select_related("whatsapp_session")
        .order_by("-created_at", "-id")[: CONVERSATION_PAGE_SIZE + 1]
    )
    truncated = len(newest) > CONVERSATION_PAGE_SIZE
    return Conversation(contact=contact, messages=newest[:CONVERSATION_PAGE_SIZE][::-1], truncated=truncated)


def contact_last_number(*, contact: Contact) -> WhatsAppSession | None:
    """The number this contact last talked to (what `chat_send` picks when none is named)."""
    link = contact_sessions_of(contact=contact).filter(whatsapp_session__deleted_at__isnull=True).first()
    return link.whatsapp_session if link else None
