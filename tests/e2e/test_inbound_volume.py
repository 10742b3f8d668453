"""1,000 inbound messages over 5 numbers, straight from the simulator through a real worker:
exactly 1,000 Chat rows and one webhook delivery per message per subscribed endpoint. Then
WhatsApp delivers every one of them again (same ids) to fresh pages: nothing new is stored
and nothing is delivered twice (F4, F5)."""

import time

import pytest

from messaging.models import Chat, ContactSession, WebhookDelivery
from sessions_app.models import WhatsAppSession, WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until
from tests.factories import WebhookEndpointFactory, WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBERS = [f"+55119876501{i:02d}" for i in range(5)]
CONTACTS = [f"+1415555{i:04d}" for i in range(50)]
MESSAGES = 1000


def _all_connected_and_drained(sim, sessions) -> bool:
    if WhatsAppSession.objects.filter(pk__in=[s.pk for s in sessions], status="connected").count() != 5:
        return False
    devices = sim.ok("GET", "/devices")
    return all(d["online"] and d["pending_events"] == 0 for d in devices if d["status"] == "linked")


def test_it_stores_1000_messages_over_5_numbers_once_even_when_replayed(sim, start_worker):
    worker = start_worker("wa_volume", capacity=5)
    wait_until(
        lambda: WorkerInstance.objects.filter(name="wa_volume").exists(), what="worker", log=worker.log
    )
    workspace = WorkspaceFactory()
    endpoints = [
        WebhookEndpointFactory(
            workspace=workspace, url=f"https://hooks.example.com/{i}", events=["message.received"]
        )
        for i in range(2)
    ]
    WebhookEndpointFactory(workspace=workspace, events=["message.ack"])  # not subscribed: no rows
    sessions = [connect(sim, worker, workspace, number) for number in NUMBERS]

    sent = []
    for i in range(MESSAGES):
        body = f"mensagem {i} ✅"
        sim.ok("POST", "/messages", {"from": CONTACTS[i % 50], "to": NUMBERS[i % 5], "body": body})
        sent.append(body)

    wait_until(
        lambda: Chat.objects.filter(workspace=workspace).count() >= MESSAGES,
        timeout=120,
        what=f"{MESSAGES} chats",
        log=worker.log,
    )
    wait_until(lambda: _all_connected_and_drained(sim, sessions), timeout=30, what="pages drained")
    time.sleep(1)  # a few harvest ticks (200 ms): anything extra would be stored by now
    stored = list(Chat.objects.filter(workspace=workspace).values_list("body", "direction", "wam_id"))
    assert len(stored) == MESSAGES
    assert sorted(body for body, _, _ in stored) == sorted(sent)
    assert {direction for _, direction, _ in stored} == {"inbound"}
    assert len({wam_id for _, _, wam_id in stored}) == MESSAGES
    deliveries = WebhookDelivery.objects.filter(endpoint__workspace=workspace)
    assert deliveries.count() == MESSAGES * len(endpoints)
    assert {d.endpoint_id for d in deliveries} == {e.pk for e in endpoints}
    assert (
        sum(
            ContactSession.objects.filter(contact__workspace=workspace).values_list(
                "total_messages", flat=True
            )
        )
        == MESSAGES
    )

    # Fresh pages (the bridge of a page remembers ids it already queued): kill the worker,
    # bring it back, and have WhatsApp deliver everything again.
    worker.kill()
    worker = start_worker("wa_volume", capacity=5)
    wait_until(
        lambda: _all_connected_and_drained(sim, sessions), timeout=120, what="sessions back", log=worker.log
    )
    replayed = sum(sim.ok("POST", f"/phones/{number}/replay")["replayed"] for number in NUMBERS)
    assert replayed == MESSAGES
    wait_until(
        lambda: _all_connected_and_drained(sim, sessions), timeout=60, what="replay drained", log=worker.log
    )
    time.sleep(2)

    assert Chat.objects.filter(workspace=workspace).count() == MESSAGES
    assert WebhookDelivery.objects.filter(endpoint__workspace=workspace).count() == MESSAGES * len(endpoints)
    assert (
        sum(
            ContactSession.objects.filter(contact__workspace=workspace).values_list(
                "total_messages", flat=True
            )
        )
        == MESSAGES
    )
