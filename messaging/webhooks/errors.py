"""The refusals of the webhook services; each message is written for the user."""

from __future__ import annotations


class WebhookError(Exception):
    """A refusal whose message is written for the user (the API's `detail`, the UI's error)."""


class WebhookUrlRefused(WebhookError):
    pass


class WebhookDeliveryNotRedeliverable(WebhookError):
    pass


class WebhookEndpointQuotaExceeded(WebhookError):
    """The workspace has as many endpoints as BLAZZ_QUOTA_WEBHOOK_ENDPOINTS allows."""
