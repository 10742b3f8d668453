"""Integrator webhooks (DESIGN F5): a transactional outbox with signed deliveries, retries
with backoff, a dead-letter state and manual redelivery.

Flow: a service that makes an event calls `webhook_events_record` inside its own transaction;
that writes one `WebhookDelivery` per subscribed endpoint and, on commit, enqueues
`deliver_webhook(delivery_id)`. Delivery claims the row by conditional update (so two workers
never send one delivery at once), POSTs outside any transaction, then records the attempt. A
failed attempt only sets `next_attempt_at`; Beat's `deliver_webhooks_due` sweep sends it
again when due (no long Celery countdowns).

The package, by seam:
- `events`: the event types and recording events into the outbox;
- `delivery`: claiming, sending (HTTP, signing), the retry schedule, Retry-After, 410, dead,
  the Beat sweep and redelivery;
- `targets`: the SSRF guard on endpoint URLs (resolve once, check every address);
- `transport`: the httpx transport that connects only to the checked addresses;
- `endpoints` / `selectors`: writes and reads of endpoints and their deliveries;
- `errors`: the refusals.

The UI, the API and the admin all call the services re-exported here; import from
`messaging.webhooks`. To patch something in a test, patch it in the module that uses it
(e.g. `messaging.webhooks.delivery._send`), not here."""

from messaging.webhooks.delivery import (
    CLAIM_LEASE,
    CLAIMABLE,
    ERROR_MAX_CHARS,
    JITTER,
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    REDELIVERABLE,
    RETRY_SCHEDULE,
    SWEEP_BATCH,
    AttemptResult,
    retry_delay,
    webhook_body,
    webhook_deliveries_attempt,
    webhook_deliveries_due,
    webhook_delivery_attempt,
    webhook_delivery_claim,
    webhook_delivery_redeliver,
)
from messaging.webhooks.endpoints import (
    webhook_endpoint_create,
    webhook_endpoint_create_idempotent,
    webhook_endpoint_delete,
    webhook_endpoint_quota,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from messaging.webhooks.errors import (
    WebhookDeliveryNotRedeliverable,
    WebhookEndpointQuotaExceeded,
    WebhookError,
    WebhookUrlRefused,
)
from messaging.webhooks.events import (
    WEBHOOK_EVENT_TYPES,
    webhook_events_record,
    webhook_events_record_many,
    webhook_payloads_erase_contact,
)
from messaging.webhooks.selectors import (
    webhook_deliveries_of_endpoint,
    webhook_delivery_get_or_404,
    webhook_endpoint_get_or_404,
    webhook_endpoints_of_workspace,
    webhook_recent_failures,
)
from messaging.webhooks.targets import webhook_url_check

__all__ = [
    "CLAIMABLE",
    "CLAIM_LEASE",
    "ERROR_MAX_CHARS",
    "JITTER",
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "REDELIVERABLE",
    "RETRY_SCHEDULE",
    "SWEEP_BATCH",
    "WEBHOOK_EVENT_TYPES",
    "AttemptResult",
    "WebhookDeliveryNotRedeliverable",
    "WebhookEndpointQuotaExceeded",
    "WebhookError",
    "WebhookUrlRefused",
    "retry_delay",
    "webhook_body",
    "webhook_deliveries_attempt",
    "webhook_deliveries_due",
    "webhook_deliveries_of_endpoint",
    "webhook_delivery_attempt",
    "webhook_delivery_claim",
    "webhook_delivery_get_or_404",
    "webhook_delivery_redeliver",
    "webhook_endpoint_create",
    "webhook_endpoint_create_idempotent",
    "webhook_endpoint_delete",
    "webhook_endpoint_get_or_404",
    "webhook_endpoint_quota",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_update",
    "webhook_endpoints_of_workspace",
    "webhook_events_record",
    "webhook_events_record_many",
    "webhook_payloads_erase_contact",
    "webhook_recent_failures",
    "webhook_url_check",
]
