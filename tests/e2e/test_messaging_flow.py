"""Messages through a real worker and the simulator: inbound stored once per message even
when re-read, outbound sent exactly once per idempotency key, acks move the status, and a
reply goes from the number the contact last talked to."""

import pytest

from messaging import services as messaging
from messaging.models import Chat, ContactSession
from sessions_app.models import WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER_1, NUMBER_2, CUSTOMER = "+5511987650061", "+5511987650062", "+14155550142"


@pytest.fixture
def worker(start_worker):
    worker = start_worker("wa_msg")
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_msg").exists(), what="worker", log=worker.log)
    return worker


def test_it_stores_inbound_messages_once_and_sends_replies_from_the_same_number(sim, worker):
    workspace = WorkspaceFactory()
    first = connect(sim, worker, workspace, NUMBER_1)
    second = connect(sim, worker, workspace, NUMBER_2)
    texts = [f"olá {i} 🎉 مرحبا" for i in range(20)]
    for text in texts:
        sim.ok("POST", "/messages", {"from": CUSTOMER, "to": NUMBER_2, "body": text})

    wait_until(
        lambda: Chat.objects.filter(workspace=workspace, direction="inbound").count() == 20,
        timeout=30,
        what="20 inbound chats",
        log=worker.log,
    )
    stored = list(Chat.objects.filter(workspace=workspace, direction="inbound").order_by("sent_at", "id"))
    assert sorted(c.body for c in stored) == sorted(texts)  # unicode byte-exact
    assert {c.whatsapp_session_id for c in stored} == {second.pk}
    link = ContactSession.objects.get(whatsapp_session=second)
    assert link.total_messages == 20

    # No session named: the reply goes from the number the customer wrote to, not the primary.
    assert first.is_primary
    chat, created = messaging.chat_send(
        workspace=workspace, to=CUSTOMER, body="obrigado ✅", idempotency_key="r-1"
    )
    again, created_again = messaging.chat_send(
        workspace=workspace, to=CUSTOMER, body="obrigado ✅", idempotency_key="r-1"
    )
    assert created and not created_again and again.pk == chat.pk
    assert chat.whatsapp_session_id == second.pk
    wait_until(lambda: Chat.objects.get(pk=chat.pk).status == "sent", timeout=30, what="sent", log=worker.log)
    outbox = sim.ok("GET", f"/phones/{NUMBER_2}/outbox")
    assert [m["body"] for m in outbox] == ["obrigado ✅"]
    chat.refresh_from_db()
    assert chat.wam_id == outbox[0]["id"] or chat.wam_id == outbox[0].get("msg_id")

    sim.ok("POST", "/acks", {"id": outbox[0]["id"], "ack": 3})
    wait_until(
        lambda: Chat.objects.get(pk=chat.pk).status == "read", timeout=30, what="read ack", log=worker.log
    )
    # The echo of our own send never becomes a second (inbound or outbound) row.
    assert Chat.objects.filter(workspace=workspace, direction="outbound").count() == 1
    assert Chat.objects.filter(workspace=workspace, direction="inbound").count() == 20
