"""Writes of the shared inbox. Sending a reply is `messaging.services.chat_send` (the same
service the API and campaigns use); this module only holds the inbox's own state."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from messaging.models import Contact, ContactSession


def conversation_mark_read(*, contact: Contact) -> None:
    """Marks every message of the conversation so far as read, for the whole workspace (the
    inbox is shared). The mark only moves forward: two agents opening the conversation at
    once, or a stale tab, never make read messages unread again."""
    now = timezone.now()
    Contact.objects.filter(Q(inbox_read_at__isnull=True) | Q(inbox_read_at__lt=now), pk=contact.pk).update(
        inbox_read_at=now
    )
    contact.inbox_read_at = now
    # The per-contact page shows every number's messages: all its conversations are read.
    ContactSession.objects.filter(contact=contact, unread_count__gt=0).update(unread_count=0)
