"""One tenant's slow or failing receiver does not hold up the others (issue 16): at most
BLAZZ_WEBHOOK_ENDPOINT_CONCURRENCY deliveries of an endpoint in flight (claimed under a lock
on the endpoint row, so racing workers cannot exceed it), a circuit breaker that backs a
failing endpoint off without spending its deliveries' attempts or touching other endpoints,
and a sweep that gives every endpoint its turn."""

import itertools
import socket
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from messaging.models import WebhookDelivery, WebhookEndpoint
from messaging.webhooks import (
    webhook_deliveries_attempt,
    webhook_deliveries_due,
    webhook_delivery_attempt,
    webhook_endpoint_create,
    webhook_events_record,
)
from tests.concurrency import run_at_once
from tests.messaging.webhook_receiver import Receiver, Reply

Status = WebhookDelivery.Status


def record(workspace, count: int = 1) -> list[int]:
    return webhook_events_record_many(workspace, count)


def webhook_events_record_many(workspace, count: int) -> list[int]:
    ids = []
    for n in range(count):
        ids += webhook_events_record(workspace_id=workspace.id, event_type="session.status", payload={"n": n})
    return ids


def make_due(ids) -> None:
    WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_it_keeps_at_most_the_limit_in_flight_per_endpoint(workspace_a, workspace_b, settings):
    settings.BLAZZ_WEBHOOK_ENDPOINT_CONCURRENCY = 2
    with Receiver(*[Reply(200, delay=1.5)] * 6) as slow, Receiver(200) as other:
        webhook_endpoint_create(workspace=workspace_a, url=slow.url)
        slow_ids = record(workspace_a, 6)
        webhook_endpoint_create(workspace=workspace_b, url=other.url)
        [other_id] = record(workspace_b)
        queue = iter(slow_ids)
        take = itertools.count()

        def attempt_next():
            next(take)
            return webhook_delivery_attempt(delivery_id=next(queue))

        results = run_at_once(attempt_next, times=6)
        # Another endpoint is not held back by the busy one.
        other_result = webhook_delivery_attempt(delivery_id=other_id)

    assert sorted(results, key=str) == sorted([Status.DELIVERED] * 2 + [None] * 4, key=str)
    assert len(slow.requests) == 2
    # The four that waited are untouched: still due, no attempt spent, for the sweep.
    waiting = WebhookDelivery.objects.filter(pk__in=slow_ids, status=Status.PENDING)
    assert waiting.count() == 4 and not waiting.filter(attempts__gt=0).exists()
    assert other_result == Status.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_a_failing_endpoint_is_backed_off_then_probed_once(workspace_a, settings):
    settings.BLAZZ_WEBHOOK_CIRCUIT_FAILURES = 3
    settings.BLAZZ_WEBHOOK_CIRCUIT_OPEN_SECONDS = 60
    with Receiver(503, 503, 503, 200, default=200) as failing, Receiver(200) as healthy:
        bad, _ = webhook_endpoint_create(workspace=workspace_a, url=failing.url, events=["session.qr"])
        webhook_endpoint_create(workspace=workspace_a, url=healthy.url, events=["session.status"])
        [first] = webhook_events_record(workspace_id=workspace_a.id, event_type="session.qr", payload={})
        for _ in range(3):
            make_due([first])
            assert webhook_delivery_attempt(delivery_id=first) == Status.FAILED
        bad.refresh_from_db()
        assert bad.consecutive_failures == 3
        assert bad.circuit_open_until > timezone.now() + timedelta(seconds=55)

        # Open: nothing of this endpoint is sent, and no attempt is spent while it waits.
        [second] = webhook_events_record(workspace_id=workspace_a.id, event_type="session.qr", payload={})
        make_due([first])
        assert webhook_delivery_attempt(delivery_id=first) is None
        assert webhook_delivery_attempt(delivery_id=second) is None
        assert webhook_deliveries_due() == 0
        assert WebhookDelivery.objects.get(pk=first).attempts == 3
        assert WebhookDelivery.objects.get(pk=second).attempts == 0
        assert len(failing.requests) == 3
        # The workspace's other endpoint is not touched.
        [fine] = webhook_events_record(workspace_id=workspace_a.id, event_type="session.status", payload={})
        assert webhook_delivery_attempt(delivery_id=fine) == Status.DELIVERED

        # The backoff passes: half open, one probe; its success closes the circuit and the
        # slot goes on with the other due delivery.
        WebhookEndpoint.objects.filter(pk=bad.pk).update(circuit_open_until=timezone.now())
        assert webhook_deliveries_due() == 2
        bad.refresh_from_db()
        assert (bad.consecutive_failures, bad.circuit_open_until) == (0, None)
        assert webhook_deliveries_due() == 0
    assert WebhookDelivery.objects.filter(pk__in=[first, second], status=Status.DELIVERED).count() == 2


@pytest.mark.django_db
def test_a_failure_while_half_open_backs_off_again(workspace_a, settings):
    settings.BLAZZ_WEBHOOK_CIRCUIT_FAILURES = 2
    with Receiver(default=500) as failing:
        endpoint, _ = webhook_endpoint_create(workspace=workspace_a, url=failing.url)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=2, circuit_open_until=timezone.now() - timedelta(seconds=1)
        )
        [delivery] = record(workspace_a)
        assert webhook_delivery_attempt(delivery_id=delivery) == Status.FAILED
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 3 and endpoint.circuit_open_until > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_the_sweep_gives_every_endpoint_its_turn(workspace_a, workspace_b, settings):
    """A backlog on one busy endpoint (older than everything else) does not fill the sweep.
    Before, the sweep took the 50 oldest due rows: all the busy endpoint's."""
    with Receiver(200) as busy, Receiver(200) as other:
        webhook_endpoint_create(workspace=workspace_a, url=busy.url)
        backlog = record(workspace_a, 60)
        WebhookDelivery.objects.filter(pk__in=backlog).update(
            next_attempt_at=timezone.now() - timedelta(hours=1)
        )
        # Its slots are taken by two sends in flight elsewhere.
        WebhookDelivery.objects.filter(pk__in=backlog[:2]).update(
            status=Status.SENDING, next_attempt_at=timezone.now() + timedelta(minutes=1)
        )
        webhook_endpoint_create(workspace=workspace_b, url=other.url)
        [theirs] = record(workspace_b)

        assert webhook_deliveries_due() == 1

    assert WebhookDelivery.objects.get(pk=theirs).status == Status.DELIVERED
    assert busy.requests == []


class TricklingReceiver:
    """A receiver that accepts the POST and then answers one byte every 0.3 s for ever
    (a slowloris in reverse): every socket read succeeds well within the read timeout."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _serve(self) -> None:
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                answer = b"HTTP/1.1 200 OK\r\n" + b"x-slow: " + b"a" * 10_000
                for byte in answer:
                    if self.stop.wait(0.3):
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.server.close()


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_trickles_its_answer_is_cut_at_the_deadline(workspace_a, settings):
    """Each read gets a byte within the read timeout, so only a deadline for the whole
    attempt ends it; before, the attempt (and its worker thread) never ended."""
    settings.BLAZZ_WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.BLAZZ_WEBHOOK_DEADLINE_SECONDS = 2.0
    outcome = []
    with TricklingReceiver() as receiver:
        webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        [delivery_id] = record(workspace_a)

        def attempt():
            try:
                outcome.append(webhook_delivery_attempt(delivery_id=delivery_id))
            finally:
                connection.close()

        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive(), "the attempt is still reading the trickle"
    assert outcome == [Status.FAILED]
    assert (
        WebhookDelivery.objects.get(pk=delivery_id).last_error
        == "Timeout: the receiver did not answer in time."
    )


def test_a_deadline_past_the_claim_lease_is_a_check_error(settings):
    from messaging.webhooks.checks import check_webhook_settings

    assert check_webhook_settings(None) == []
    settings.BLAZZ_WEBHOOK_DEADLINE_SECONDS = 600
    settings.BLAZZ_WEBHOOK_ENDPOINT_CONCURRENCY = 0
    assert [e.id for e in check_webhook_settings(None)] == ["messaging.E001", "messaging.E002"]


@pytest.mark.django_db(transaction=True)
def test_a_burst_drains_at_the_endpoints_concurrency_without_waiting_for_the_sweep(workspace_a, settings):
    """An inbound batch of 30 messages is one chunk task; two slots take it all, in turn."""
    settings.BLAZZ_WEBHOOK_ENDPOINT_CONCURRENCY = 2
    with Receiver(default=200) as receiver:
        webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        ids = webhook_events_record_many_payloads(workspace_a, 30)

        assert webhook_deliveries_attempt(delivery_ids=ids) == 30

    assert WebhookDelivery.objects.filter(pk__in=ids, status=Status.DELIVERED).count() == 30
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == len(receiver.requests) == 30


def webhook_events_record_many_payloads(workspace, count: int) -> list[int]:
    from messaging.webhooks import webhook_events_record_many

    return webhook_events_record_many(
        workspace_id=workspace.id, event_type="message.received", payloads=[{"n": n} for n in range(count)]
    )


@pytest.mark.django_db(transaction=True)
def test_two_creates_at_once_cannot_both_take_the_last_endpoint(workspace_a, settings):
    from messaging.webhooks import WebhookEndpointQuotaExceeded

    settings.BLAZZ_QUOTA_WEBHOOK_ENDPOINTS = 1

    def create():
        try:
            webhook_endpoint_create(workspace=workspace_a, url="https://hooks.example/in")
            return "created"
        except WebhookEndpointQuotaExceeded:
            return "refused"

    assert sorted(run_at_once(create, times=4)) == ["created", "refused", "refused", "refused"]
    assert WebhookEndpoint.objects.filter(workspace=workspace_a).count() == 1
