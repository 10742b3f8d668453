"""Writes of webhook endpoints: create (with a new secret), update, rotate the secret, delete.
The UI, the API and the admin all call these."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import Workspace
from accounts.tenancy import scoped
from messaging.models import WebhookEndpoint
from messaging.webhook_signing import webhook_secret_generate
from messaging.webhooks.errors import WebhookEndpointQuotaExceeded, WebhookError
from messaging.webhooks.events import WEBHOOK_EVENT_TYPES
from messaging.webhooks.targets import webhook_url_check


def _clean_events(events: Iterable[str] | None) -> list[str]:
    events = list(dict.fromkeys(events or []))
    unknown = [e for e in events if e not in WEBHOOK_EVENT_TYPES]
    if unknown:
        raise WebhookError(
            f"Unknown event type(s): {', '.join(unknown)}. Known: {', '.join(WEBHOOK_EVENT_TYPES)}."
        )
    return events


def webhook_endpoint_create(
    *,
    workspace,
    url: str,
    events: Iterable[str] | None = None,
    is_active: bool = True,
    idempotency_key: str | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Creates an endpoint with a new `whsec_` secret and returns it with the secret (which
    the caller shows once; it is stored encrypted). An empty `events` list subscribes to
    every event type. Refuses with WebhookEndpointQuotaExceeded when the workspace already
    has BLAZZ_QUOTA_WEBHOOK_ENDPOINTS endpoints: each one is deliveries in flight on the
    shared webhook workers, so the count is bounded per tenant."""
    webhook_url_check(url)
    events = _clean_events(events)
    secret = webhook_secret_generate()
    with transaction.atomic():
        # Two creates at once must not both pass the count: they queue on the workspace's row.
        # (FOR NO KEY UPDATE: rows that merely reference the workspace are not held up.)
        Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).values_list("pk").first()
        _quota_check(workspace)
        endpoint = WebhookEndpoint.objects.create(
            workspace=workspace,
            url=url,
            events=events,
            is_active=is_active,
            secret=secret,
            idempotency_key=idempotency_key,
        )
    return endpoint, secret


def webhook_endpoint_quota(*, workspace) -> dict[str, int]:
    """What the UI and API show: endpoints used and allowed."""
    return {
        "used": scoped(WebhookEndpoint, workspace).count(),
        "limit": settings.BLAZZ_QUOTA_WEBHOOK_ENDPOINTS,
    }


def _quota_check(workspace) -> None:
    quota = webhook_endpoint_quota(workspace=workspace)
    if quota["used"] >= quota["limit"]:
        raise WebhookEndpointQuotaExceeded(
            f"This workspace has {quota['used']} webhook endpoints, the most allowed "
            f"({quota['limit']}). Delete one, or subscribe an existing endpoint to more events."
        )


def webhook_endpoint_create_idempotent(
    *, workspace, idempotency_key: str | None, **fields
) -> tuple[WebhookEndpoint, str | None, bool]:
    """`webhook_endpoint_create` for the API: returns (endpoint, secret, created). The same
    Idempotency-Key returns the first endpoint and creates nothing, with secret None: a
    secret is shown once, at create or rotate, never again (a replayed request, or anyone
    holding an old key and an old Idempotency-Key, must not read the secret in use). An
    integrator whose first answer was lost rotates the secret to learn a new one."""
    if idempotency_key is not None:
        existing = scoped(WebhookEndpoint, workspace).filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, None, False
    try:
        with transaction.atomic():
            endpoint, secret = webhook_endpoint_create(
                workspace=workspace, idempotency_key=idempotency_key, **fields
            )
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent request with the same key won the insert: answer with its endpoint.
        existing = WebhookEndpoint.objects.get(workspace=workspace, idempotency_key=idempotency_key)
        return existing, None, False
    return endpoint, secret, True


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: Iterable[str] | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    fields = []
    if url is not None and url != endpoint.url:
        webhook_url_check(url)
        endpoint.url = url
        fields.append("url")
    if events is not None:
        endpoint.events = _clean_events(events)
        fields.append("events")
    if is_active is not None and is_active != endpoint.is_active:
        endpoint.is_active = is_active
        endpoint.disabled_reason = "" if is_active else "Disabled by a user."
        fields += ["is_active", "disabled_reason"]
    if fields:
        endpoint.save(update_fields=fields)
    return endpoint


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret, effective for the next attempt (retries included). Returned here only
    (the caller shows it once); stored encrypted."""
    secret = webhook_secret_generate()
    endpoint.secret = secret
    endpoint.save(update_fields=["secret_encrypted"])
    return secret


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Deletes the endpoint and its outbox rows; an attempt in flight finds its row gone."""
    endpoint.delete()
