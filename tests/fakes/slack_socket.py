"""The fake Slack's Socket Mode side: the WebSocket apps.connections.open points to.

On connect it says hello, as Slack does; `send(envelope)` pushes an envelope (a slash command, an
interaction) to the connected app and `acks` collects what the app sends back (`envelope_id` plus the
ack's payload).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web


class SocketModeServer:
    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self.acks: list[dict[str, Any]] = []
        self.connected = asyncio.Event()
        self._sockets: list[web.WebSocketResponse] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}, "debug_info": {}}
        )
        self.connected.set()
        self._on_change()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
                self._on_change()
        if socket in self._sockets:
            self._sockets.remove(socket)
        return socket

    async def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Push an envelope of `kind` (slash_commands, interactive, events_api); its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": True,
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    def ack_for(self, envelope_id: str) -> dict[str, Any] | None:
        return next((ack for ack in self.acks if ack.get("envelope_id") == envelope_id), None)

    async def close(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
