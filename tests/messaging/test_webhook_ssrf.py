"""With BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS off, URLs on private, loopback, link-local,
multicast or reserved addresses are refused at creation and again at delivery."""

import pytest

from messaging.models import WebhookDelivery
from messaging.webhooks import (
    WebhookUrlRefused,
    webhook_delivery_attempt,
    webhook_endpoint_create,
    webhook_events_record,
    webhook_url_check,
)
from tests.messaging.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_it_refuses_private_targets_at_creation(workspace_a, settings, url):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(WebhookUrlRefused, match="private or reserved"):
        webhook_endpoint_create(workspace=workspace_a, url=url)


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "http:///nohost"])
def test_it_accepts_only_http_and_https(settings, url):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    with pytest.raises(WebhookUrlRefused):
        webhook_url_check(url)


def test_it_accepts_public_addresses(settings):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    webhook_url_check("https://93.184.215.14/hook")


def test_it_rechecks_at_delivery_and_gives_up(workspace_a, settings):
    with Receiver(200) as receiver:
        settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
        webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        [delivery_id] = webhook_events_record(
            workspace_id=workspace_a.id, event_type="session.qr", payload={}
        )
        settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
        assert webhook_delivery_attempt(delivery_id=delivery_id) == WebhookDelivery.Status.DEAD
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.last_error.startswith("Refused") and "127.0.0.1" in delivery.last_error
    assert receiver.requests == []
