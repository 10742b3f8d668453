"""A number created through the API: the QR its worker's browser shows reaches the database
and an admin's websocket through the real Redis channel layer, and so does the switch to
connected, with the session's events in order."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from accounts.services import api_key_create
from blazz.asgi import application
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
        api = APIClient()
        api.credentials(
            HTTP_AUTHORIZATION="Api-Key "
            + (await sync_to_async(api_key_create)(workspace=workspace_a, name="t", created_by=alice))[1]
        )
        created = await sync_to_async(api.post)("/api/v1/sessions")
        assert created.status_code == 201, created.content
        session = await sync_to_async(WhatsAppSession.objects.get)(uuid=created.json()["uuid"])
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
    session.refresh_from_db()
    assert session.status == "connected" and session.qr_code == ""
    statuses = [e.detail["to"] for e in session.events.filter(kind="status_change").order_by("at", "id")]
    assert statuses == ["qr_scanning", "authenticated", "connected"]
