"""A campaign end to end: 30 recipients over 3 numbers connected through the simulator, sent
by a real session worker's Chromium pages; the dispatch tick runs for real in this process
(what the general worker does every second from Beat). Every recipient gets exactly one
message with their name filled in, and a member's websocket sees progress reach 100 %."""

import asyncio
import re
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from blazz.asgi import application
from campaigns import services
from campaigns.dispatch import campaigns_tick
from campaigns.models import CampaignLog
from messaging.models import Chat, Contact
from sessions_app.models import WorkerInstance
from tests.blazz.test_realtime import session_cookie_for
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBERS = ["+5511987650071", "+5511987650072", "+5511987650073"]
NAMES = [f"Cliente {i} — José Ñandú 🎉" for i in range(30)]


def digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def test_it_sends_a_30_recipient_campaign_over_3_numbers_exactly_once(
    sim, start_worker, settings, alice, workspace_a
):
    # Short gaps so the test takes seconds; pacing itself is tested with a fake clock.
    settings.BLAZZ_CAMPAIGN_GAP_MIN_SECONDS = 0.2
    settings.BLAZZ_CAMPAIGN_GAP_MAX_SECONDS = 0.5
    worker = start_worker("wa_cmp", capacity=4)
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_cmp").exists(), what="worker", log=worker.log)
    for phone in NUMBERS:
        connect(sim, worker, workspace_a, phone)
    Contact.objects.bulk_create(
        [
            Contact(workspace=workspace_a, phone=f"+1201555{3000 + i:04d}", name=name)
            for i, name in enumerate(NAMES)
        ]
    )
    campaign, _ = services.campaign_create(
        workspace=workspace_a,
        name="e2e",
        body="Olá {{name}}, temos novidades!",
        window_start_hour=0,
        window_end_hour=24,
    )
    cookie = session_cookie_for(alice, workspace_a)

    async def run_campaign() -> list[dict]:
        headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie)]
        socket = WebsocketCommunicator(application, "/ws/events/", headers=headers)
        connected, _ = await socket.connect(timeout=5)
        assert connected
        await sync_to_async(services.campaign_start)(campaign=campaign)
        progress: list[dict] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            await sync_to_async(campaigns_tick)()
            while not await socket.receive_nothing(timeout=0.05):
                message = await socket.receive_json_from()
                if message["event"] == "campaign.progress" and message["payload"]["uuid"] == str(
                    campaign.uuid
                ):
                    progress.append(message["payload"])
            if progress and progress[-1]["status"] == "completed":
                break
            await asyncio.sleep(0.25)
        await socket.disconnect()
        return progress

    progress = async_to_sync(run_campaign)()

    campaign.refresh_from_db()
    assert campaign.status == "completed", list(CampaignLog.objects.values_list("status", "error"))
    assert (campaign.total_count, campaign.sent_count, campaign.failed_count) == (30, 30, 0)
    # Live: the bar moved through intermediate values and ended at 100 %.
    percents = [p["percent"] for p in progress]
    assert percents == sorted(percents)
    assert any(0 < p < 100 for p in percents)
    assert progress[-1]["percent"] == 100.0 and progress[-1]["success"] == 30

    # What the phones really sent (the simulator's outboxes): one message per recipient, with
    # the recipient's own name, spread over the three numbers.
    sent: dict[str, list[str]] = {}
    per_number = {}
    for phone in NUMBERS:
        outbox = sim.ok("GET", f"/phones/{phone}/outbox")
        per_number[phone] = len(outbox)
        for message in outbox:
            sent.setdefault(digits(message["to"]), []).append(message["body"])
    expected = {
        digits(f"+1201555{3000 + i:04d}"): f"Olá {name}, temos novidades!" for i, name in enumerate(NAMES)
    }
    assert sent == {to: [body] for to, body in expected.items()}
    assert sorted(per_number.values()) == [10, 10, 10]  # equal ages, equal capacity: equal shares
    assert Chat.objects.filter(workspace=workspace_a, direction="outbound", status="sent").count() == 30
