"""Deliveries are signed per Standard Webhooks: verified with the reference
`standardwebhooks` package, which must reject a forged signature and an old timestamp."""

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from messaging.webhook_signing import webhook_headers, webhook_secret_generate
from messaging.webhooks import webhook_delivery_attempt, webhook_endpoint_create, webhook_events_record
from tests.messaging.webhook_receiver import Receiver


def test_it_generates_whsec_secrets_of_24_random_bytes():
    secret = webhook_secret_generate()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert secret != webhook_secret_generate()


@pytest.mark.django_db
def test_it_sends_what_the_reference_library_verifies(workspace_a):
    with Receiver(200) as receiver:
        _endpoint, secret = webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        [delivery_id] = webhook_events_record(
            workspace_id=workspace_a.id,
            event_type="message.received",
            payload={"from": "+12015550100", "body": "olá ☃", "at": datetime(2026, 1, 1, tzinfo=UTC)},
        )
        webhook_delivery_attempt(delivery_id=delivery_id)
    [request] = receiver.requests
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 5
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "message.received"
    assert payload["data"] == {"from": "+12015550100", "body": "olá ☃", "at": "2026-01-01T00:00:00Z"}
    datetime.fromisoformat(payload["timestamp"])


def test_it_fails_verification_when_forged():
    secret, body = webhook_secret_generate(), '{"type":"message.sent","data":{}}'
    headers = webhook_headers(secret=secret, msg_id="msg_1", timestamp=int(time.time()), body=body)
    Webhook(secret).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_secret_generate()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("sent", "ack"), headers)
    forged = {**headers, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, forged)


def test_it_fails_verification_of_a_ten_minute_old_timestamp():
    secret, body = webhook_secret_generate(), "{}"
    old = int((datetime.now(UTC) - timedelta(minutes=10)).timestamp())
    headers = webhook_headers(secret=secret, msg_id="msg_1", timestamp=old, body=body)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, headers)
