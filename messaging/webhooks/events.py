"""Recording events into the outbox: a service that makes an event calls
`webhook_events_record` inside its own transaction, and the deliveries it writes are
enqueued only once that transaction commits."""

from __future__ import annotations

import json
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from messaging.models import WebhookDelivery, WebhookEndpoint
from messaging.webhooks.delivery import deliveries_enqueue

WEBHOOK_EVENT_TYPES = (
    "message.received",
    "message.sent",
    "message.ack",
    "message.failed",
    # The bytes of an inbound media message arrived after the message (issue 17).
    "media.ready",
    "session.status",
    "session.qr",
    "session.failed",
)


def webhook_events_record(*, workspace_id: int, event_type: str, payload: dict) -> list[int]:
    """One event; see webhook_events_record_many."""
    return webhook_events_record_many(workspace_id=workspace_id, event_type=event_type, payloads=[payload])


def webhook_events_record_many(*, workspace_id: int, event_type: str, payloads: list[dict]) -> list[int]:
    """Inside the caller's transaction: one pending delivery per active endpoint of the
    workspace subscribed to `event_type` (an empty `events` list means all), each enqueued
    for delivery only once the transaction commits (a rolled-back event is never sent).
    One query for the endpoints and one insert for all ``payloads`` (a batch of inbound
    messages costs the same two round trips as one). Returns the delivery ids."""
    if event_type not in WEBHOOK_EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    endpoint_ids = list(
        WebhookEndpoint.objects.filter(workspace_id=workspace_id, is_active=True)
        .filter(Q(events=[]) | Q(events__contains=[event_type]))
        .values_list("id", flat=True)
    )
    if not endpoint_ids:
        return []
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event_id=uuid.uuid4(),
            event_type=event_type,
            payload=data,
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=now,
        )
        # Datetimes, UUIDs and decimals become strings now, so the row holds exactly what is sent.
        for data in (json.loads(json.dumps(payload, cls=DjangoJSONEncoder)) for payload in payloads)
        for endpoint_id in endpoint_ids
    )
    ids = [d.id for d in deliveries]
    transaction.on_commit(lambda: deliveries_enqueue(ids))
    return ids


ERASED_PAYLOAD = {"erased": True}


def webhook_payloads_erase_contact(*, workspace_id: int, contact_uuid: str) -> dict[str, int]:
    """For an erasure request: the outbox forgets what it holds about the contact. Events
    not yet delivered are dropped (never sent after the erasure); the rows of delivered or
    dead ones stay for the endpoint's history with their payload replaced. Precondition:
    inside the caller's transaction (the erasure's), so it is all or nothing."""
    naming = WebhookDelivery.objects.filter(
        endpoint__workspace_id=workspace_id, payload__contact__uuid=str(contact_uuid)
    )
    kept = (WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.DEAD)
    dropped, _ = naming.exclude(status__in=kept).delete()
    redacted = naming.filter(status__in=kept).update(payload=ERASED_PAYLOAD)
    return {"dropped": dropped, "redacted": redacted}
