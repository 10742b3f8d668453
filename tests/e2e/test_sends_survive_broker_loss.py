"""Outbound messages survive the broker losing its data (issue 16): 40 sends are accepted
while a real session worker sends them, and every Redis database of this deployment (broker,
cache, channel layer) is flushed in the middle, so the wake-up calls queued at that moment are
gone. Beat's sweep (called here as the general worker would) wakes what nobody claimed; every
message reaches WhatsApp exactly once. Only the test run's own databases are flushed (a demo
on the same Redis keeps its own)."""

import time

import pytest
import redis
from django.conf import settings

from messaging import services as messaging
from messaging.models import Chat
from sessions_app.models import WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER = "+5511987650098"
SENDS = 40


def flush_this_deployments_redis() -> None:
    """FLUSHALL, for the databases this deployment uses."""
    for url in {settings.CELERY_BROKER_URL, settings.REDIS_URL, settings.CHANNEL_LAYER_URL}:
        redis.Redis.from_url(url).flushdb()


def test_no_accepted_send_is_lost_or_sent_twice_when_the_broker_is_flushed(sim, start_worker, settings):
    workspace = WorkspaceFactory()
    worker = start_worker("wa_flush")
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_flush").exists(), what="worker", log=worker.log)
    connect(sim, worker, workspace, NUMBER)
    customers = [f"+1415555{1000 + i}" for i in range(SENDS)]
    accepted = []
    for i, customer in enumerate(customers):
        chat, _ = messaging.chat_send(
            workspace=workspace, to=customer, body=f"pedido {i}", idempotency_key=f"f-{i}"
        )
        accepted.append(chat.pk)
        if i == SENDS // 2:
            flush_this_deployments_redis()  # every queued wake-up is gone

    # Some were sent before the flush; some wake-ups were lost with it and stay pending.
    time.sleep(3)
    settings.BLAZZ_SEND_SWEEP_AFTER_SECONDS = 1
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if not Chat.objects.filter(pk__in=accepted, status=Chat.Status.PENDING).exists():
            break
        messaging.chats_sweep_pending()  # what Beat runs every 30 s
        time.sleep(2)

    outbox = sim.ok("GET", f"/phones/{NUMBER}/outbox")
    bodies = [m["body"] for m in outbox]
    statuses = list(Chat.objects.filter(pk__in=accepted).values_list("status", flat=True))
    counts = {
        "accepted": SENDS,
        "sent": statuses.count(Chat.Status.SENT),
        "failed": statuses.count(Chat.Status.FAILED),
        "pending": statuses.count(Chat.Status.PENDING),
        "reached_whatsapp": len(set(bodies)),
        "lost": SENDS - len(set(bodies)),
        "duplicated": len(bodies) - len(set(bodies)),
    }
    print(f"\nbroker flush counts: {counts}")
    assert counts["lost"] == 0 and counts["duplicated"] == 0, (counts, worker.log())
    assert counts["sent"] == SENDS
    assert WorkerInstance.objects.get(name="wa_flush").status == "alive"
