"""Writes of the shared inbox. Sending a reply is `messaging.services.chat_send` (the same
service the API and campaigns use); this module only holds the inbox's own state."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from messaging.models import Contact


def conversation_mark_read(*, contact: Contact) -> None:
    """Marks every message of the conversation so far as read, for the whole workspace (the
    inbox is shared). The mark only moves forward: two agents opening the conversation at
    once, or a stale tab, never make read messages unread again."""
    now = timezone.now()
    Contact.objects.filter(Q(inbox_read_at__isnull=True) | Q(inbox_read_at__lt=now), pk=contact.pk).update(
        inbox_read_at=now
    )
    contact.inbox_read_at = now
