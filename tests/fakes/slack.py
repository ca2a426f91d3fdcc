"""A local fake Slack on 127.0.0.1: the Web API (`/api/{method}`), response_url, and a Socket Mode WebSocket.

It answers what storywatch calls, the way Slack does (HTTP 200 with `ok: false` for API errors, 429
with Retry-After for rate limits): auth.test, chat.postMessage (checking Block Kit like Slack),
conversations.history/replies (with message metadata), users.info, conversations.info,
apps.connections.open (an xapp- token gets a ws:// URL here), oauth.v2.access. It records every call
and every accepted post, and can be told to fail the next calls (`fail_next`). A 5xx may be told to
post the message anyway, as a Slack that timed out after posting would (`posted=True`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fakes.slack_blocks import block_problems, specials
from tests.fakes.slack_socket import SocketModeServer

ALL = "*"


@dataclass(frozen=True, slots=True)
class Scripted:
    """One scripted answer: an HTTP status (429, 500…) or a Slack error code (HTTP 200, ok false)."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    # For a 5xx: Slack posted the message before failing (the client cannot know).
    posted: bool = False


@dataclass(frozen=True, slots=True)
class Workspace:
    team_id: str
    team: str = "Test workspace"
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    enterprise_id: str | None = None


@dataclass(slots=True)
class Post:
    channel: str
    ts: str
    token: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    metadata: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict, repr=False)
    at: float = 0.0

    @property
    def key(self) -> str | None:
        payload = (self.metadata or {}).get("event_payload") or {}
        return payload.get("key")

    @property
    def specials(self) -> list[str]:
        return specials(self.text, self.blocks)


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    status: int
    error: str | None


class FakeSlack:
    def __init__(self) -> None:
        self.tokens: dict[str, Workspace] = {"xoxb-test": Workspace("T1")}
        self.app_tokens = {"xapp-test"}
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        # oauth.v2.access answers by code.
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.posts: list[Post] = []
        self.rejected: list[tuple[dict[str, Any], list[str]]] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.response_problems: list[list[str]] = []
        self._scripts: dict[tuple[str, str], list[Scripted]] = {}
        self._last_ts = 0.0
        self._changed = asyncio.Event()
        self.socket = SocketModeServer(self._changed.set)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.origin}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.origin}/response_url/{name}"

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response_url/{name}", self._response_url)
        app.router.add_get("/link", self.socket.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        await self.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, method: str, *answers: Scripted, channel: str = ALL) -> None:
        """Answer the next calls of `method` (to `channel`, or any) with these, in order."""
        self._scripts.setdefault((method, channel), []).extend(answers)

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def channel_posts(self, channel: str) -> list[Post]:
        return [post for post in self.posts if post.channel == channel]

    async def wait_for(self, condition: Callable[[], object], seconds: float = 10.0) -> None:
        """Until `condition()` holds; it is re-checked whenever the fake records something."""
        async with asyncio.timeout(seconds):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json":
                params.update(json.loads(raw or b"{}"))
            else:
                params.update(parse_qsl(raw.decode()))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or params.get("token")
        status, body, headers = self._answer(method, params, token)
        error = None if body.get("ok") else body.get("error")
        self.calls.append(Call(method, params, token, status, error))
        self._changed.set()
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        scripted = self._next_script(method, str(params.get("channel", "")))
        if scripted is not None:
            if scripted.status >= 500 and scripted.posted and method == "chat.postMessage":
                self._post(params, token or "")
            if scripted.status != 200:
                wait = scripted.retry_after
                headers = {"Retry-After": str(wait)} if wait is not None else {}
                body = {"ok": False, "error": "ratelimited" if scripted.status == 429 else "internal_error"}
                return scripted.status, body, headers
            return 200, {"ok": False, "error": scripted.error}, {}
        if method == "oauth.v2.access":
            found = self.oauth_codes.get(str(params.get("code")))
            return 200, found or {"ok": False, "error": "invalid_code"}, {}
        if method == "apps.connections.open":
            if token not in self.app_tokens:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            return 200, {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link?ticket=1"}, {}
        workspace = self.tokens.get(token or "")
        if workspace is None:
            return 200, {"ok": False, "error": "invalid_auth" if token else "not_authed"}, {}
        handler = _HANDLERS.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return 200, handler(self, workspace, params, token or ""), {}

    def _next_script(self, method: str, channel: str) -> Scripted | None:
        for key in ((method, channel), (method, ALL)):
            queue = self._scripts.get(key)
            if queue:
                return queue.pop(0)
        return None

    def _ts(self) -> str:
        # Unique and increasing, and real time, as Slack's are (history look-ups compare with them).
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def _post(self, params: dict[str, Any], token: str) -> Post:
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        post = Post(
            channel=str(params["channel"]),
            ts=self._ts(),
            token=token,
            text=str(params.get("text") or ""),
            blocks=blocks,
            thread_ts=params.get("thread_ts"),
            reply_broadcast=bool(params.get("reply_broadcast")),
            metadata=params.get("metadata"),
            params=params,
            at=time.monotonic(),
        )
        self.posts.append(post)
        return post

    def _post_message(self, workspace: Workspace, params: dict[str, Any], token: str) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        info = self.channels.get(channel, {})
        if not channel or info.get("missing"):
            return {"ok": False, "error": "channel_not_found"}
        if info.get("is_archived"):
            return {"ok": False, "error": "is_archived"}
        problems = block_problems(params.get("blocks"))
        if problems:
            self.rejected.append((params, problems))
            return {"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": problems}}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        thread = params.get("thread_ts")
        if thread is not None and not any(p.ts == thread and p.channel == channel for p in self.posts):
            return {"ok": False, "error": "thread_not_found"}
        post = self._post(params, token)
        return {"ok": True, "channel": channel, "ts": post.ts, "message": {"text": post.text, "ts": post.ts}}

    def _history(self, workspace: Workspace, params: dict[str, Any], token: str) -> dict[str, Any]:
        channel = str(params.get("channel"))
        oldest = float(params.get("oldest") or 0)
        thread = params.get("ts")
        found = [
            {"ts": p.ts, "text": p.text, "metadata": p.metadata}
            for p in reversed(self.channel_posts(channel))
            if float(p.ts) >= oldest and (thread is None or p.thread_ts == thread or p.ts == thread)
        ]
        return {"ok": True, "messages": found[: int(params.get("limit") or 100)]}

    def _users_info(self, workspace: Workspace, params: dict[str, Any], token: str) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": params["user"], "team_id": workspace.team_id, **user}}

    def _conversations_info(self, workspace: Workspace, params: dict[str, Any], token: str) -> dict[str, Any]:
        channel = self.channels.get(str(params.get("channel")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {"id": params["channel"], **channel}}

    def _auth_test(self, workspace: Workspace, params: dict[str, Any], token: str) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://test.slack.example/",
            "team": workspace.team,
            "user": "storywatch",
            "team_id": workspace.team_id,
            "user_id": workspace.bot_user_id,
            "bot_id": workspace.bot_id,
            "enterprise_id": workspace.enterprise_id,
            "is_enterprise_install": False,
        }

    async def _response_url(self, request: web.Request) -> web.Response:
        payload = await request.json()
        problems = block_problems(payload.get("blocks"))
        self.response_problems.append(problems)
        if problems:
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append((request.match_info["name"], payload))
        self._changed.set()
        return web.Response(text="ok")


_HANDLERS = {
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._post_message,
    "conversations.history": FakeSlack._history,
    "conversations.replies": FakeSlack._history,
    "users.info": FakeSlack._users_info,
    "conversations.info": FakeSlack._conversations_info,
}
