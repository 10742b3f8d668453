"""No receiver text reaches the tenant (issue 16): what a receiver answers could be an
internal service's page (SSRF read-back). `last_error` and each attempt's error hold the
status code and a fixed reason, in the model, the API, the Webhooks page and the admin."""

import pytest
from django.test import Client
from django.urls import reverse

from messaging.models import WebhookDelivery
from messaging.webhooks import webhook_delivery_attempt, webhook_endpoint_create, webhook_events_record
from tests.conftest import api_client_for
from tests.factories import UserFactory
from tests.messaging.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.django_db
LEAK = b"root:x:0:0 internal-db-password=hunter2"


@pytest.mark.parametrize(
    ("status", "reason"), [(500, "HTTP 500 from receiver."), (404, "HTTP 404 from receiver.")]
)
def test_it_records_the_status_and_a_fixed_reason_never_the_body(
    alice, alice_client, workspace_a, status, reason
):
    with Receiver(Reply(status, body=LEAK)) as receiver:
        endpoint, _ = webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        [delivery_id] = webhook_events_record(
            workspace_id=workspace_a.id, event_type="session.qr", payload={}
        )
        webhook_delivery_attempt(delivery_id=delivery_id)

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.last_status_code, delivery.last_error) == (status, reason)
    assert delivery.attempt_log.get().error == reason

    api = api_client_for(workspace_a, alice)
    pages = [
        api.get(f"/api/v1/webhooks/{endpoint.uuid}/deliveries").content,
        alice_client.get(reverse("webhooks:webhook_list")).content,
        alice_client.get(reverse("webhooks:webhook_deliveries", args=[endpoint.uuid])).content,
    ]
    staff = Client()
    staff.force_login(UserFactory(username="root@example.com", is_staff=True, is_superuser=True))
    pages += [
        staff.get(reverse("admin:messaging_webhookdelivery_change", args=[delivery_id])).content,
        staff.get(reverse("admin:messaging_webhookattempt_changelist")).content,
    ]
    for page in pages:
        assert b"hunter2" not in page
    assert reason.encode() in pages[0]


def test_a_network_failure_is_a_fixed_reason(workspace_a, settings):
    from tests.messaging.webhook_receiver import free_port

    webhook_endpoint_create(workspace=workspace_a, url=f"http://127.0.0.1:{free_port()}/hooks")
    [delivery_id] = webhook_events_record(workspace_id=workspace_a.id, event_type="session.qr", payload={})
    webhook_delivery_attempt(delivery_id=delivery_id)
    assert WebhookDelivery.objects.get(pk=delivery_id).last_error == (
        "Connection failed: the receiver refused or could not be reached."
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_scrubs_receiver_text_stored_before(workspace_a):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from messaging.models import WebhookAttempt
    from tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

    before, after = (
        [("messaging", "0011_webhook_secret_encrypted_circuit")],
        [("messaging", "0012_webhook_errors_scrubbed")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        endpoint = WebhookEndpointFactory(workspace=workspace_a)
        old = {
            (500, "HTTP 500: root:x:0:0 hunter2"): "HTTP 500 from receiver.",
            (302, "HTTP 302: redirect to 'http://10.0.0.1/hunter2' not followed"): (
                "HTTP 302 from receiver: redirects are not followed (register the final URL)."
            ),
            (
                None,
                "ConnectError: [SSL] hunter2 alert",
            ): "Connection failed: the connection to the receiver broke.",
            (None, "Timeout: ReadTimeout"): "Timeout: the receiver did not answer in time.",
            (None, "Refused: The webhook host 'x' resolves to a private address (10.0.0.1)"): (
                "Refused: The webhook host 'x' resolves to a private address (10.0.0.1)"
            ),
            (200, ""): "",
        }
        rows = []
        for (code, error), expected in old.items():
            delivery = WebhookDeliveryFactory(endpoint=endpoint, last_status_code=code, last_error=error)
            attempt = WebhookAttempt.objects.create(
                delivery=delivery, number=1, at=delivery.created_at, status_code=code, error=error
            )
            rows.append((delivery.pk, attempt.pk, expected))

        executor = MigrationExecutor(connection)
        executor.migrate(after)

        for delivery_pk, attempt_pk, expected in rows:
            assert WebhookDelivery.objects.get(pk=delivery_pk).last_error == expected
            assert WebhookAttempt.objects.get(pk=attempt_pk).error == expected
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
