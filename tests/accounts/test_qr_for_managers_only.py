"""A live QR code links a phone to the workspace's number, so only owners and admins see it:
not on an agent's page, not as the SVG, not in an agent's websocket (tests/accounts/
test_socket_access.py hears it through a real server; here through the ASGI app in process)."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.urls import reverse

from sessions_app import services
from tests.blazz.test_realtime import connect, session_cookie_for
from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scanning(workspace_a):
    number = WhatsAppSessionFactory(workspace=workspace_a, status="starting")
    services.session_qr_update(session_pk=number.pk, code="2@raw-login-code")
    return number


def test_it_shows_the_qr_to_an_owner(alice_client, scanning):
    page = alice_client.get(reverse("sessions_app:session_detail", args=[scanning.uuid])).content.decode()
    svg = alice_client.get(reverse("sessions_app:session_qr_svg", args=[scanning.uuid]))

    assert reverse("sessions_app:session_qr_svg", args=[scanning.uuid]) in page
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"


def test_it_never_shows_the_qr_to_an_agent(carol_client, scanning):
    page = carol_client.get(reverse("sessions_app:session_detail", args=[scanning.uuid])).content.decode()
    svg = carol_client.get(reverse("sessions_app:session_qr_svg", args=[scanning.uuid]))

    assert reverse("sessions_app:session_qr_svg", args=[scanning.uuid]) not in page
    assert "raw-login-code" not in page
    assert 'data-testid="qr-managers-only"' in page
    assert svg.status_code == 403


def test_it_pushes_qr_and_link_codes_to_managers_sockets_only(alice, carol, workspace_a):
    number = WhatsAppSessionFactory(workspace=workspace_a, status="starting")

    async def scenario():
        owner, owner_ok, _ = await connect(await sync_to_async(session_cookie_for)(alice, workspace_a))
        agent, agent_ok, _ = await connect(await sync_to_async(session_cookie_for)(carol, workspace_a))
        assert owner_ok and agent_ok
        await sync_to_async(services.session_qr_update)(session_pk=number.pk, code="2@raw-login-code")
        await sync_to_async(services.session_link_code_ready)(
            session_pk=number.pk, phone_number="+5511987650130", code="ABCD-EFGH"
        )
        heard = {}
        for name, socket in (("owner", owner), ("agent", agent)):
            frames = []
            while not await socket.receive_nothing(timeout=1):
                frames.append(await socket.receive_json_from(timeout=5))
            heard[name] = frames
            await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    assert {f["event"] for f in heard["owner"]} == {"session.status", "session.qr", "session.link_code"}
    assert [f["event"] for f in heard["agent"]] == ["session.status"]
    assert "raw-login-code" not in repr(heard["agent"]) and "ABCD-EFGH" not in repr(heard["agent"])
