from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.middleware import SESSION_WORKSPACE_KEY
from accounts.selectors import membership_get
from blazz.realtime import workspace_group_name


class WorkspaceEventsConsumer(AsyncJsonWebsocketConsumer):
    """Forwards the current workspace's live events (status changes, QR codes, messages)
    to a logged-in member's browser. Only services publish; this only authenticates and relays."""

    async def connect(self):
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or session is None:
            await self.close(code=4401)
            return
        membership = await database_sync_to_async(membership_get)(
            user=user, workspace_id=session.get(SESSION_WORKSPACE_KEY)
        )
        if membership is None:
            await self.close(code=4403)
            return
        self.group_name = workspace_group_name(membership.workspace.uuid)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if getattr(self, "group_name", None):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def workspace_events(self, message):
        for item in message["events"]:
            await self.send_json({"event": item["event"], "payload": item["payload"]})
