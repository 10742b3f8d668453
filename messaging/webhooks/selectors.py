"""Reads of endpoints and their deliveries, scoped to the caller's workspace."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.tenancy import get_scoped_or_404, scoped
from messaging.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def webhook_endpoints_of_workspace(*, workspace) -> QuerySet[WebhookEndpoint]:
    return scoped(WebhookEndpoint, workspace).order_by("-created_at")


def webhook_endpoint_get_or_404(*, workspace, webhook_uuid) -> WebhookEndpoint:
    return get_scoped_or_404(WebhookEndpoint, workspace, uuid=webhook_uuid)


def webhook_deliveries_of_endpoint(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return (
        endpoint.deliveries.order_by("-created_at", "-id")
        .select_related("endpoint")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("at", "id")))
    )


def webhook_delivery_get_or_404(*, endpoint: WebhookEndpoint, delivery_id) -> WebhookDelivery:
    return get_scoped_or_404(
        WebhookDelivery.objects.filter(endpoint=endpoint), endpoint.workspace_id, id=delivery_id
    )


def webhook_recent_failures(*, endpoint: WebhookEndpoint, limit: int = 5) -> list[WebhookDelivery]:
    """F13: what the UI shows next to an endpoint so a misrouted webhook is noticed."""
    return list(
        endpoint.deliveries.filter(
            status__in=[WebhookDelivery.Status.FAILED, WebhookDelivery.Status.DEAD]
        ).order_by("-created_at", "-id")[:limit]
    )
