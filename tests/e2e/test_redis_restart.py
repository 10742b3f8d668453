"""Redis restarts while inbound messages flow (DESIGN section 9). The session worker's
broker, cache and channel layer are a redis-server this test owns, stops and starts again
(it keeps nothing on disk, like the project's machines). Inbound persistence never waits
on Redis (F4, F5): every message is stored exactly once, and every webhook delivery row is
written even while its task could not be queued (Beat's sweep sends those)."""

import time

import pytest

from messaging.models import Chat, WebhookDelivery
from sessions_app.models import WhatsAppSession, WorkerInstance
from tests.e2e.faults import RestartableRedis
from tests.e2e.workers import wait_until
from tests.factories import (
    WebhookEndpointFactory,
    WhatsAppSessionFactory,
    WorkerInstanceFactory,
    WorkspaceFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER, CUSTOMER = "+5511987650097", "+14155550197"
PER_PHASE = 15


@pytest.fixture
def own_redis(tmp_path):
    server = RestartableRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_it_stores_every_inbound_message_once_across_a_redis_restart(sim, start_worker, own_redis):
    workspace = WorkspaceFactory()
    WebhookEndpointFactory(workspace=workspace, events=["message.received"])
    # The worker restores sessions assigned to it at start; this one shows a QR (the broker
    # the test process would enqueue a start on is not this worker's).
    worker_row = WorkerInstanceFactory(name="wa_redis")
    session = WhatsAppSessionFactory(workspace=workspace, status="starting", assigned_worker=worker_row)
    worker = start_worker(
        "wa_redis",
        env={
            "CELERY_BROKER_URL": own_redis.url(0),
            "REDIS_URL": own_redis.url(1),
            "CHANNEL_LAYER_URL": own_redis.url(2),
        },
    )
    qr = wait_until(
        lambda: WhatsAppSession.objects.get(pk=session.pk).qr_code, timeout=60, what="a QR", log=worker.log
    )
    sim.ok("POST", "/scan", {"phone": NUMBER, "code": qr})
    wait_until(
        lambda: WhatsAppSession.objects.get(pk=session.pk).status == "connected",
        timeout=30,
        what="connected",
        log=worker.log,
    )
    sent = []

    def deliver(phase: str) -> None:
        for i in range(PER_PHASE):
            body = f"{phase} {i}"
            sim.ok("POST", "/messages", {"from": CUSTOMER, "to": NUMBER, "body": body})
            sent.append(body)
            time.sleep(0.05)

    deliver("before")
    own_redis.stop()
    deliver("redis down")
    wait_until(
        lambda: Chat.objects.filter(workspace=workspace).count() >= 2 * PER_PHASE,
        timeout=30,
        what="messages stored while Redis is down",
        log=worker.log,
    )
    own_redis.start()  # empty: it keeps nothing on disk
    deliver("after")

    wait_until(
        lambda: Chat.objects.filter(workspace=workspace).count() >= len(sent),
        timeout=60,
        what="every message",
        log=worker.log,
    )
    time.sleep(2)
    stored = list(Chat.objects.filter(workspace=workspace).values_list("body", flat=True))
    counts = {
        "attempted": len(sent),
        "stored": len(set(stored)),
        "lost": len(set(sent) - set(stored)),
        "duplicated": len(stored) - len(set(stored)),
    }
    print(f"\nredis restart counts: {counts}")
    assert counts["lost"] == 0 and counts["duplicated"] == 0
    assert WebhookDelivery.objects.filter(endpoint__workspace=workspace).count() == len(sent)
    assert WorkerInstance.objects.get(name="wa_redis").status == "alive"
