"""A local fake chat platform over loopback HTTP, and a thin ChatAdapter for it.

The server behaves as Slack and Discord do where delivery cares:
- a per-channel rate (a bucket of one): a faster post gets 429 with Retry-After;
- scripted answers per channel (or for all): 429 with Retry-After, 500, 403 (missing access),
  404 (channel not found), 400 (invalid message);
- client message ids: a post whose `nonce` was accepted before is not posted again, the first post's
  id is answered instead. This is Discord's `nonce` with `enforce_nonce: true`; Slack's chat.postMessage
  has no such field, so a Slack adapter records its id in message metadata and, before re-sending a
  part whose outcome it did not record, looks it up in the channel's recent history (same effect);
- it records accepted messages in order, with the time each was accepted (time.monotonic()).

Run `python -m tests.fakes.platform --rate 1` to serve it from another process (the benchmark does):
it prints its base URL, and GET /accepted returns what it accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.messages import Capabilities, DeliveryError, Receipt
from bot.messages.serial import message_from_dict, message_to_dict
from bot.models import Destination, Message, Platform
from tests.fakes.http import HttpError, KeepAliveClient, serve_http

ALL = "*"


@dataclass(frozen=True, slots=True)
class Scripted:
    status: int
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    id: str
    workspace: str
    channel: str
    thread: str | None
    nonce: str | None
    at: float
    message: dict[str, Any] = field(repr=False)


class FakePlatform:
    def __init__(
        self,
        *,
        per_channel_rate: float | None = 1.0,
        tolerance_s: float = 0.002,
        unthrottled: frozenset[str] = frozenset(),
        answer_delay_s: float = 0.0,
    ) -> None:
        self.per_channel_rate = per_channel_rate
        self.tolerance_s = tolerance_s
        # Channels the rate does not apply to (a platform whose channels take any rate).
        self.unthrottled = unthrottled
        # Hold every answer this long (a slow platform: sends stay in flight).
        self.answer_delay_s = answer_delay_s
        self.accepted: list[Accepted] = []
        self.script: dict[str, deque[Scripted]] = {}
        self.requests = 0
        # Posts received and not answered yet.
        self.in_flight = 0
        self.rate_limited = 0
        self.nonce_replays = 0
        self._by_nonce: dict[str, Accepted] = {}
        self._last: dict[tuple[str, str], float] = {}
        self._runner: web.AppRunner | None = None
        self._lean: asyncio.Server | None = None
        self.base_url = ""

    def fail_next(self, channel: str, *answers: Scripted) -> None:
        """The next posts to `channel` (or to any channel, for "*") get these answers, in order."""
        self.script.setdefault(channel, deque()).extend(answers)

    async def start(self, port: int = 0, *, server: str = "aiohttp") -> str:
        """Serve on 127.0.0.1; `server` "aiohttp", or "lean" (tests/fakes/http.py: far less CPU a post)."""
        if server == "lean":
            self._lean = await serve_http(self._lean_handle, port)
            host, bound = self._lean.sockets[0].getsockname()[:2]
        else:
            app = web.Application()
            app.router.add_post("/api/messages", self._post)
            app.router.add_get("/accepted", self._list)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", port)
            await site.start()
            host, bound = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{bound}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._lean is not None:
            self._lean.close()
            await self._lean.wait_closed()
            self._lean = None

    def channel_log(self, channel: str) -> list[Accepted]:
        return [a for a in self.accepted if a.channel == channel]

    def listing(self, *, messages: bool = True) -> dict[str, Any]:
        """What GET /accepted answers: every accepted post (with or without its message) and counters."""
        if messages:
            accepted = [asdict(a) for a in self.accepted]
        else:
            accepted = [{k: v for k, v in asdict(a).items() if k != "message"} for a in self.accepted]
        return {
            "accepted": accepted,
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "nonce_replays": self.nonce_replays,
        }

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response(self.listing(messages=request.query.get("messages") != "0"))

    async def _post(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.in_flight += 1
        try:
            status, payload, headers = self.decide(await request.json())
            if self.answer_delay_s:
                await asyncio.sleep(self.answer_delay_s)
            return web.json_response(payload, status=status, headers=headers)
        finally:
            self.in_flight -= 1

    async def _lean_handle(self, method: str, target: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if method == "GET" and target.startswith("/accepted"):
            listing = self.listing(messages="messages=0" not in target)
            return 200, {}, json.dumps(listing).encode()
        if method != "POST" or target != "/api/messages":
            return 404, {}, b'{"ok": false, "error": "not_found"}'
        self.requests += 1
        self.in_flight += 1
        try:
            status, payload, headers = self.decide(json.loads(body))
            if self.answer_delay_s:
                await asyncio.sleep(self.answer_delay_s)
            return status, headers, json.dumps(payload).encode()
        finally:
            self.in_flight -= 1

    def decide(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The answer to one post: status, JSON payload and headers; records it if accepted."""
        channel, workspace = str(body["channel"]), str(body["workspace"])
        for key in (channel, ALL):
            queue = self.script.get(key)
            if queue:
                return _refusal(queue.popleft())
        nonce = body.get("nonce")
        if nonce is not None and nonce in self._by_nonce:
            self.nonce_replays += 1
            first = self._by_nonce[nonce]
            return 200, {"ok": True, "id": first.id, "thread": first.thread or first.id, "replay": True}, {}
        now = time.monotonic()
        if self.per_channel_rate is not None and channel not in self.unthrottled:
            last = self._last.get((workspace, channel))
            gap = 1.0 / self.per_channel_rate
            if last is not None and now - last < gap - self.tolerance_s:
                self.rate_limited += 1
                return _refusal(Scripted(429, round(gap - (now - last), 3)))
            self._last[(workspace, channel)] = now
        accepted = Accepted(
            id=str(len(self.accepted) + 1),
            workspace=workspace,
            channel=channel,
            thread=body.get("thread"),
            nonce=nonce,
            at=now,
            message=body["message"],
        )
        self.accepted.append(accepted)
        if nonce is not None:
            self._by_nonce[nonce] = accepted
        return 200, {"ok": True, "id": accepted.id, "thread": accepted.thread or accepted.id}, {}


_JSON = {"Content-Type": "application/json"}


def _refusal(scripted: Scripted) -> tuple[int, dict[str, Any], dict[str, str]]:
    errors = {429: "rate_limited", 500: "internal_error", 403: "missing_access", 404: "channel_not_found"}
    headers = {"Retry-After": str(scripted.retry_after)} if scripted.retry_after is not None else {}
    payload: dict[str, Any] = {"ok": False, "error": errors.get(scripted.status, "invalid_blocks")}
    if scripted.retry_after is not None:
        payload["retry_after"] = str(scripted.retry_after)
    return scripted.status, payload, headers


class FakePlatformAdapter:
    """A ChatAdapter posting to a FakePlatform over HTTP, passing each part's client id as `nonce`.

    `transport`: "lean" (tests/fakes/http.py, keep-alive, little CPU) or "aiohttp" (what the real
    Slack and Discord clients are built on)."""

    def __init__(
        self,
        base_url: str,
        capabilities: Capabilities,
        *,
        platform: Platform = Platform.SLACK,
        transport: str = "lean",
    ) -> None:
        if transport not in ("lean", "aiohttp"):
            raise ValueError(f"unknown transport {transport!r}")
        self.base_url = base_url
        self.transport = transport
        self._capabilities = capabilities
        self._platform = platform
        self._session: aiohttp.ClientSession | None = None
        self._client: KeepAliveClient | None = None
        self._url = f"{base_url}/api/messages"
        self._rendered: dict[Message, str] = {}

    @property
    def platform(self) -> Platform:
        return self._platform

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def _body(self, destination: Destination, message: Message) -> bytes:
        """The request body; each distinct message is serialised once (its hash leaves out metadata)."""
        rendered = self._rendered.get(message)
        if rendered is None:
            if len(self._rendered) >= 1_024:
                self._rendered.clear()
            content = message_to_dict(message)
            del content["metadata"]
            rendered = self._rendered[message] = json.dumps(content, ensure_ascii=False)[:-1]
        head = json.dumps(
            {
                "workspace": destination.workspace,
                "channel": destination.channel,
                "thread": destination.thread,
                "nonce": message.metadata.get("idempotency_key"),
            }
        )[:-1]
        metadata = json.dumps(message.metadata, ensure_ascii=False)
        return f'{head}, "message": {rendered}, "metadata": {metadata}}}}}'.encode()

    async def start(self, on_command: Any = None) -> None:
        if self.transport == "lean":
            if self._client is None:
                self._client = KeepAliveClient(self.base_url, limit=256)
        elif self._session is None:
            connector = aiohttp.TCPConnector(limit=256)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=10)
            )

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, body: bytes) -> tuple[int, dict[str, Any], str | None]:
        if self._client is None and self._session is None:
            await self.start()
        try:
            if self._client is not None:
                status, headers, raw = await self._client.post("/api/messages", body)
                return status, json.loads(raw), headers.get("retry-after")
            assert self._session is not None
            async with self._session.post(self._url, data=body, headers=_JSON) as response:
                return response.status, await response.json(), response.headers.get("Retry-After")
        except (aiohttp.ClientError, HttpError, TimeoutError) as exc:
            raise DeliveryError("retry", f"network: {type(exc).__name__}") from exc

    async def send(self, destination: Destination, message: Message) -> Receipt:
        status, data, retry_after = await self._post(self._body(destination, message))
        return _receipt(status, data, retry_after)


def _receipt(status: int, data: dict[str, Any], retry_after: str | None) -> Receipt:
    """The platform's answer as a Receipt, or the DeliveryError the deliver job acts on."""
    if status == 200:
        return Receipt(str(data["id"]), str(data["thread"]))
    reason = str(data.get("error", status))
    if status == 429 or status >= 500:
        raise DeliveryError("retry", reason, float(retry_after) if retry_after else None)
    if status == 404:
        raise DeliveryError("gone", reason)
    if status in (401, 403):
        raise DeliveryError("forbidden", reason)
    raise DeliveryError("invalid", reason)


class InProcessAdapter:
    """A ChatAdapter calling a FakePlatform in the same process: its rate, scripts, nonces and accept
    times, without HTTP (for measuring delivery apart from any HTTP stack)."""

    def __init__(
        self, fake: FakePlatform, capabilities: Capabilities, *, platform: Platform = Platform.SLACK
    ) -> None:
        self.fake = fake
        self._capabilities = capabilities
        self._platform = platform
        self._content: dict[Message, dict[str, Any]] = {}

    @property
    def platform(self) -> Platform:
        return self._platform

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    async def start(self, on_command: Any = None) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, destination: Destination, message: Message) -> Receipt:
        # A platform call gives the event loop a turn, as a network call would.
        await asyncio.sleep(0)
        content = self._content.get(message)
        if content is None:
            if len(self._content) >= 1_024:
                self._content.clear()
            content = self._content[message] = message_to_dict(message)
        body = {
            "workspace": destination.workspace,
            "channel": destination.channel,
            "thread": destination.thread,
            "nonce": message.metadata.get("idempotency_key"),
            "message": {**content, "metadata": dict(message.metadata)},
        }
        self.fake.requests += 1
        status, data, headers = self.fake.decide(body)
        return _receipt(status, data, headers.get("Retry-After"))


def accepted_message(accepted: Accepted) -> Message:
    return message_from_dict(accepted.message)


async def _serve(rate: float | None, port: int, unthrottled: frozenset[str], server: str) -> None:
    platform = FakePlatform(per_channel_rate=rate, unthrottled=unthrottled)
    url = await platform.start(port, server=server)
    print(url, flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="a fake chat platform on 127.0.0.1")
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per channel (0: none)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--unthrottled", action="append", default=[], help="a channel the rate skips")
    parser.add_argument("--server", choices=("aiohttp", "lean"), default="aiohttp")
    args = parser.parse_args()
    asyncio.run(_serve(args.rate or None, args.port, frozenset(args.unthrottled), args.server))


if __name__ == "__main__":
    main()
