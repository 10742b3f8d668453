"""Delivery from the outbox: claim a row by conditional update (so two workers never send
one delivery at once), POST it signed outside any transaction, then record the attempt.
2xx is delivered; network errors, timeouts, 429 and 5xx are retried on RETRY_SCHEDULE (with
jitter, honouring Retry-After); 410 disables the endpoint; any other answer is permanent;
after the last attempt the delivery is `dead`. A failed attempt only sets `next_attempt_at`,
and Beat's `deliver_webhooks_due` sweep sends it again when due (no long Celery countdowns).
Redelivery puts a dead, failed or delivered row back at the start of the schedule.

Isolation (issue 16): one tenant's slow or failing receiver must not hold up the others.
- Deliveries run on their own `webhooks` queue and worker pool (Procfile `webhooks:`), never
  in the pool that runs the campaigns tick and maintenance.
- A per-endpoint concurrency limit (BLAZZ_WEBHOOK_ENDPOINT_CONCURRENCY): a claim counts the
  endpoint's deliveries in flight under a lock on the endpoint row and claims only what fits.
  A delivery that does not fit stays due, untouched (no attempt spent), for the Beat sweep.
- A circuit breaker per endpoint: after BLAZZ_WEBHOOK_CIRCUIT_FAILURES failed attempts in a
  row (network error, timeout, 429, 5xx) the endpoint is open until now +
  BLAZZ_WEBHOOK_CIRCUIT_OPEN_SECONDS: none of its deliveries is claimed (and none spends an
  attempt) until then, then one at a time (half open) until one succeeds.
- A short connect timeout (BLAZZ_WEBHOOK_CONNECT_TIMEOUT_SECONDS) apart from the read timeout,
  and a deadline for the whole attempt (BLAZZ_WEBHOOK_DEADLINE_SECONDS, shorter than the claim
  lease), so a receiver that answers a byte at a time cannot hold a thread for ever.

SSRF: the URL's host is resolved once per attempt, every address checked
(`targets.webhook_target_resolve`) and the connection made to a checked address only
(`transport.PinnedTransport`); redirects are never followed. What a receiver answers is
never shown to the tenant: `last_error` is a status code and a fixed reason.

Lock order: an endpoint row before its delivery rows (claims and `_finish` both), so a claim
and the recording of an attempt on the same endpoint cannot deadlock."""

from __future__ import annotations

import json
import logging
import random
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from blazz.encryption import InvalidToken
from messaging.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from messaging.webhook_signing import webhook_headers
from messaging.webhooks.errors import WebhookDeliveryNotRedeliverable, WebhookUrlRefused
from messaging.webhooks.targets import webhook_target_resolve
from messaging.webhooks.transport import PinnedTransport, pinned_to

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
# for the sweep to claim again after the lease (longer than any request can take: see
# BLAZZ_WEBHOOK_DEADLINE_SECONDS, refused by a check when not shorter).
CLAIM_LEASE = timedelta(minutes=2)
CLAIMABLE = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED, WebhookDelivery.Status.SENDING)
REDELIVERABLE = (WebhookDelivery.Status.DEAD, WebhookDelivery.Status.FAILED, WebhookDelivery.Status.DELIVERED)
SWEEP_BATCH = 50
ENQUEUE_CHUNK = 50
ERROR_MAX_CHARS = 500
# How many endpoints one sweep looks at: each gets at most its free concurrency slots, so a
# backlog on one endpoint cannot fill the sweep and starve the others.
SWEEP_ENDPOINTS = 50
# How long a slot goes on with an endpoint's next due deliveries after the one it was given.
DRAIN_SECONDS = 30


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
    never shares its parent's sockets. It connects only to pinned, checked addresses
    (PinnedTransport). Redirects are not followed: a moved endpoint must be re-registered,
    not silently chased (and a redirect could point inside the network). The pool has no
    connection cap of its own: concurrency is bounded per endpoint by the claims, and a
    shared cap would let one tenant's hanging requests queue everyone else's."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(
                transport=PinnedTransport(
                    limits=httpx.Limits(max_connections=None, max_keepalive_connections=50)
                ),
                follow_redirects=False,
                trust_env=False,
                headers={"user-agent": "Blazz-Webhooks/1.0", "content-type": "application/json"},
            )
        return _client


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        settings.BLAZZ_WEBHOOK_TIMEOUT_SECONDS, connect=settings.BLAZZ_WEBHOOK_CONNECT_TIMEOUT_SECONDS
    )


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


def _network_failure_reason(exc: httpx.HTTPError) -> str:
    """A fixed reason for a failed connection. Exception texts are not shown: they can carry
    what the other side sent (a TLS alert, a certificate's names, a malformed status line)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "Timeout: the receiver did not accept the connection in time."
    if isinstance(exc, httpx.TimeoutException):
        return "Timeout: the receiver did not answer in time."
    cause = exc.__cause__ or exc.__context__
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return "TLS error: the receiver's certificate is not valid for this host."
    if isinstance(cause, ssl.SSLError):
        return "TLS error: the TLS handshake with the receiver failed."
    if isinstance(exc, httpx.ConnectError):
        return "Connection failed: the receiver refused or could not be reached."
    if isinstance(exc, httpx.RemoteProtocolError):
        return "Protocol error: the receiver's answer was not valid HTTP."
    return "Connection failed: the connection to the receiver broke."


def _send(delivery: WebhookDelivery) -> AttemptResult:
    """One POST. Never called inside a transaction: a slow receiver must not hold locks.
    The host is resolved here, once; every address checked; the connection made to one of
    them (never to a second resolution). Only the status line and headers are read: the
    body is never read, stored or shown."""
    started = time.monotonic()
    try:
        target = webhook_target_resolve(delivery.endpoint.url)
    except WebhookUrlRefused as exc:
        return AttemptResult(None, f"Refused: {exc}"[:ERROR_MAX_CHARS], _ms_since(started))
    body = webhook_body(delivery)
    try:
        secret = delivery.endpoint.secret
    except InvalidToken:
        # The key that encrypted it is no longer in BLAZZ_SNAPSHOT_KEYS: an operator's mistake,
        # retried on the schedule so the deliveries go out once the key is back.
        logger.error(
            "webhook endpoint %s: its secret opens with none of BLAZZ_SNAPSHOT_KEYS", delivery.endpoint_id
        )
        return AttemptResult(
            None, "Not sent: the signing secret cannot be read (server configuration).", 0, transient=True
        )
    headers = webhook_headers(
        secret=secret, msg_id=str(delivery.event_id), timestamp=int(time.time()), body=body
    )
    deadline = time.monotonic() + settings.BLAZZ_WEBHOOK_DEADLINE_SECONDS
    try:
        with pinned_to(target, deadline=deadline):
            with _http_client().stream(
                "POST", delivery.endpoint.url, content=body.encode(), headers=headers, timeout=_timeout()
            ) as response:
                code = response.status_code
                retry_after = response.headers.get("retry-after")
    except httpx.HTTPError as exc:
        # The detail stays in the operator's log; the tenant gets a fixed reason.
        logger.info("webhook delivery %s: %s: %s", delivery.pk, type(exc).__name__, exc)
        return AttemptResult(None, _network_failure_reason(exc), _ms_since(started), transient=True)
    return AttemptResult(
        code,
        _status_reason(code),
        _ms_since(started),
        _parse_retry_after(retry_after, timezone.now()),
        transient=code == 429 or code >= 500,
    )


def _status_reason(code: int) -> str:
    """The fixed text recorded for an answer: the status code and why it is not delivered."""
    if 200 <= code < 300:
        return ""
    if 300 <= code < 400:
        return f"HTTP {code} from receiver: redirects are not followed (register the final URL)."
    return f"HTTP {code} from receiver."


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based), with ±10% jitter so a
    receiver that comes back is not hit by every queued delivery in the same second."""
    base = RETRY_SCHEDULE[attempt - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)  # nosec B311 # retry jitter, not security


def _endpoint_claim(
    *, endpoint_id: int, candidate_ids: Iterable[int] | None, now: datetime, most: int | None = None
) -> list[int]:
    """Claims due deliveries of one endpoint (among `candidate_ids`, or any when None), as
    many as its concurrency limit leaves free, oldest due first, and returns their ids. Each
    claimed row is `sending`, attempts + 1, leased until now + CLAIM_LEASE.

    Takes the endpoint's row lock (FOR NO KEY UPDATE) first, so two claims for one endpoint count
    its in-flight deliveries one after the other and never both take the last slot; then the
    delivery rows (FOR UPDATE SKIP LOCKED). A `sending` row whose lease ran out is not in
    flight (its worker died) and may be claimed again. An endpoint whose circuit is open
    gets nothing: its deliveries stay due, with no attempt spent, until the circuit closes.
    At most `most` rows when given."""
    with transaction.atomic():
        # FOR NO KEY UPDATE: serialises claims (and `_finish`'s update) of this endpoint
        # without blocking the inserts of new deliveries, which only share its key.
        endpoint = (
            WebhookEndpoint.objects.select_for_update(no_key=True)
            .filter(pk=endpoint_id)
            .values("consecutive_failures", "circuit_open_until")
            .first()
        )
        if endpoint is None:
            return []
        if endpoint["circuit_open_until"] is not None and endpoint["circuit_open_until"] > now:
            return []
        limit = settings.BLAZZ_WEBHOOK_ENDPOINT_CONCURRENCY
        if endpoint["consecutive_failures"] >= settings.BLAZZ_WEBHOOK_CIRCUIT_FAILURES:
            limit = 1  # half open: one probe until an attempt succeeds
        Status = WebhookDelivery.Status
        in_flight = WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, status=Status.SENDING, next_attempt_at__gt=now
        ).count()
        free = limit - in_flight
        if most is not None:
            free = min(free, most)
        if free <= 0:
            return []
        due = WebhookDelivery.objects.filter(endpoint_id=endpoint_id, next_attempt_at__lte=now).filter(
            status__in=CLAIMABLE
        )
        if candidate_ids is not None:
            due = due.filter(id__in=list(candidate_ids))
        ids = list(
            due.order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:free]
        )
        if ids:
            WebhookDelivery.objects.filter(id__in=ids).update(
                status=Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + CLAIM_LEASE
            )
    return ids


def webhook_delivery_claim(*, delivery_id: int) -> WebhookDelivery | None:
    """Marks the delivery `sending` (attempts + 1, leased until now + CLAIM_LEASE) if it is
    due, not already claimed, and its endpoint has a free slot and a closed circuit. Returns
    None when another worker got there first, the row is not due or must wait its turn, or
    it is gone: that caller must not send (a row left due is the sweep's)."""
    endpoint_id = WebhookDelivery.objects.filter(pk=delivery_id).values_list("endpoint_id", flat=True).first()
    if endpoint_id is None:
        return None
    if not _endpoint_claim(endpoint_id=endpoint_id, candidate_ids=[delivery_id], now=timezone.now()):
        return None
    return WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()


def webhook_delivery_attempt(*, delivery_id: int, drain: bool = False) -> str | None:
    """Claims, sends and records one attempt. Returns the delivery's new status, or None if
    it was not claimed (not due, already in flight elsewhere, its endpoint busy or backed
    off, or deleted). Safe to run twice. With `drain`, the slot then goes on with the
    endpoint's other due deliveries (see `_drain`)."""
    delivery = webhook_delivery_claim(delivery_id=delivery_id)
    if delivery is None:
        return None
    status = _attempt_claimed(delivery)
    if drain:
        _drain(delivery.endpoint_id)
    return status


def _drain(endpoint_id: int) -> int:
    """Keeps one concurrency slot of the endpoint busy: claims its next due delivery and
    sends it, until none is due, the circuit opens, the slot is taken, or DRAIN_SECONDS
    pass. Without it a burst (an inbound batch times an endpoint) that found the slots
    taken would wait for the sweep, a few deliveries per sweep. Returns how many it sent."""
    sent = 0
    stop_at = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < stop_at:
        ids = _endpoint_claim(endpoint_id=endpoint_id, candidate_ids=None, now=timezone.now(), most=1)
        if not ids:
            break
        delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=ids[0]).first()
        if delivery is None:
            break
        _attempt_claimed(delivery)
        sent += 1
    return sent


def _attempt_claimed(delivery: WebhookDelivery) -> str | None:
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return _finish(delivery, AttemptResult(None, "Endpoint is disabled; not sent.", 0), record=False)
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
        # The endpoint first (the lock order of `_endpoint_claim`), then the delivery.
        _circuit_record(endpoint_id=delivery.endpoint_id, result=result, now=now)
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


def _circuit_record(*, endpoint_id: int, result: AttemptResult, now: datetime) -> None:
    """The circuit breaker's bookkeeping for one attempt: a delivered answer closes the
    circuit; a transient failure counts, and the one that reaches the threshold (or any
    failure past it, in half open) opens the circuit for BLAZZ_WEBHOOK_CIRCUIT_OPEN_SECONDS.
    Other answers (4xx: the receiver is up and answering) leave it as it is."""
    code = result.status_code
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id)
    if code is not None and 200 <= code < 300:
        endpoint.filter(Q(consecutive_failures__gt=0) | Q(circuit_open_until__isnull=False)).update(
            consecutive_failures=0, circuit_open_until=None
        )
    elif result.transient:
        open_until = now + timedelta(seconds=settings.BLAZZ_WEBHOOK_CIRCUIT_OPEN_SECONDS)
        endpoint.update(
            consecutive_failures=F("consecutive_failures") + 1,
            # SET sees the row before the update: reaching the threshold with this failure.
            circuit_open_until=Case(
                When(
                    consecutive_failures__gte=settings.BLAZZ_WEBHOOK_CIRCUIT_FAILURES - 1,
                    then=Value(open_until),
                ),
                default=F("circuit_open_until"),
            ),
        )


def _due_endpoint_ids(*, now: datetime, limit: int) -> list[int]:
    """Endpoints with a due delivery and a closed (or half-open) circuit, the longest waiting
    first. One row per endpoint, so a backlog on one cannot hide the others from the sweep."""
    due = WebhookDelivery.objects.filter(
        endpoint=OuterRef("pk"), status__in=CLAIMABLE, next_attempt_at__lte=now
    )
    oldest_due = Subquery(due.order_by("next_attempt_at").values("next_attempt_at")[:1])
    return list(
        WebhookEndpoint.objects.filter(Exists(due))
        .exclude(circuit_open_until__gt=now)
        .annotate(oldest_due=oldest_due)
        .order_by("oldest_due", "id")
        .values_list("id", flat=True)[:limit]
    )


def webhook_deliveries_due(*, batch: int = SWEEP_BATCH, now: datetime | None = None) -> int:
    """Beat's sweep: for up to SWEEP_ENDPOINTS endpoints with due rows (retries, pending rows
    whose task was lost or that waited for a free slot, sends whose worker died past the
    lease), claims what each endpoint's concurrency limit allows, at most `batch` in all,
    then sends them on a thread pool, each slot draining its endpoint. Returns how many
    were sent."""
    now = now or timezone.now()
    claimed: list[int] = []
    for endpoint_id in _due_endpoint_ids(now=now, limit=SWEEP_ENDPOINTS):
        if len(claimed) >= batch:
            break
        claimed += _endpoint_claim(endpoint_id=endpoint_id, candidate_ids=None, now=now)[
            : batch - len(claimed)
        ]
    return _send_claimed(claimed)


def webhook_deliveries_attempt(*, delivery_ids: list[int]) -> int:
    """Sends these deliveries (a chunk of one batch of events) on a thread pool, as many per
    endpoint as its concurrency limit allows, each slot then draining its endpoint. Rows
    another worker claimed, that are no longer due, or that must wait for a free slot are
    left to the slot that holds it, or the sweep: a duplicate task sends nothing twice.
    Returns how many were sent."""
    now = timezone.now()
    by_endpoint: dict[int, list[int]] = defaultdict(list)
    for delivery_id, endpoint_id in WebhookDelivery.objects.filter(id__in=delivery_ids).values_list(
        "id", "endpoint_id"
    ):
        by_endpoint[endpoint_id].append(delivery_id)
    claimed: list[int] = []
    for endpoint_id, ids in sorted(by_endpoint.items()):
        claimed += _endpoint_claim(endpoint_id=endpoint_id, candidate_ids=ids, now=now)
    return _send_claimed(claimed)


def _send_claimed(ids: list[int]) -> int:
    if not ids:
        return 0
    deliveries = list(WebhookDelivery.objects.select_related("endpoint").filter(id__in=ids))
    # One thread per claimed delivery (at most a batch): a delivery waiting for a thread
    # behind another endpoint's hanging request would be held up by it.
    with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
        return sum(pool.map(_attempt_and_drain_closing, deliveries))


def _attempt_and_drain_closing(delivery: WebhookDelivery) -> int:
    """One claimed delivery, then its slot drains the endpoint. Returns how many were sent."""
    from django.db import connection

    try:
        _attempt_claimed(delivery)
        return 1 + _drain(delivery.endpoint_id)
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
