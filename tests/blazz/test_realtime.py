"""Live events reach a member's websocket through the real Redis channel layer, only after
commit, and only for members of the workspace."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from blazz.asgi import application
from blazz.realtime import publish_to_workspace

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie_for(user, workspace) -> bytes:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["workspace_id"] = workspace.id if workspace else None
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


async def connect(cookie: bytes | None):
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


def test_it_delivers_workspace_events_to_members_after_commit(alice, workspace_a):
    cookie = session_cookie_for(alice, workspace_a)

    async def scenario():
        communicator, connected, _ = await connect(cookie)
        assert connected
        await sync_to_async(publish_to_workspace)(
            workspace_uuid=workspace_a.uuid, event="session.status", payload={"status": "connected"}
        )
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    assert async_to_sync(scenario)() == {"event": "session.status", "payload": {"status": "connected"}}


def test_it_refuses_anonymous_sockets_and_isolates_workspaces(alice, workspace_a, bob, workspace_b):
    async def scenario():
        _, anonymous_connected, _ = await connect(None)
        bob_socket, bob_connected, _ = await connect(
            await sync_to_async(session_cookie_for)(bob, workspace_b)
        )
        assert bob_connected
        await sync_to_async(publish_to_workspace)(workspace_uuid=workspace_a.uuid, event="secret", payload={})
        leaked = not await bob_socket.receive_nothing(timeout=0.5)
        await bob_socket.disconnect()
        return anonymous_connected, leaked

    anonymous_connected, leaked = async_to_sync(scenario)()
    assert not anonymous_connected
    assert not leaked


def test_it_closes_a_users_sockets_when_the_password_changes(alice, workspace_a):
    """A new password ends every session that logged in with the old one (Django keeps its
    hash in the session); the sockets of those sessions end with them."""
    cookie = session_cookie_for(alice, workspace_a)

    async def scenario():
        communicator, connected, _ = await connect(cookie)
        assert connected

        def change_password():
            alice.set_password("an entirely new pass phrase")
            alice.save()

        await sync_to_async(change_password)()
        output = await communicator.receive_output(timeout=5)
        await communicator.wait()
        return output

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4401}
