"""The QR a worker's browser shows reaches an admin's websocket through the real Redis
channel layer, and so does the switch to connected."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from blazz.asgi import application
from sessions_app import services
from sessions_app.models import WhatsAppSession, WorkerInstance
from tests.blazz.test_realtime import session_cookie_for
from tests.e2e.workers import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_it_pushes_the_qr_and_the_connection_to_the_workspace_websocket(
    sim, start_worker, alice, workspace_a
):
    worker = start_worker("wa_ws")
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_ws").exists(), what="worker", log=worker.log)
    cookie = session_cookie_for(alice, workspace_a)

    async def scenario():
        headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie)]
        socket = WebsocketCommunicator(application, "/ws/events/", headers=headers)
        connected, _ = await socket.connect(timeout=5)
        assert connected
        session = await sync_to_async(services.session_create)(workspace=workspace_a)
        received = []
        while True:
            message = await socket.receive_json_from(timeout=60)
            received.append(message)
            if message["event"] == "session.qr":
                await sync_to_async(sim.ok)(
                    "POST", "/scan", {"phone": "+5511987650077", "code": message["payload"]["qr_code"]}
                )
            if message["event"] == "session.status" and message["payload"]["status"] == "connected":
                break
        await socket.disconnect()
        return session, received

    session, received = async_to_sync(scenario)()
    events = [m["event"] for m in received]
    assert events[0] == "session.created"
    assert "session.qr" in events
    assert received[-1]["payload"]["phone_number"] == "+5511987650077"
    assert WhatsAppSession.objects.get(pk=session.pk).status == "connected"
