"""Delivery from the outbox: claim a row by conditional update (so two workers never send
one delivery at once), POST it signed outside any transaction, then record the attempt.
2xx is delivered; network errors, timeouts, 429 and 5xx are retried on RETRY_SCHEDULE (with
jitter, honouring Retry-After); 410 disables the endpoint; any other answer is permanent;
after the last attempt the delivery is `dead`. A failed attempt only sets `next_attempt_at`,
and Beat's `deliver_webhooks_due` sweep sends it again when due (no long Celery countdowns).
Redelivery puts a dead, failed or delivered row back at the start of the schedule."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from messaging.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from messaging.webhook_signing import webhook_headers
from messaging.webhooks.errors import WebhookDeliveryNotRedeliverable, WebhookUrlRefused
from messaging.webhooks.targets import webhook_url_check

logger = logging.getLogger(__name__)

# Wait before retry n (after attempt n failed). 8 attempts in all over about 28 hours.
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.10
# A receiver's Retry-After is honoured when larger than our schedule, up to this.
MAX_RETRY_AFTER = timedelta(hours=24)
# A claimed row is `sending` until this lease passes; a worker that died mid-send leaves it
# for the sweep to claim again after the lease (longer than any request can take).
CLAIM_LEASE = timedelta(minutes=2)
CLAIMABLE = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED, WebhookDelivery.Status.SENDING)
REDELIVERABLE = (WebhookDelivery.Status.DEAD, WebhookDelivery.Status.FAILED, WebhookDelivery.Status.DELIVERED)
SWEEP_BATCH = 50
ENQUEUE_CHUNK = 50
SWEEP_THREADS = 10
ERROR_MAX_CHARS = 500


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """One task per delivery, or per chunk of a batch (hundreds of inbound messages times
    the endpoints): one broker round trip per chunk instead of per row."""
    from messaging.tasks import deliver_webhook, deliver_webhooks

    for start in range(0, len(delivery_ids), ENQUEUE_CHUNK):
        chunk = delivery_ids[start : start + ENQUEUE_CHUNK]
        try:
            if len(chunk) == 1:
                deliver_webhook.delay(chunk[0])
            else:
                deliver_webhooks.delay(chunk)
        except BrokerError:
            # The rows are committed and due: the Beat sweep sends them when the broker is back.
            logger.warning("webhook deliveries %s not enqueued (broker down); the sweep sends them", chunk)


@dataclass
class AttemptResult:
    status_code: int | None
    error: str
    duration_ms: int
    retry_after: timedelta | None = None
    # Network errors, timeouts, 429 and 5xx: worth another attempt later.
    transient: bool = False


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _http_client() -> httpx.Client:
    """One client (and connection pool) per process, made lazily so a forked worker child
    never shares its parent's sockets. Redirects are not followed: a moved endpoint must be
    re-registered, not silently chased (and a redirect could point inside the network)."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(
                follow_redirects=False,
                trust_env=False,
                headers={"user-agent": "Blazz-Webhooks/1.0", "content-type": "application/json"},
            )
        return _client


def webhook_body(delivery: WebhookDelivery) -> str:
    """The Standard Webhooks envelope; identical bytes on every attempt."""
    envelope = {
        "type": delivery.event_type,
        "timestamp": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def _parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.UTC)
    return max(when - now, timedelta(0))


def _send(delivery: WebhookDelivery) -> AttemptResult:
    """One POST. Never called inside a transaction: a slow receiver must not hold locks."""
    body = webhook_body(delivery)
    headers = webhook_headers(
        secret=delivery.endpoint.secret, msg_id=str(delivery.event_id), timestamp=int(time.time()), body=body
    )
    started = time.monotonic()
    try:
        response = _http_client().post(
            delivery.endpoint.url,
            content=body.encode(),
            headers=headers,
            timeout=settings.BLAZZ_WEBHOOK_TIMEOUT_SECONDS,
        )
    except httpx.TimeoutException as exc:
        return AttemptResult(None, f"Timeout: {type(exc).__name__}", _ms_since(started), transient=True)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]
        return AttemptResult(None, error, _ms_since(started), transient=True)
    error = ""
    if not response.is_success:
        error = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.is_redirect:
            error = (
                f"HTTP {response.status_code}: redirect to {response.headers.get('location')!r} not followed"
            )
    return AttemptResult(
        response.status_code,
        error[:ERROR_MAX_CHARS],
        _ms_since(started),
        _parse_retry_after(response.headers.get("retry-after"), timezone.now()),
        transient=response.status_code == 429 or response.status_code >= 500,
    )


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based), with ±10% jitter so a
    receiver that comes back is not hit by every queued delivery in the same second."""
    base = RETRY_SCHEDULE[attempt - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)  # nosec B311 # retry jitter, not security


def webhook_delivery_claim(*, delivery_id: int) -> WebhookDelivery | None:
    """Marks the delivery `sending` (attempts + 1, leased until now + CLAIM_LEASE) if it is
    due and not already claimed. Returns None when another worker got there first, the row
    is not due, or it is gone: that caller must not send."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=CLAIMABLE, next_attempt_at__lte=now
    ).update(
        status=WebhookDelivery.Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE
    )
    if claimed != 1:
        return None
    return WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()


def webhook_delivery_attempt(*, delivery_id: int) -> str | None:
    """Claims, sends and records one attempt. Returns the delivery's new status, or None if
    it was not claimed (not due, already in flight elsewhere, or deleted). Safe to run twice."""
    delivery = webhook_delivery_claim(delivery_id=delivery_id)
    if delivery is None:
        return None
    return _attempt_claimed(delivery)


def _attempt_claimed(delivery: WebhookDelivery) -> str | None:
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return _finish(delivery, AttemptResult(None, "Endpoint is disabled; not sent.", 0), record=False)
    try:
        webhook_url_check(endpoint.url)
    except WebhookUrlRefused as exc:
        return _finish(delivery, AttemptResult(None, f"Refused: {exc}", 0))
    return _finish(delivery, _send(delivery))


def _finish(delivery: WebhookDelivery, result: AttemptResult, *, record: bool = True) -> str | None:
    now = timezone.now()
    Status = WebhookDelivery.Status
    code = result.status_code
    disable_endpoint = False
    next_attempt_at = None
    delivered_at = None
    if code is not None and 200 <= code < 300:
        status = Status.DELIVERED
        delivered_at = now
    elif code == 410:
        # Gone: the receiver asks us to stop. The endpoint is switched off (F13: visible in the UI).
        status = Status.DEAD
        disable_endpoint = True
    elif result.transient:
        if delivery.attempts >= MAX_ATTEMPTS:
            status = Status.DEAD
        else:
            status = Status.FAILED
            wait = retry_delay(delivery.attempts)
            if result.retry_after is not None:
                wait = max(wait, min(result.retry_after, MAX_RETRY_AFTER))
            next_attempt_at = now + wait
    else:
        # Any other answer (4xx, 3xx) or a refused target: retrying will not help.
        status = Status.DEAD

    with transaction.atomic():
        # Only the claim this worker holds may be finished: if the lease ran out and another
        # worker re-claimed the row, its `attempts` moved on and this update touches nothing.
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=Status.SENDING, attempts=delivery.attempts
        ).update(
            status=status,
            next_attempt_at=next_attempt_at,
            last_status_code=code,
            last_error=result.error,
            delivered_at=delivered_at if delivered_at else F("delivered_at"),
        )
        if not updated:
            return None
        if record:
            WebhookAttempt.objects.create(
                delivery_id=delivery.pk,
                number=delivery.attempts,
                at=now,
                status_code=code,
                error=result.error,
                duration_ms=result.duration_ms,
            )
        if disable_endpoint:
            WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(
                is_active=False,
                disabled_reason=f"The receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC.",
            )
    return status


def webhook_deliveries_due(*, batch: int = SWEEP_BATCH, now: datetime | None = None) -> int:
    """Beat's sweep: claims up to `batch` due rows (retries, pending rows whose task was
    lost, sends whose worker died past the lease) under `select_for_update(skip_locked=True)`
    so parallel sweeps split the work, then sends them after commit on a small thread pool.
    Returns how many were sent."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(status__in=CLAIMABLE, next_attempt_at__lte=now).order_by(
        "next_attempt_at"
    )
    return _claim_and_send(due[:batch])


def webhook_deliveries_attempt(*, delivery_ids: list[int]) -> int:
    """Sends these deliveries (a chunk of one batch of events) on a small thread pool. Rows
    another worker claimed, or that are no longer due, are skipped: a duplicate task sends
    nothing twice. Returns how many were sent."""
    due = WebhookDelivery.objects.filter(
        id__in=delivery_ids, status__in=CLAIMABLE, next_attempt_at__lte=timezone.now()
    ).order_by("id")
    return _claim_and_send(due)


def _claim_and_send(candidates) -> int:
    with transaction.atomic():
        ids = list(candidates.select_for_update(skip_locked=True).values_list("id", flat=True))
        if not ids:
            return 0
        WebhookDelivery.objects.filter(id__in=ids).update(
            status=WebhookDelivery.Status.SENDING,
            attempts=F("attempts") + 1,
            next_attempt_at=timezone.now() + CLAIM_LEASE,
        )
    deliveries = list(WebhookDelivery.objects.select_related("endpoint").filter(id__in=ids))
    with ThreadPoolExecutor(max_workers=min(SWEEP_THREADS, len(deliveries))) as pool:
        list(pool.map(_attempt_claimed_closing, deliveries))
    return len(deliveries)


def _attempt_claimed_closing(delivery: WebhookDelivery) -> str | None:
    from django.db import connection

    try:
        return _attempt_claimed(delivery)
    finally:
        connection.close()  # each pool thread opened its own connection


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends a dead, failed or delivered delivery again with the same `webhook-id` (so the
    receiver can deduplicate) and a fresh retry schedule; enqueued after commit."""
    if not delivery.endpoint.is_active:
        raise WebhookDeliveryNotRedeliverable("The endpoint is disabled; enable it before redelivering.")
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=delivery.pk, status__in=REDELIVERABLE).update(
            status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
        )
        if not updated:
            raise WebhookDeliveryNotRedeliverable("This delivery is already queued or being sent.")
        transaction.on_commit(lambda: deliveries_enqueue([delivery.pk]))
    delivery.refresh_from_db()
    return delivery
