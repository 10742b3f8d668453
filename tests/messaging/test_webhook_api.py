"""The webhooks API: CRUD with the secret shown once, deliveries with their attempts,
redelivery with the same webhook-id, clear 4xx answers, and tenant isolation."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import api_key_create
from messaging.models import WebhookDelivery, WebhookEndpoint
from messaging.webhooks import webhook_delivery_attempt, webhook_endpoint_create, webhook_events_record
from tests.messaging.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice, workspace_a) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Api-Key " + api_key_create(workspace=workspace_a, name="k", created_by=alice)[1]
    )
    return client


def test_it_creates_an_endpoint_and_shows_the_secret_once(api, workspace_a):
    response = api.post(
        "/api/v1/webhooks", {"url": "https://hooks.example/in", "events": ["message.received"]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get(uuid=body["uuid"], workspace=workspace_a)
    assert endpoint.secret == body["secret"] and endpoint.events == ["message.received"]

    assert "secret" not in api.get(f"/api/v1/webhooks/{endpoint.uuid}").json()
    listed = api.get("/api/v1/webhooks").json()["results"]
    assert [e["uuid"] for e in listed] == [str(endpoint.uuid)] and "secret" not in listed[0]
    assert body["secret"].encode() not in api.get("/api/v1/webhooks").content


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"url": "ftp://x.example/"}, b"https://"),
        ({"url": "https://x.example/", "events": ["message.deleted"]}, b"events"),
        ({"url": "http://10.0.0.5/hook"}, b"private"),
    ],
)
def test_it_answers_400_for_invalid_endpoints(api, settings, payload, fragment):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = api.post("/api/v1/webhooks", payload, format="json")
    assert response.status_code == 400
    assert fragment in response.content
    assert not WebhookEndpoint.objects.exists()


def test_it_updates_rotates_and_deletes(api, workspace_a):
    endpoint, secret = webhook_endpoint_create(workspace=workspace_a, url="https://a.example/")
    url = f"/api/v1/webhooks/{endpoint.uuid}"
    response = api.patch(url, {"is_active": False, "events": ["session.qr"]}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is False and response.json()["events"] == ["session.qr"]

    rotated = api.post(f"{url}/rotate-secret").json()["secret"]
    assert rotated.startswith("whsec_") and rotated != secret

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_it_lists_deliveries_with_attempts_and_redelivers_with_the_same_id(
    api, workspace_a, django_capture_on_commit_callbacks, monkeypatch
):
    from messaging import tasks

    enqueued = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", enqueued.append)
    with Receiver(400, 200) as receiver:
        endpoint, _ = webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        [delivery_id] = webhook_events_record(
            workspace_id=workspace_a.id, event_type="message.sent", payload={}
        )
        assert webhook_delivery_attempt(delivery_id=delivery_id) == WebhookDelivery.Status.DEAD

        page = api.get(f"/api/v1/webhooks/{endpoint.uuid}/deliveries").json()
        [item] = page["results"]
        assert item["status"] == "dead" and item["last_status_code"] == 400
        assert [a["status_code"] for a in item["attempt_history"]] == [400]

        redeliver = f"/api/v1/webhooks/{endpoint.uuid}/deliveries/{delivery_id}/redeliver"
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(redeliver)
        assert response.status_code == 202
        assert response.json()["status"] == "pending"
        assert enqueued == [delivery_id]
        # Queued already: a second redeliver is a conflict, not a second send.
        assert api.post(redeliver).status_code == 409

        assert webhook_delivery_attempt(delivery_id=delivery_id) == WebhookDelivery.Status.DELIVERED
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 2 and len(ids) == 1


def test_it_hides_another_workspaces_webhooks_and_deliveries(api, workspace_b):
    endpoint, _ = webhook_endpoint_create(workspace=workspace_b, url="https://b.example/")
    [delivery_id] = webhook_events_record(
        workspace_id=workspace_b.id, event_type="session.status", payload={}
    )
    assert api.get("/api/v1/webhooks").json()["results"] == []
    for method, path in [
        ("get", f"/api/v1/webhooks/{endpoint.uuid}"),
        ("patch", f"/api/v1/webhooks/{endpoint.uuid}"),
        ("delete", f"/api/v1/webhooks/{endpoint.uuid}"),
        ("post", f"/api/v1/webhooks/{endpoint.uuid}/rotate-secret"),
        ("get", f"/api/v1/webhooks/{endpoint.uuid}/deliveries"),
        ("post", f"/api/v1/webhooks/{endpoint.uuid}/deliveries/{delivery_id}/redeliver"),
    ]:
        assert getattr(api, method)(path).status_code == 404, path
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_it_hides_another_workspaces_delivery_behind_an_own_endpoint(api, workspace_a, workspace_b):
    mine, _ = webhook_endpoint_create(workspace=workspace_a, url="https://a.example/")
    webhook_endpoint_create(workspace=workspace_b, url="https://b.example/")
    [theirs] = webhook_events_record(workspace_id=workspace_b.id, event_type="session.status", payload={})
    path = reverse("api-webhook-redeliver", kwargs={"webhook_uuid": mine.uuid, "delivery_id": theirs})
    assert api.post(path).status_code == 404


def test_it_creates_one_endpoint_per_idempotency_key(api, workspace_a):
    body = {"url": "https://hooks.example/in"}

    first = api.post("/api/v1/webhooks", body, HTTP_IDEMPOTENCY_KEY="hook-1")
    again = api.post("/api/v1/webhooks", body, HTTP_IDEMPOTENCY_KEY="hook-1")
    other = api.post("/api/v1/webhooks", body, HTTP_IDEMPOTENCY_KEY="hook-2")

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json()["uuid"] == first.json()["uuid"]
    assert WebhookEndpoint.objects.filter(workspace=workspace_a).count() == 2


def test_a_replayed_create_does_not_show_the_secret_again(api, workspace_a):
    """Issue 16: a secret is shown once. Before, a replay with the same Idempotency-Key
    answered the secret in use, even after it had been rotated."""
    body = {"url": "https://hooks.example/in"}
    first = api.post("/api/v1/webhooks", body, HTTP_IDEMPOTENCY_KEY="hook-1").json()
    rotated = api.post(f"/api/v1/webhooks/{first['uuid']}/rotate-secret").json()["secret"]

    replay = api.post("/api/v1/webhooks", body, HTTP_IDEMPOTENCY_KEY="hook-1")

    assert replay.status_code == 200 and replay.json()["uuid"] == first["uuid"]
    assert replay.json()["secret"] is None
    assert "rotate" in replay.json()["secret_note"]
    assert first["secret"].encode() not in replay.content and rotated.encode() not in replay.content


def test_it_refuses_endpoints_past_the_workspace_quota(api, workspace_a, workspace_b, settings):
    settings.BLAZZ_QUOTA_WEBHOOK_ENDPOINTS = 2
    for n in range(2):
        assert api.post("/api/v1/webhooks", {"url": f"https://hooks.example/{n}"}).status_code == 201

    refused = api.post("/api/v1/webhooks", {"url": "https://hooks.example/3"})

    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded" and "(2)" in error["message"]
    assert WebhookEndpoint.objects.filter(workspace=workspace_a).count() == 2
    # Another workspace's quota is its own.
    webhook_endpoint_create(workspace=workspace_b, url="https://b.example/")


def test_it_shows_a_backed_off_endpoint(api, workspace_a):
    from django.utils import timezone

    endpoint, _ = webhook_endpoint_create(workspace=workspace_a, url="https://a.example/")
    until = timezone.now() + timezone.timedelta(seconds=60)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=5, circuit_open_until=until)

    body = api.get(f"/api/v1/webhooks/{endpoint.uuid}").json()

    assert body["consecutive_failures"] == 5
    assert body["circuit_open_until"].startswith(until.strftime("%Y-%m-%dT%H:%M:%S"))
