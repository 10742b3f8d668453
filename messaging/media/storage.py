"""The media storage: Django's storage API under the STORAGES alias "blazz_media" (the
filesystem under BLAZZ_MEDIA_ROOT, or an S3-compatible bucket through django-storages)."""

from __future__ import annotations

from django.core.files.storage import Storage, storages

MEDIA_STORAGE_ALIAS = "blazz_media"


def media_storage() -> Storage:
    # Looked up on every call, not kept in a module global: tests (and settings overrides)
    # swap STORAGES and Django resets its cache of storages when they do.
    return storages[MEDIA_STORAGE_ALIAS]


def media_storage_name(*, workspace_uuid: object, sha256: str) -> str:
    """Content-addressed: one name per workspace and content, fanned out by the first two
    hex digits so no directory holds every file."""
    return f"{workspace_uuid}/{sha256[:2]}/{sha256}"


def media_thumbnail_name(storage_name: str) -> str:
    return f"{storage_name}.thumb.jpg"
