"""A tiny authenticated echo socket: proves the ASGI routing and the channel layer end to end."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts import permissions


class PingConsumer(AsyncJsonWebsocketConsumer):
    """Staff-only. Echoes ``ping`` as ``pong`` through the channel layer (not a direct reply)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not (user and user.is_authenticated):
            await self.close(code=4401)
            return
        if not permissions.is_support_staff(user):
            await self.close(code=4403)  # a signed-in customer: not a socket of theirs
            return
        self.group = f"ping.{user.pk}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("type") != "ping":
            await self.send_json({"type": "error", "data": {"message": "expected a ping"}})
            return
        await self.channel_layer.group_send(self.group, {"type": "relay.pong", "seq": content.get("seq")})

    async def relay_pong(self, event) -> None:
        await self.send_json({"type": "pong", "seq": event.get("seq")})
