"""The Webhooks pages: managers create (secret shown once), see failures, toggle, delete and
redeliver; agents cannot."""

import pytest
from django.urls import reverse

from accounts.models import Membership
from messaging.models import WebhookDelivery, WebhookEndpoint
from messaging.webhooks import webhook_delivery_attempt, webhook_endpoint_create, webhook_events_record
from tests.conftest import logged_in_client
from tests.factories import MembershipFactory, UserFactory
from tests.messaging.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


def test_it_creates_an_endpoint_showing_the_secret_once(alice_client, workspace_a):
    response = alice_client.post(
        reverse("webhooks:webhook_list"),
        {"url": "https://hooks.example/in", "events": ["session.qr"]},
        follow=True,
    )
    # Redirected after the POST: reloading the page shown cannot make a second endpoint.
    assert response.redirect_chain == [(reverse("webhooks:webhook_list"), 302)]
    endpoint = WebhookEndpoint.objects.get(workspace=workspace_a)
    assert endpoint.secret.encode() in response.content
    assert endpoint.events == ["session.qr"]
    assert endpoint.secret.encode() not in alice_client.get(reverse("webhooks:webhook_list")).content


def test_it_shows_a_private_target_refusal_on_the_form(alice_client, workspace_a, settings):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = alice_client.post(reverse("webhooks:webhook_list"), {"url": "http://127.0.0.1/x"})
    assert b"private or reserved" in response.content
    assert not WebhookEndpoint.objects.exists()


def test_it_shows_failures_and_redelivers(
    alice_client, workspace_a, django_capture_on_commit_callbacks, monkeypatch
):
    from messaging import tasks

    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda delivery_id: None)
    with Receiver(404) as receiver:
        endpoint, _ = webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        [delivery_id] = webhook_events_record(
            workspace_id=workspace_a.id, event_type="message.ack", payload={}
        )
        webhook_delivery_attempt(delivery_id=delivery_id)
    listing = alice_client.get(reverse("webhooks:webhook_list")).content.decode()
    assert "HTTP 404" in listing and "dead" in listing
    deliveries = alice_client.get(
        reverse("webhooks:webhook_deliveries", args=[endpoint.uuid])
    ).content.decode()
    assert "Redeliver" in deliveries and "HTTP 404" in deliveries

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("webhooks:webhook_redeliver", args=[endpoint.uuid, delivery_id]))
    assert WebhookDelivery.objects.get(pk=delivery_id).status == WebhookDelivery.Status.PENDING


def test_it_toggles_and_deletes(alice_client, workspace_a):
    endpoint, _ = webhook_endpoint_create(workspace=workspace_a, url="https://a.example/")
    alice_client.post(reverse("webhooks:webhook_toggle", args=[endpoint.uuid]))
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    alice_client.post(reverse("webhooks:webhook_toggle", args=[endpoint.uuid]))
    endpoint.refresh_from_db()
    assert endpoint.is_active
    alice_client.post(reverse("webhooks:webhook_delete", args=[endpoint.uuid]))
    assert not WebhookEndpoint.objects.exists()


def test_it_refuses_agents(workspace_a):
    carol = UserFactory(username="carol@example.com")
    MembershipFactory(user=carol, workspace=workspace_a, role=Membership.Role.AGENT)
    assert logged_in_client(carol, workspace_a).get(reverse("webhooks:webhook_list")).status_code == 403


def test_it_shows_the_quota_and_refuses_past_it_on_the_form(alice_client, workspace_a, settings):
    settings.BLAZZ_QUOTA_WEBHOOK_ENDPOINTS = 1
    alice_client.post(reverse("webhooks:webhook_list"), {"url": "https://hooks.example/1"})

    response = alice_client.post(reverse("webhooks:webhook_list"), {"url": "https://hooks.example/2"})

    assert b"the most allowed (1)" in response.content
    assert b"1 of 1 endpoints used" in response.content
    assert WebhookEndpoint.objects.filter(workspace=workspace_a).count() == 1


def test_it_shows_an_endpoint_that_is_backed_off(alice_client, workspace_a):
    from django.utils import timezone

    endpoint, _ = webhook_endpoint_create(workspace=workspace_a, url="https://hooks.example/in")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=5, circuit_open_until=timezone.now() + timezone.timedelta(minutes=1)
    )
    page = alice_client.get(reverse("webhooks:webhook_list")).content.decode()
    assert 'data-testid="webhook-backed-off"' in page and "after 5 failures in a row" in page
