"""Reads for messaging: contacts, messages (API) and the shared inbox (UI). Every function
takes the workspace and scopes through `accounts.tenancy`, so no caller can forget to."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Count, Exists, F, Func, Max, OuterRef, Q, QuerySet, Subquery

from accounts.models import Workspace
from accounts.tenancy import get_scoped_or_404, scoped
from blazz.phones import InvalidPhoneNumber, normalize_phone
from messaging.models import Chat, Contact, ContactSession, ConversationNote, QuickReply
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import connected_numbers

# How many messages a conversation page shows (the newest ones).
CONVERSATION_PAGE_SIZE = 200


def contacts_search(*, workspace: Workspace, query: str = "", tag: str = "") -> QuerySet[Contact]:
    contacts = scoped(Contact, workspace)
    tag = " ".join(tag.split()).lower()
    if tag:
        contacts = contacts.filter(tags__contains=[tag])
    query = query.strip()
    if query:
        matches = Q(name__icontains=query) | Q(profile_name__icontains=query) | Q(phone__icontains=query)
        digits = _digits(query)
        if len(digits) >= 3:  # a phone typed in any format: "+55 21 97777-0001", "(21) 97777-0001"
            matches |= Q(phone__contains=digits) | Q(wa_id__startswith=digits)
        contacts = contacts.filter(matches)
    return contacts.order_by("name", "phone")


def workspace_tags(*, workspace: Workspace) -> list[str]:
    """Every tag the workspace's contacts carry, for the tag editor's suggestions and the
    contact list's filter (one scan of a small column, unnest-distinct in PostgreSQL)."""
    return sorted(
        scoped(Contact, workspace)
        .annotate(tag=Func(F("tags"), function="unnest"))
        .values_list("tag", flat=True)
        .distinct()
    )


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


# --- Team inbox: conversations (one contact on one number) ---------------------------------

# The same expression as Chat's `chat_body_search` GIN index, so searches use it.
MESSAGE_SEARCH_VECTOR = SearchVector("body", config="simple")


class InboxView(StrEnum):
    MINE = "mine"
    UNASSIGNED = "unassigned"
    ALL = "all"


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def conversations_search(
    *,
    workspace: Workspace,
    member: AbstractBaseUser | None = None,
    view: str = InboxView.ALL,
    number: WhatsAppSession | None = None,
    status: str | None = None,
    query: str = "",
) -> QuerySet[ContactSession]:
    """The inbox's conversation list, latest activity first, each with `last_body` and
    `last_direction` of its newest message. `query` matches a contact's name, its phone
    typed in any format ("+55 21 97777-0001" finds +5521977770001), its WhatsApp ids, and
    the words of any message (PostgreSQL full-text search)."""
    conversations = ContactSession.objects.filter(
        contact__workspace=workspace, whatsapp_session__workspace=workspace
    ).select_related("contact", "whatsapp_session", "assignee")
    if view == InboxView.MINE:
        conversations = conversations.filter(assignee=member) if member is not None else conversations.none()
    elif view == InboxView.UNASSIGNED:
        conversations = conversations.filter(assignee__isnull=True)
    if number is not None:
        conversations = conversations.filter(whatsapp_session=number)
    if status:
        conversations = conversations.filter(status=status)
    query = query.strip()
    if query:
        matches = Q(contact__name__icontains=query)
        digits = _digits(query)
        if len(digits) >= 3:
            matches |= Q(contact__phone__contains=digits) | Q(contact__wa_id__startswith=digits)
        if "@" in query:
            matches |= Q(contact__wa_lid=query) | Q(contact__wa_id=query)
        by_text = (
            scoped(Chat, workspace)
            .annotate(search=MESSAGE_SEARCH_VECTOR)
            .filter(search=SearchQuery(query, config="simple", search_type="websearch"))
            .filter(contact_id=OuterRef("contact_id"), whatsapp_session_id=OuterRef("whatsapp_session_id"))
        )
        conversations = conversations.filter(matches | Q(Exists(by_text)))
    latest = Chat.objects.filter(
        contact_id=OuterRef("contact_id"), whatsapp_session_id=OuterRef("whatsapp_session_id")
    ).order_by("-created_at", "-id")
    return conversations.annotate(
        last_body=Subquery(latest.values("body")[:1]),
        last_direction=Subquery(latest.values("direction")[:1]),
    ).order_by("-last_interaction_at", "-id")


def conversation_get_or_404(*, workspace: Workspace, conversation_uuid: UUID | str) -> ContactSession:
    return get_scoped_or_404(
        ContactSession.objects.select_related("contact", "whatsapp_session", "assignee"),
        workspace,
        uuid=conversation_uuid,
    )


@dataclass(frozen=True)
class ThreadItem:
    """One line of a conversation's thread: a message, or an internal note."""

    at: datetime
    message: Chat | None = None
    note: ConversationNote | None = None


def conversation_thread(
    *, conversation: ContactSession, limit: int = CONVERSATION_PAGE_SIZE
) -> list[ThreadItem]:
    """The newest `limit` messages of the conversation and the notes among them, oldest first."""
    messages = list(
        Chat.objects.filter(
            contact_id=conversation.contact_id, whatsapp_session_id=conversation.whatsapp_session_id
        ).order_by("-created_at", "-id")[:limit]
    )
    oldest = messages[-1].created_at if len(messages) == limit else None
    notes = ConversationNote.objects.filter(conversation=conversation).select_related("author")
    if oldest is not None:
        notes = notes.filter(created_at__gte=oldest)
    items = [ThreadItem(at=m.created_at, message=m) for m in messages]
    items += [ThreadItem(at=n.created_at, note=n) for n in notes]
    return sorted(items, key=lambda item: item.at)


def last_inbound_number(*, contact_id: int) -> WhatsAppSession | None:
    """The number the customer last wrote to, over all their conversations."""
    last = (
        ContactSession.objects.filter(contact_id=contact_id, last_inbound_at__isnull=False)
        .select_related("whatsapp_session")
        .order_by("-last_inbound_at")
        .first()
    )
    return last.whatsapp_session if last else None


def reply_number_warning(
    *,
    conversation: ContactSession,
    sending_number: WhatsAppSession,
    last_inbound: WhatsAppSession | None = None,
) -> str | None:
    """A warning when a reply would leave from another number than the one the customer last
    wrote to (they would see it in another chat, from a number they may not know).
    `last_inbound`: that number, when the caller already read it."""
    last = last_inbound or last_inbound_number(contact_id=conversation.contact_id)
    if last is None or last.pk == sending_number.pk:
        return None
    return (
        f"The customer last wrote to {last.phone_number}; this reply leaves from "
        f"{sending_number.phone_number} and appears in another chat on their phone."
    )


def quick_replies_of(*, workspace: Workspace) -> QuerySet[QuickReply]:
    return scoped(QuickReply, workspace).order_by("shortcut")


def contact_footprint(*, contact: Contact) -> dict[str, int]:
    """What erasing `contact` would delete, for the confirmation page."""
    return {
        "messages": Chat.objects.filter(contact=contact).count(),
        "conversations": ContactSession.objects.filter(contact=contact).count(),
        "campaign_recipients": sum(
            relation.related_model._base_manager.filter(**{relation.field.name: contact}).count()
            for relation in Contact._meta.related_objects
            if relation.related_model._meta.label == "campaigns.CampaignLog"
        ),
    }


CONTACT_EXPORT_COLUMNS = (
    "phone",
    "name",
    "whatsapp_name",
    "whatsapp_id",
    "whatsapp_lid",
    "tags",
    "metadata",
    "created_at",
)


def contacts_export_rows(*, workspace: Workspace) -> Iterator[tuple[str, ...]]:
    """The header, then one row per contact, read in chunks (a big workspace never sits in memory)."""
    yield CONTACT_EXPORT_COLUMNS
    for contact in scoped(Contact, workspace).order_by("id").iterator(chunk_size=2000):
        yield (
            contact.phone_e164 or "",
            contact.name,
            contact.profile_name,
            contact.wa_id or "",
            contact.wa_lid or "",
            ", ".join(contact.tags),
            json.dumps(contact.metadata, ensure_ascii=False, sort_keys=True) if contact.metadata else "",
            contact.created_at.isoformat(),
        )


def contact_by_address(*, workspace: Workspace, address: str) -> Contact | None:
    """The workspace's contact for a phone typed in any format (or a WhatsApp id), or None."""
    text = (address or "").strip()
    if not text:
        return None
    contacts = scoped(Contact, workspace)
    found = contacts.filter(Q(wa_lid=text) | Q(wa_id=text)).first()
    if found is not None:
        return found
    try:
        return contacts.filter(phone=normalize_phone(text, region=workspace.phone_region)).first()
    except InvalidPhoneNumber:
        return None


# Media (issue 17): the worker's read of the inbound media it still has to fetch; defined with
# the rest of the media contract in messaging.services.media.
from messaging.services.media import media_fetches_due  # noqa: E402, F401
