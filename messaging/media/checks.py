"""System checks of the media settings (F13: a detectable misconfiguration is a
`manage.py check` error, not a surprise when the first photo arrives)."""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, register

S3_SETTINGS = (
    "BLAZZ_MEDIA_S3_BUCKET",
    "BLAZZ_MEDIA_S3_ENDPOINT_URL",
    "BLAZZ_MEDIA_S3_REGION",
    "BLAZZ_MEDIA_S3_ACCESS_KEY_ID",
    "BLAZZ_MEDIA_S3_SECRET_ACCESS_KEY",
)


def _is_http_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


@register()
def check_media_settings(app_configs, **kwargs) -> list[Error]:
    errors = []
    given = [name for name in S3_SETTINGS if getattr(settings, name, "")]
    if given and not settings.BLAZZ_MEDIA_S3_BUCKET:
        errors.append(
            Error(
                f"{', '.join(given)} set without BLAZZ_MEDIA_S3_BUCKET: media would silently go to the "
                "filesystem instead of S3.",
                hint="Set BLAZZ_MEDIA_S3_BUCKET, or unset every BLAZZ_MEDIA_S3_* setting.",
                id="messaging.E010",
            )
        )
    if bool(settings.BLAZZ_MEDIA_S3_ACCESS_KEY_ID) != bool(settings.BLAZZ_MEDIA_S3_SECRET_ACCESS_KEY):
        errors.append(
            Error(
                "BLAZZ_MEDIA_S3_ACCESS_KEY_ID and BLAZZ_MEDIA_S3_SECRET_ACCESS_KEY go together: one is set, "
                "the other is not.",
                hint="Set both, or neither to use boto3's own credentials (an instance role, ~/.aws).",
                id="messaging.E011",
            )
        )
    endpoint = settings.BLAZZ_MEDIA_S3_ENDPOINT_URL
    if endpoint and not _is_http_url(endpoint):
        errors.append(
            Error(f"BLAZZ_MEDIA_S3_ENDPOINT_URL={endpoint!r} is not an http(s) URL.", id="messaging.E012")
        )
    if not _is_http_url(settings.BLAZZ_PUBLIC_URL):
        errors.append(
            Error(
                f"BLAZZ_PUBLIC_URL={settings.BLAZZ_PUBLIC_URL!r} is not an http(s) URL: webhooks could not "
                "link to media.",
                id="messaging.E013",
            )
        )
    for name in (
        "BLAZZ_MEDIA_MAX_IMAGE_BYTES",
        "BLAZZ_MEDIA_MAX_VIDEO_BYTES",
        "BLAZZ_MEDIA_MAX_AUDIO_BYTES",
        "BLAZZ_MEDIA_MAX_DOCUMENT_BYTES",
        "BLAZZ_MEDIA_MAX_STICKER_BYTES",
        "BLAZZ_MEDIA_LINK_LIFETIME_S",
        "BLAZZ_MEDIA_FETCH_MAX_ATTEMPTS",
        "BLAZZ_MEDIA_THUMBNAIL_PX",
        "BLAZZ_MEDIA_MAX_IMAGE_PIXELS",
    ):
        if getattr(settings, name) < 1:
            errors.append(Error(f"{name} must be at least 1.", id="messaging.E014"))
    if settings.BLAZZ_MEDIA_WORKSPACE_QUOTA_BYTES < 0:
        errors.append(
            Error("BLAZZ_MEDIA_WORKSPACE_QUOTA_BYTES must be 0 (no limit) or more.", id="messaging.E015")
        )
    return errors
