"""End to end: an event recorded in a committed transaction is delivered by a real Celery
worker consuming the `webhooks` queue, signed so the reference library verifies it."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from messaging.models import WebhookDelivery
from messaging.webhooks import webhook_endpoint_create, webhook_events_record
from tests.e2e import workers
from tests.e2e.workers import PROJECT_ROOT, wait_until
from tests.messaging.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def webhooks_worker(transactional_db, tmp_path):
    log_path = tmp_path / "webhooks-worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": workers.test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_URL": settings.CHANNEL_LAYER_URL,
    }
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "blazz",
                "worker",
                "-Q",
                "webhooks",
                "-P",
                "solo",
                "-l",
                "info",
                "-n",
                f"webhooks-test-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield lambda: log_path.read_text(errors="replace")[-4000:]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_it_delivers_through_a_real_worker(webhooks_worker, workspace_a):
    with Receiver(200) as receiver:
        _endpoint, secret = webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        with transaction.atomic():
            [delivery_id] = webhook_events_record(
                workspace_id=workspace_a.id, event_type="message.received", payload={"body": "hello"}
            )
        wait_until(
            lambda: WebhookDelivery.objects.get(pk=delivery_id).status == WebhookDelivery.Status.DELIVERED,
            timeout=30,
            what="the worker to deliver the webhook",
            log=webhooks_worker,
        )
    [request] = receiver.requests
    assert Webhook(secret).verify(request.body, request.headers)["data"] == {"body": "hello"}
