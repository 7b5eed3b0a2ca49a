"""The floor for the relay benchmark: a bare customer → agent relay without validation or redaction.

Same URLs and the same channel layer as :mod:`live.consumers`, but no grant check, no schema
check, no redaction, no sequence bookkeeping and no database: every frame after ``hello`` goes to the
session's agents group as it came.
"""

from __future__ import annotations

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer


def _group(session_id: str) -> str:
    return f"bench.echo.{session_id}.agents"


class EchoCustomerConsumer(AsyncWebsocketConsumer):
    """``/ws/cobrowse/<id>/customer/``: answers ``hello`` with ``welcome`` and relays everything else."""

    async def connect(self) -> None:
        self.group = _group(str(self.scope["url_route"]["kwargs"]["session_id"]))
        self.ready = False
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.ready:
            self.ready = True
            await self.send(
                text_data=orjson.dumps({"type": "welcome", "seq": 0, "ts": 0, "data": {}}).decode()
            )
            return
        await self.channel_layer.group_send(self.group, {"type": "relay.frame", "text": text_data})


class EchoAgentConsumer(AsyncWebsocketConsumer):
    """``/ws/cobrowse/<id>/agent/``: joins the session's agents group and forwards what arrives."""

    async def connect(self) -> None:
        self.group = _group(str(self.scope["url_route"]["kwargs"]["session_id"]))
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=orjson.dumps({"type": "welcome", "seq": 0, "ts": 0, "data": {}}).decode())

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def relay_frame(self, event: dict) -> None:
        await self.send(text_data=event["text"])
