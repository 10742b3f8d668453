"""Webhook signing secrets (issue 16): encrypted at rest with the snapshot keys (an existing
clear secret is encrypted by migration 0009), shown to the tenant only when created or
rotated, and neither shown nor editable in the admin (staff can only rotate)."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from blazz.encryption import decrypt_text
from messaging.models import WebhookEndpoint
from messaging.webhooks import webhook_endpoint_create, webhook_endpoint_rotate_secret
from tests.factories import UserFactory
from tests.migrations_support import migrated_to

BEFORE = [("messaging", "0010_conversations_notes_quick_replies")]
AFTER = [("messaging", "0011_webhook_secret_encrypted_circuit")]


def stored_columns(endpoint_pk: int) -> str:
    """Every column of the endpoint's row as PostgreSQL stores it, as one text."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(e)::text FROM messaging_webhookendpoint e WHERE id = %s", [endpoint_pk]
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_it_stores_the_secret_encrypted_with_the_snapshot_keys(workspace_a, settings):
    endpoint, secret = webhook_endpoint_create(workspace=workspace_a, url="https://hooks.example/in")

    assert secret not in stored_columns(endpoint.pk)
    reloaded = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert decrypt_text(reloaded.secret_encrypted, keys=settings.BLAZZ_SNAPSHOT_KEYS) == secret
    assert reloaded.secret == secret

    rotated = webhook_endpoint_rotate_secret(endpoint=reloaded)
    assert rotated not in stored_columns(endpoint.pk)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == rotated


@pytest.mark.django_db
def test_a_rotated_snapshot_key_still_opens_old_secrets(workspace_a, settings):
    endpoint, secret = webhook_endpoint_create(workspace=workspace_a, url="https://hooks.example/in")
    settings.BLAZZ_SNAPSHOT_KEYS = [Fernet.generate_key().decode(), *settings.BLAZZ_SNAPSHOT_KEYS]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_secrets():
    with migrated_to(BEFORE) as executor:
        apps = executor.loader.project_state(BEFORE).apps
        Workspace = apps.get_model("accounts", "Workspace")
        Endpoint = apps.get_model("messaging", "WebhookEndpoint")
        workspace = Workspace.objects.create(name="Acme", slug="acme-secrets-migration")
        old = Endpoint.objects.create(
            workspace=workspace, url="https://a.example/", secret="whsec_b2xkLXNlY3JldA=="
        )

        MigrationExecutor(connection).migrate(AFTER)
        assert "whsec_b2xkLXNlY3JldA==" not in stored_columns(old.pk)
        assert WebhookEndpoint.objects.get(pk=old.pk).secret == "whsec_b2xkLXNlY3JldA=="


@pytest.fixture
def staff_client(db) -> Client:
    client = Client()
    client.force_login(UserFactory(username="root@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_the_admin_neither_shows_nor_edits_the_secret(staff_client, workspace_a):
    endpoint, secret = webhook_endpoint_create(workspace=workspace_a, url="https://hooks.example/in")
    change_url = reverse("admin:messaging_webhookendpoint_change", args=[endpoint.pk])

    page = staff_client.get(change_url)
    assert page.status_code == 200
    assert secret.encode() not in page.content
    assert endpoint.secret_encrypted.encode() not in page.content
    listing = staff_client.get(reverse("admin:messaging_webhookendpoint_changelist"))
    assert secret.encode() not in listing.content

    # A posted secret (or its ciphertext) is ignored: the form has no such field.
    staff_client.post(
        change_url,
        {"events": ["session.qr"], "is_active": "on", "secret": "whsec_mine", "secret_encrypted": "x"},
    )
    endpoint.refresh_from_db()
    assert endpoint.secret == secret and endpoint.events == ["session.qr"]


@pytest.mark.django_db
def test_staff_can_rotate_a_secret_without_seeing_the_new_one(staff_client, workspace_a):
    endpoint, secret = webhook_endpoint_create(workspace=workspace_a, url="https://hooks.example/in")

    response = staff_client.post(
        reverse("admin:messaging_webhookendpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )

    endpoint.refresh_from_db()
    assert endpoint.secret != secret and endpoint.secret.startswith("whsec_")
    assert endpoint.secret.encode() not in response.content
    assert b"1 secret(s) rotated" in response.content


@pytest.mark.django_db
def test_the_webhooks_page_rotates_and_shows_the_new_secret_once(alice_client, workspace_a):
    endpoint, secret = webhook_endpoint_create(workspace=workspace_a, url="https://hooks.example/in")

    response = alice_client.post(reverse("webhooks:webhook_rotate_secret", args=[endpoint.uuid]), follow=True)

    endpoint.refresh_from_db()
    # Redirected after the POST: a reload shows the list, it does not rotate again.
    assert response.redirect_chain == [(reverse("webhooks:webhook_list"), 302)] and endpoint.secret != secret
    assert endpoint.secret.encode() in response.content
    assert endpoint.secret.encode() not in alice_client.get(reverse("webhooks:webhook_list")).content


@pytest.mark.django_db
def test_agents_cannot_rotate(carol_client, workspace_a):
    endpoint, secret = webhook_endpoint_create(workspace=workspace_a, url="https://hooks.example/in")
    assert (
        carol_client.post(reverse("webhooks:webhook_rotate_secret", args=[endpoint.uuid])).status_code == 403
    )
    endpoint.refresh_from_db()
    assert endpoint.secret == secret


@pytest.mark.django_db
def test_a_secret_no_key_opens_is_retried_not_sent_unsigned(workspace_a, settings):
    from messaging.models import WebhookDelivery
    from messaging.webhooks import webhook_delivery_attempt, webhook_events_record
    from tests.messaging.webhook_receiver import Receiver

    with Receiver(200) as receiver:
        webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        [delivery_id] = webhook_events_record(
            workspace_id=workspace_a.id, event_type="session.qr", payload={}
        )
        settings.BLAZZ_SNAPSHOT_KEYS = [Fernet.generate_key().decode()]  # the old key was dropped

        assert webhook_delivery_attempt(delivery_id=delivery_id) == WebhookDelivery.Status.FAILED
    assert receiver.requests == []
    assert "cannot be read" in WebhookDelivery.objects.get(pk=delivery_id).last_error
