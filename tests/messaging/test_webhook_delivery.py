"""Delivery against a real receiver on localhost: retries on the schedule, the dead-letter
state, 410 and 4xx handling, Retry-After, and one send per delivery under concurrency."""

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.db import connection
from django.utils import timezone

from messaging.models import WebhookDelivery
from messaging.webhooks import (
    JITTER,
    MAX_ATTEMPTS,
    RETRY_SCHEDULE,
    webhook_deliveries_due,
    webhook_delivery_attempt,
    webhook_endpoint_create,
    webhook_events_record,
)
from tests.concurrency import run_at_once
from tests.messaging.webhook_receiver import Receiver, Reply, free_port

Status = WebhookDelivery.Status


def record_one(workspace, url: str) -> WebhookDelivery:
    _endpoint, _ = webhook_endpoint_create(workspace=workspace, url=url, events=[])
    [delivery_id] = webhook_events_record(
        workspace_id=workspace.id, event_type="message.received", payload={"body": "hi"}
    )
    return WebhookDelivery.objects.get(pk=delivery_id)


def make_due(delivery: WebhookDelivery) -> None:
    """As if the wait had passed."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def assert_waited(delivery: WebhookDelivery, expected: timedelta) -> None:
    last = delivery.attempt_log.order_by("-at").first()
    waited = delivery.next_attempt_at - last.at
    assert expected * (1 - JITTER) - timedelta(seconds=1) <= waited <= expected * (1 + JITTER)


@pytest.mark.django_db
def test_it_retries_500s_on_the_schedule_then_delivers_once(workspace_a):
    with Receiver(500, 500, 500, 200) as receiver:
        delivery = record_one(workspace_a, receiver.url)
        for attempt in range(1, 4):
            assert webhook_delivery_attempt(delivery_id=delivery.pk) == Status.FAILED
            delivery.refresh_from_db()
            assert delivery.attempts == attempt
            assert delivery.last_status_code == 500
            assert_waited(delivery, RETRY_SCHEDULE[attempt - 1])
            # Not due yet: a second task (or a duplicate) sends nothing.
            assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
            make_due(delivery)
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == Status.DELIVERED
        assert webhook_delivery_attempt(delivery_id=delivery.pk) is None

    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED and delivery.delivered_at is not None
    assert [a.status_code for a in delivery.attempt_log.order_by("at")] == [500, 500, 500, 200]
    assert len(receiver.requests) == 4
    assert {r.headers["webhook-id"] for r in receiver.requests} == {str(delivery.event_id)}
    assert len({r.body for r in receiver.requests}) == 1


@pytest.mark.django_db
def test_it_delivers_once_a_receiver_that_was_down_comes_up(workspace_a):
    port = free_port()
    delivery = record_one(workspace_a, f"http://127.0.0.1:{port}/hooks")
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == Status.FAILED
    delivery.refresh_from_db()
    assert delivery.last_status_code is None
    assert "Connect" in delivery.last_error
    make_due(delivery)
    with Receiver(200, port=port) as receiver:
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == Status.DELIVERED
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_it_retries_a_timeout(workspace_a, settings):
    settings.BLAZZ_WEBHOOK_TIMEOUT_SECONDS = 0.3
    with Receiver(Reply(200, delay=1.5)) as receiver:
        delivery = record_one(workspace_a, receiver.url)
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == Status.FAILED
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Timeout")


@pytest.mark.django_db
@pytest.mark.parametrize("use_http_date", [False, True])
def test_it_honours_a_larger_retry_after(workspace_a, use_http_date):
    later = timezone.now() + timedelta(hours=1)
    value = format_datetime(later, usegmt=True) if use_http_date else "3600"
    with Receiver(Reply(429, {"Retry-After": value})) as receiver:
        delivery = record_one(workspace_a, receiver.url)
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == Status.FAILED
    delivery.refresh_from_db()
    wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(minutes=58) < wait <= timedelta(hours=1, seconds=1)


@pytest.mark.django_db
def test_it_keeps_its_own_schedule_when_retry_after_is_shorter(workspace_a):
    with Receiver(Reply(429, {"Retry-After": "1"}), 503) as receiver:
        delivery = record_one(workspace_a, receiver.url)
        webhook_delivery_attempt(delivery_id=delivery.pk)
        make_due(delivery)
        webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert_waited(delivery, RETRY_SCHEDULE[1])


@pytest.mark.django_db
def test_it_disables_the_endpoint_on_410(workspace_a):
    with Receiver(410) as receiver:
        delivery = record_one(workspace_a, receiver.url)
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == Status.DEAD
    delivery.endpoint.refresh_from_db()
    assert not delivery.endpoint.is_active
    assert "410" in delivery.endpoint.disabled_reason
    # A disabled endpoint gets no new deliveries.
    assert webhook_events_record(workspace_id=workspace_a.id, event_type="message.received", payload={}) == []


@pytest.mark.django_db
@pytest.mark.parametrize("code", [400, 404, 301])
def test_it_gives_up_at_once_on_a_client_error(workspace_a, code):
    with Receiver(Reply(code, {"Location": "http://elsewhere.example/"})) as receiver:
        delivery = record_one(workspace_a, receiver.url)
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == Status.DEAD
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.last_status_code == code
    assert delivery.endpoint.is_active
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_it_gives_up_after_the_last_attempt(workspace_a, settings):
    settings.BLAZZ_WEBHOOK_CIRCUIT_FAILURES = MAX_ATTEMPTS + 1  # the schedule alone, no backing off
    with Receiver(default=503) as receiver:
        delivery = record_one(workspace_a, receiver.url)
        statuses = []
        for _ in range(MAX_ATTEMPTS):
            make_due(delivery)
            statuses.append(webhook_delivery_attempt(delivery_id=delivery.pk))
        # Dead is final: even a due row is not claimed again.
        make_due(delivery)
        assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    assert statuses == [Status.FAILED] * (MAX_ATTEMPTS - 1) + [Status.DEAD]
    delivery.refresh_from_db()
    assert delivery.status == Status.DEAD
    assert delivery.attempt_log.count() == MAX_ATTEMPTS == len(receiver.requests) == 8


@pytest.mark.django_db(transaction=True)
def test_it_sends_a_concurrently_claimed_delivery_once(workspace_a):
    with Receiver(Reply(200, delay=0.3)) as receiver:
        delivery = record_one(workspace_a, receiver.url)
        results = run_at_once(lambda: webhook_delivery_attempt(delivery_id=delivery.pk), times=4)
    assert sorted(results, key=str) == [None, None, None, Status.DELIVERED]
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_it_sweeps_due_deliveries_once(workspace_a, settings):
    settings.BLAZZ_WEBHOOK_ENDPOINT_CONCURRENCY = 10  # once-ness here, not the limit
    with Receiver(default=200) as receiver:
        _endpoint, _ = webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        ids = [
            webhook_events_record(workspace_id=workspace_a.id, event_type="session.status", payload={"n": n})[
                0
            ]
            for n in range(5)
        ]
        # One is not due yet; one is another worker's send still inside its lease.
        WebhookDelivery.objects.filter(pk=ids[0]).update(
            next_attempt_at=timezone.now() + timedelta(minutes=5)
        )
        WebhookDelivery.objects.filter(pk=ids[1]).update(
            status=Status.SENDING, next_attempt_at=timezone.now() + timedelta(minutes=1)
        )
        results = run_at_once(webhook_deliveries_due, times=2)
        connection.close()
    assert sum(results) == 3
    assert len(receiver.requests) == 3
    assert set(WebhookDelivery.objects.filter(pk__in=ids[2:]).values_list("status", flat=True)) == {
        Status.DELIVERED
    }
    assert WebhookDelivery.objects.get(pk=ids[0]).status == Status.PENDING
