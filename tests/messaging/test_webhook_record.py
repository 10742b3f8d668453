"""`webhook_events_record`: the outbox rows are written in the caller's transaction for
subscribed active endpoints only, and enqueued only once that transaction commits."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from messaging.models import WebhookDelivery
from messaging.webhooks import webhook_endpoint_create, webhook_events_record

pytestmark = pytest.mark.django_db


def test_it_records_for_subscribed_active_endpoints_only(workspace_a, workspace_b):
    everything, _ = webhook_endpoint_create(workspace=workspace_a, url="https://a.example/all", events=[])
    received, _ = webhook_endpoint_create(
        workspace=workspace_a, url="https://a.example/in", events=["message.received"]
    )
    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/qr", events=["session.qr"])
    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/off", events=[], is_active=False)
    webhook_endpoint_create(workspace=workspace_b, url="https://b.example/all", events=[])

    ids = webhook_events_record(workspace_id=workspace_a.id, event_type="message.received", payload={"x": 1})

    deliveries = WebhookDelivery.objects.filter(pk__in=ids)
    assert {d.endpoint_id for d in deliveries} == {everything.id, received.id}
    assert len({d.event_id for d in deliveries}) == 2
    assert {d.status for d in deliveries} == {WebhookDelivery.Status.PENDING}
    assert all(d.next_attempt_at is not None for d in deliveries)


def test_it_costs_one_query_without_endpoints(workspace_a):
    with CaptureQueriesContext(connection) as queries:
        assert (
            webhook_events_record(workspace_id=workspace_a.id, event_type="session.status", payload={}) == []
        )
    assert len(queries) == 1


def test_it_refuses_unknown_event_types(workspace_a):
    with pytest.raises(ValueError):
        webhook_events_record(workspace_id=workspace_a.id, event_type="message.deleted", payload={})


def test_it_enqueues_only_after_commit(workspace_a, django_capture_on_commit_callbacks, monkeypatch):
    from messaging import tasks

    enqueued = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda delivery_id: enqueued.append(delivery_id))
    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/all")

    with django_capture_on_commit_callbacks(execute=True):
        ids = webhook_events_record(workspace_id=workspace_a.id, event_type="message.sent", payload={})
        assert enqueued == []
    assert enqueued == ids

    # A rolled-back event leaves no row and enqueues nothing.
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                rolled_back = webhook_events_record(
                    workspace_id=workspace_a.id, event_type="message.ack", payload={}
                )
                raise RuntimeError
        except RuntimeError:
            pass
    assert enqueued == []
    assert not WebhookDelivery.objects.filter(pk__in=rolled_back).exists()
