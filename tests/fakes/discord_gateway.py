"""The fake Discord gateway: a websocket per shard speaking the few opcodes a bot needs.

HELLO on connect; IDENTIFY answered by READY (the shard's guilds, unavailable) then a GUILD_CREATE per
guild; heartbeats ACKed; RESUME answered by RESUMED. The fake pushes events (INTERACTION_CREATE) to
the shard that owns the guild, as Discord does: shard = (guild_id >> 22) % shard_count.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

HELLO, IDENTIFY, HEARTBEAT, HEARTBEAT_ACK, DISPATCH, RESUME = 10, 2, 1, 11, 0, 6


@dataclass
class Session:
    ws: web.WebSocketResponse
    shard: tuple[int, int]
    sequence: int = 0
    identify: dict[str, Any] = field(default_factory=dict)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.sequence += 1
        await self.ws.send_str(json.dumps({"op": DISPATCH, "t": event, "s": self.sequence, "d": data}))


class Gateway:
    def __init__(
        self,
        *,
        ready: Callable[[tuple[int, int]], dict[str, Any]],
        guilds: Callable[[tuple[int, int]], list[dict[str, Any]]],
    ) -> None:
        self._ready = ready
        self._guilds = guilds
        self.sessions: dict[int, Session] = {}
        self.identified: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": 41_250}}))
        session: Session | None = None
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            op, data = payload.get("op"), payload.get("d")
            if op == HEARTBEAT:
                await ws.send_str(json.dumps({"op": HEARTBEAT_ACK}))
            elif op == IDENTIFY:
                shard = tuple(data.get("shard") or (0, 1))
                session = Session(ws, (int(shard[0]), int(shard[1])), identify=data)
                self.sessions[session.shard[0]] = session
                self.identified.append(data)
                await session.dispatch("READY", self._ready(session.shard))
                for guild in self._guilds(session.shard):
                    await session.dispatch("GUILD_CREATE", guild)
                self.changed.set()
            elif op == RESUME and session is not None:
                await session.dispatch("RESUMED", {})
        if session is not None and self.sessions.get(session.shard[0]) is session:
            del self.sessions[session.shard[0]]
        return ws

    def session_for(self, guild_id: int) -> Session:
        for session in self.sessions.values():
            index, count = session.shard
            if (guild_id >> 22) % count == index:
                return session
        raise LookupError(f"no gateway session holds guild {guild_id}")

    async def close_all(self) -> None:
        for session in list(self.sessions.values()):
            await session.ws.close()
        self.sessions.clear()
