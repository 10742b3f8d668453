"""Template helpers of the inbox's media messages (issue 17): `{% chat_media m %}` renders a
message's photo, player, download, location or contact card; `{{ c|conversation_preview }}`
is the conversation list's line for the newest message."""

from __future__ import annotations

from typing import Any

from django import template

from messaging.inbox_media import chat_media_view, media_preview

register = template.Library()


@register.inclusion_tag("messaging/_media.html")
def chat_media(chat) -> dict[str, Any]:
    return {"media": chat_media_view(chat), "chat": chat}


@register.filter
def conversation_preview(conversation) -> str:
    """`last_body`, or a media message's icon and label (needs the `last_media` annotation of
    messaging.inbox_media.conversations_with_last_media; without it, the body only)."""
    return media_preview(getattr(conversation, "last_media", None), conversation.last_body or "")
