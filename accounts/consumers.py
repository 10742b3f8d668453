"""The browser's live-events socket (/ws/events/). Authenticates, joins groups, relays; only
services publish.

A socket never outlives the access it was opened with. It joins its user's group
(blazz.realtime.user_group_name), where logout, workspace switch, membership removal and role
change are announced; on each announcement it re-reads its session and membership from the
database and closes if they changed. Should an announcement be lost (a Redis hiccup), relaying
re-checks the same way once BLAZZ_WS_ACCESS_RECHECK_SECONDS have passed since the last check,
before forwarding anything."""

import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from accounts.selectors import SocketAccess, socket_access
from blazz.realtime import MANAGERS, user_group_name, workspace_group_name, workspace_managers_group_name

# Close codes the page's live.js understands (static/blazz/live.js FINAL_CODES).
CLOSE_LOGGED_OUT = 4401  # no (valid) login: the page should go to the login form
CLOSE_NOT_A_MEMBER = 4403  # not (or no longer) a member of the workspace
CLOSE_ACCESS_CHANGED = 4409  # another workspace or another role: the page must be reloaded


class WorkspaceEventsConsumer(AsyncJsonWebsocketConsumer):
    """Forwards the current workspace's live events (status changes, messages; QR codes to
    owners and admins only) to a logged-in member's browser."""

    access: SocketAccess | None = None
    groups_joined: tuple[str, ...] = ()

    async def connect(self):
        session = self.scope.get("session")
        access = await database_sync_to_async(socket_access)(
            session_key=session.session_key if session is not None else None
        )
        if access.user_pk is None:
            await self.close(code=CLOSE_LOGGED_OUT)
            return
        if access.membership is None:
            await self.close(code=CLOSE_NOT_A_MEMBER)
            return
        self.access = access
        self.checked_at = time.monotonic()
        workspace_uuid = access.membership.workspace.uuid
        groups = [user_group_name(access.user_pk), workspace_group_name(workspace_uuid)]
        if access.can_manage:
            groups.append(workspace_managers_group_name(workspace_uuid))
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = tuple(groups)
        await self.accept()

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = ()

    async def workspace_events(self, message):
        if self.access is None:
            return
        if time.monotonic() - self.checked_at >= settings.BLAZZ_WS_ACCESS_RECHECK_SECONDS:
            if not await self._still_allowed():
                return
        if message.get("audience") == MANAGERS and not self.access.can_manage:
            return  # belt and braces: an agent's socket is never in the managers' group
        for item in message["events"]:
            await self.send_json({"event": item["event"], "payload": item["payload"]})

    async def access_changed(self, message):
        if self.access is None:
            return
        if message.get("ended_session") and message["ended_session"] == self.access.session_key:
            await self._close(CLOSE_LOGGED_OUT)
            return
        if (
            message.get("switched_session")
            and message["switched_session"] == self.access.session_key
            and message.get("workspace_id") != self.access.workspace_id
        ):
            await self._close(CLOSE_ACCESS_CHANGED)
            return
        await self._still_allowed()

    async def _still_allowed(self) -> bool:
        """Re-reads the access from the database; closes the socket (and says False) if it
        is no longer the one the socket was opened with."""
        now = await database_sync_to_async(socket_access)(session_key=self.access.session_key)
        self.checked_at = time.monotonic()
        if now.same_as(self.access):
            return True
        if now.user_pk is None:
            code = CLOSE_LOGGED_OUT
        elif now.membership is None:
            code = CLOSE_NOT_A_MEMBER
        else:
            code = CLOSE_ACCESS_CHANGED
        await self._close(code)
        return False

    async def _close(self, code: int) -> None:
        # Leave the groups first: nothing more is relayed while the close handshake runs.
        await self.disconnect(code)
        self.access = None
        await self.close(code=code)
