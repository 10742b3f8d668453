"""Signed, expiring links to media bytes that need no API key (webhooks, the inbox):
django.core.signing with a salt of their own and a timestamp checked against
BLAZZ_MEDIA_LINK_LIFETIME_S."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing
from django.urls import reverse

LINK_SALT = "blazz.media.link"


def media_token(*, file_uuid: uuid.UUID | str, thumbnail: bool = False) -> str:
    return signing.dumps({"f": str(file_uuid), "t": 1 if thumbnail else 0}, salt=LINK_SALT)


def media_token_read(token: str) -> tuple[uuid.UUID, bool] | None:
    """(file uuid, thumbnail) for a valid, unexpired token; None for anything else."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=settings.BLAZZ_MEDIA_LINK_LIFETIME_S)
        return uuid.UUID(str(data["f"])), bool(data.get("t"))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def media_signed_path(*, file_uuid: uuid.UUID | str, thumbnail: bool = False) -> str:
    return reverse("media-signed", kwargs={"token": media_token(file_uuid=file_uuid, thumbnail=thumbnail)})


def absolute(path: str) -> str:
    return settings.BLAZZ_PUBLIC_URL + path
