"""A session worker killed after it read a batch of inbound messages and before it
committed it (a test hook SIGKILLs it inside the transaction) loses nothing: the page
journal in the browser profile hands the batch to the next process of that worker, and
every message is stored exactly once. WhatsApp's servers (the simulator) do not send a
message twice, so nothing else could bring them back."""

import time

import pytest

from messaging.models import Chat
from sessions_app.models import SessionSnapshot, WhatsAppSession, WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER, CUSTOMER = "+5511987650071", "+14155550171"
MESSAGES = 20


def test_it_stores_every_message_once_after_the_worker_dies_before_its_commit(sim, start_worker):
    crashing = start_worker("wa_crash", env={"BLAZZ_FAULT_KILL_BEFORE_INBOUND_COMMIT": "true"})
    wait_until(
        lambda: WorkerInstance.objects.filter(name="wa_crash").exists(), what="worker", log=crashing.log
    )
    workspace = WorkspaceFactory()
    session = connect(sim, crashing, workspace, NUMBER)
    # Steady state: the login is on disk (a browser killed seconds after pairing loses the
    # pairing itself, as any WhatsApp Web client would).
    wait_until(
        lambda: SessionSnapshot.objects.filter(session=session).exists(),
        timeout=30,
        what="the first snapshot",
        log=crashing.log,
    )
    texts = [f"pedido {i} 📦" for i in range(MESSAGES)]

    for text in texts:
        sim.ok("POST", "/messages", {"from": CUSTOMER, "to": NUMBER, "body": text})

    crashing.proc.wait(timeout=60)
    assert crashing.proc.returncode == -9, crashing.log()
    assert "fault hook: killing this worker" in crashing.log()
    assert not Chat.objects.filter(workspace=workspace).exists()  # the open transaction died with it
    # The phone's servers consider every message delivered: none is waiting for a device.
    assert sim.ok("GET", "/qr") == []

    restarted = start_worker("wa_crash")
    wait_until(
        lambda: Chat.objects.filter(workspace=workspace, direction="inbound").count() >= MESSAGES,
        timeout=90,
        what=f"{MESSAGES} inbound chats after the restart",
        log=restarted.log,
    )
    # A few more harvest ticks: a replay would show up as extra rows now.
    time.sleep(2)
    stored = list(Chat.objects.filter(workspace=workspace, direction="inbound"))
    assert sorted(chat.body for chat in stored) == sorted(texts)
    assert len({chat.wam_id for chat in stored}) == MESSAGES
    session.refresh_from_db()
    assert session.status == WhatsAppSession.Status.CONNECTED
    statuses = [e.detail["to"] for e in session.events.filter(kind="status_change").order_by("at", "id")]
    assert statuses.count("qr_scanning") == 1  # the first login only: no new QR after the crash
    restart = session.events.filter(kind="restart").order_by("-at", "-id").first()
    # From the profile itself, or from the snapshot the reaper took of it: both hold the journal.
    assert restart.detail["restored"] in ("local", "snapshot")
