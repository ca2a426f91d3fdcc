"""The fake Discord's REST API: the routes discord.py calls for a bot like storywatch (see discord.py).

Answers are JSON with a Content-Type of exactly `application/json` (discord.py parses nothing else),
and 429s carry a `Via` header (without one discord.py takes a 429 for a Cloudflare ban).
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.discord_limits import (
    invalid_form_body,
    message_problems,
    thread_name_problems,
    webhook_name_problems,
)
from tests.fakes.discord_model import PUBLIC_THREAD, Channel, Posted, Reply

if TYPE_CHECKING:
    from tests.fakes.discord import FakeDiscord

API = "/api/v10"
FORUM_TYPES = (15, 16)


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    if data is None:
        return web.Response(status=204, headers=headers)
    body = json.dumps(data).encode()
    return web.Response(
        body=body, status=status, headers={"Content-Type": "application/json", **(headers or {})}
    )


def error(status: int, code: int, message: str, **extra: Any) -> web.Response:
    return reply({"code": code, "message": message, **extra}, status)


def rate_limited(retry_after: float) -> web.Response:
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": "fake-bucket",
        "X-RateLimit-Scope": "user",
    }
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
    return reply(body, 429, headers)


class Refusal(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def routes(fake: FakeDiscord) -> list[web.RouteDef]:
    handlers = _Handlers(fake)
    r = web.RouteTableDef()
    r.get(f"{API}/gateway")(handlers.gateway)
    r.get(f"{API}/gateway/bot")(handlers.gateway_bot)
    r.get(f"{API}/users/@me")(handlers.me)
    r.get(f"{API}/oauth2/applications/@me")(handlers.application)
    r.put(f"{API}/applications/{{app}}/commands")(handlers.sync)
    r.put(f"{API}/applications/{{app}}/guilds/{{guild}}/commands")(handlers.sync)
    r.post(f"{API}/interactions/{{iid}}/{{token}}/callback")(handlers.callback)
    r.post(f"{API}/webhooks/{{wid}}/{{token}}")(handlers.webhook_post)
    r.patch(f"{API}/webhooks/{{wid}}/{{token}}/messages/{{mid}}")(handlers.edit_original)
    r.delete(f"{API}/webhooks/{{wid}}/{{token}}/messages/{{mid}}")(handlers.delete_original)
    r.get(f"{API}/channels/{{cid}}")(handlers.channel)
    r.post(f"{API}/channels/{{cid}}/messages")(handlers.create_message)
    r.post(f"{API}/channels/{{cid}}/messages/{{mid}}/threads")(handlers.thread_from_message)
    r.post(f"{API}/channels/{{cid}}/threads")(handlers.forum_post)
    r.get(f"{API}/channels/{{cid}}/webhooks")(handlers.list_webhooks)
    r.post(f"{API}/channels/{{cid}}/webhooks")(handlers.create_webhook)
    return list(r)


class _Handlers:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    # -- plumbing ---------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> dict[str, Any]:
        self.fake.requests.append((request.method, request.path))
        if not request.can_read_body:
            return {}
        data: dict[str, Any] = json.loads(await request.read())
        return data

    def _authorised(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.fake.token}":
            raise Refusal(error(401, 0, "401: Unauthorized"))

    def _script(self, kind: str, channel: int | None, accept: Any = None) -> None:
        """Play a scripted answer, if one is due; `accept` takes the message first when it says so."""
        answer = self.fake.scripted(kind, channel)
        if answer is None:
            return
        if answer.accept and accept is not None:
            accept()
        self.fake.refused.append((kind, channel or 0, answer.status))
        if answer.status == 429:
            self.fake.rate_limited += 1
            raise Refusal(rate_limited(answer.retry_after))
        raise Refusal(error(answer.status, answer.code, answer.message))

    def _limit(self, channel_id: int) -> dict[str, str]:
        """Discord's per-channel bucket, when the fake has one: a 429, or the headers of a success."""
        limit = self.fake.channel_limit
        if limit is None:
            return {}
        count, window = limit
        now = time.monotonic()
        sent = self.fake._sent_at.setdefault(channel_id, deque())
        while sent and now - sent[0] >= window:
            sent.popleft()
        if len(sent) >= count:
            self.fake.rate_limited += 1
            raise Refusal(rate_limited(window - (now - sent[0])))
        sent.append(now)
        reset = window - (now - sent[0])
        return {
            "X-RateLimit-Limit": str(count),
            "X-RateLimit-Remaining": str(count - len(sent)),
            "X-RateLimit-Reset-After": f"{reset:.3f}",
            "X-RateLimit-Bucket": f"channel-{channel_id}",
        }

    def _valid(self, route: str, payload: dict[str, Any], *, needs_body: bool = True) -> None:
        self.fake.payloads.append((route, payload))
        problems = message_problems(payload, needs_body=needs_body)
        if problems:
            self.fake.refused.append((route, 0, 400))
            raise Refusal(reply(invalid_form_body(problems), 400))

    def _target(self, channel_id: int) -> Any:
        channel = self.fake.channels.get(channel_id)
        if channel is None:
            raise Refusal(error(404, 10003, "Unknown Channel"))
        return channel

    def _accept(self, channel_id: int, payload: dict[str, Any], webhook_id: int | None = None) -> Posted:
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            earlier = self.fake._by_nonce.get(str(nonce))
            if earlier is not None:
                self.fake.nonce_replays += 1
                return earlier
        posted = Posted(self.fake.ids.next(), channel_id, payload, str(nonce) if nonce else None, webhook_id)
        self.fake.posted.append(posted)
        if posted.nonce is not None:
            self.fake._by_nonce[posted.nonce] = posted
        self.fake.changed()
        return posted

    # -- login and commands -----------------------------------------------------------------------

    async def gateway(self, request: web.Request) -> web.Response:
        return reply({"url": self.fake.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        try:
            self._authorised(request)
        except Refusal as refusal:
            return refusal.response
        limits = {
            "total": 1000,
            "remaining": 999,
            "reset_after": 0,
            "max_concurrency": self.fake.max_concurrency,
        }
        return reply(
            {"url": self.fake.gateway_url, "shards": self.fake.shard_count, "session_start_limit": limits}
        )

    async def me(self, request: web.Request) -> web.Response:
        try:
            self._authorised(request)
        except Refusal as refusal:
            return refusal.response
        return reply(self.fake.bot_json())

    async def application(self, request: web.Request) -> web.Response:
        fake = self.fake
        return reply(
            {
                "id": str(fake.application_id),
                "name": "storywatch",
                "icon": None,
                "description": "",
                "summary": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": fake.user_json(1, "owner"),
                "verify_key": "0" * 64,
                "flags": 0,
                "rpc_origins": [],
                "team": None,
            }
        )

    async def sync(self, request: web.Request) -> web.Response:
        commands = await request.json()
        guild = request.match_info.get("guild")
        self.fake.requests.append((request.method, request.path))
        answered = []
        for command in commands:
            command = dict(command) | {
                "id": str(self.fake.ids.next()),
                "application_id": str(self.fake.application_id),
            }
            command |= {"version": "1", "guild_id": guild} if guild else {"version": "1"}
            answered.append(command)
        self.fake.commands[int(guild) if guild else None] = answered
        self.fake.changed()
        return reply(answered)

    # -- interactions -----------------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        interaction_id = int(request.match_info["iid"])
        kind, data = int(body["type"]), dict(body.get("data") or {})
        try:
            self._script("callback", None)
            if kind in (4, 7):
                self._valid("callback", data)
            if kind == 8 and len(data.get("choices") or []) > 25:
                raise Refusal(reply(invalid_form_body(["choices: more than 25"]), 400))
        except Refusal as refusal:
            return refusal.response
        self.fake.replies.append(Reply(interaction_id, "callback", kind, data))
        self.fake.changed()
        if kind == 8:
            return reply(None)
        message_id = self.fake.original_of(interaction_id)
        ephemeral = bool(int(data.get("flags") or 0) & 64)
        message = self.fake.message_json(Posted(message_id, self.fake.channel_id, data))
        interaction = {
            "id": str(interaction_id),
            "type": 2,
            "response_message_id": str(message_id),
            "response_message_loading": kind == 5,
            "response_message_ephemeral": ephemeral,
        }
        return reply({"interaction": interaction, "resource": {"type": kind, "message": message}})

    async def webhook_post(self, request: web.Request) -> web.Response:
        if int(request.match_info["wid"]) == self.fake.application_id:
            return await self._followup(request)
        return await self._execute_webhook(request)

    def _interaction(self, request: web.Request) -> int:
        """The interaction whose token the followup or edit carries (its webhook token)."""
        interaction_id = self.fake.interaction_for(request.match_info["token"])
        if interaction_id is None:
            raise Refusal(error(404, 10015, "Unknown Webhook"))
        return interaction_id

    def _replied(self, interaction_id: int, kind: str, body: dict[str, Any]) -> None:
        self.fake.replies.append(Reply(interaction_id, kind, None, body))
        self.fake.changed()

    async def _followup(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            interaction_id = self._interaction(request)
            self._script("followup", None)
            self._valid("followup", body)
        except Refusal as refusal:
            return refusal.response
        self._replied(interaction_id, "followup", body)
        return reply(self.fake.message_json(Posted(self.fake.ids.next(), self.fake.channel_id, body)))

    async def edit_original(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            interaction_id = self._interaction(request)
            self._valid("edit", body, needs_body=False)
        except Refusal as refusal:
            return refusal.response
        self._replied(interaction_id, "edit", body)
        message_id = self.fake.original_of(interaction_id)
        return reply(self.fake.message_json(Posted(message_id, self.fake.channel_id, body)))

    async def delete_original(self, request: web.Request) -> web.Response:
        await self._body(request)
        try:
            interaction_id = self._interaction(request)
        except Refusal as refusal:
            return refusal.response
        self._replied(interaction_id, "delete", {})
        return reply(None)

    # -- channels, threads, forum posts -----------------------------------------------------------

    async def channel(self, request: web.Request) -> web.Response:
        await self._body(request)
        channel_id = int(request.match_info["cid"])
        try:
            self._authorised(request)
            self._script("channel", channel_id)
            return reply(self._target(channel_id).json())
        except Refusal as refusal:
            return refusal.response

    async def create_message(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        channel_id = int(request.match_info["cid"])
        try:
            self._authorised(request)
            channel = self._target(channel_id)
            self._valid("message", body)
            self._script("message", channel_id, accept=lambda: self._accept(channel_id, body))
            if channel.type in FORUM_TYPES:
                raise Refusal(error(400, 50008, "Cannot send messages in a non-text channel"))
            if channel.locked:
                raise Refusal(error(400, 160005, "Thread is locked"))
            headers = self._limit(channel.parent_id or channel_id)
        except Refusal as refusal:
            return refusal.response
        return reply(self.fake.message_json(self._accept(channel_id, body)), headers=headers)

    async def thread_from_message(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        channel_id, message_id = int(request.match_info["cid"]), int(request.match_info["mid"])
        try:
            self._authorised(request)
            channel = self._target(channel_id)
            self._script("thread", channel_id)
            if not any(p.id == message_id and p.channel_id == channel_id for p in self.fake.posted):
                raise Refusal(error(404, 10008, "Unknown Message"))
            if message_id in self.fake.channels:
                raise Refusal(error(400, 160004, "A thread has already been created for this message"))
            problems = thread_name_problems(body.get("name"))
            if problems:
                raise Refusal(reply(invalid_form_body(problems), 400))
        except Refusal as refusal:
            return refusal.response
        thread = Channel(message_id, channel.guild_id, str(body["name"]), PUBLIC_THREAD, parent_id=channel_id)
        self.fake.channels[thread.id] = thread
        self.fake.changed()
        return reply(thread.json())

    async def forum_post(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        channel_id = int(request.match_info["cid"])
        try:
            self._authorised(request)
            channel = self._target(channel_id)
            self._script("forum", channel_id)
            if channel.type not in FORUM_TYPES:
                raise Refusal(error(400, 50024, "Cannot execute action on this channel type"))
            message = dict(body.get("message") or {})
            self._valid("forum", message)
            problems = thread_name_problems(body.get("name"))
            if problems:
                raise Refusal(reply(invalid_form_body(problems), 400))
        except Refusal as refusal:
            return refusal.response
        thread, posted = self._new_post(channel, str(body["name"]), message)
        return reply(thread.json() | {"message": self.fake.message_json(posted)})

    def _new_post(self, forum: Any, name: str, message: dict[str, Any], webhook_id: int | None = None) -> Any:
        # A forum post's first message has the thread's id.
        thread = Channel(self.fake.ids.next(), forum.guild_id, name, PUBLIC_THREAD, parent_id=forum.id)
        self.fake.channels[thread.id] = thread
        posted = Posted(thread.id, thread.id, message, None, webhook_id)
        self.fake.posted.append(posted)
        self.fake.changed()
        return thread, posted

    # -- webhooks ---------------------------------------------------------------------------------

    async def list_webhooks(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["cid"])
        try:
            self._authorised(request)
            self._target(channel_id)
            self._script("webhooks", channel_id)
        except Refusal as refusal:
            return refusal.response
        return reply([hook for hook in self.fake.webhooks.values() if hook["channel_id"] == str(channel_id)])

    async def create_webhook(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        channel_id = int(request.match_info["cid"])
        try:
            self._authorised(request)
            channel = self._target(channel_id)
            self._script("webhooks", channel_id)
            problems = webhook_name_problems(body.get("name"))
            if problems:
                raise Refusal(reply(invalid_form_body(problems), 400))
        except Refusal as refusal:
            return refusal.response
        webhook_id = self.fake.ids.next()
        hook = {
            "id": str(webhook_id),
            "type": 1,
            "guild_id": str(channel.guild_id),
            "channel_id": str(channel_id),
            "name": body["name"],
            "avatar": None,
            "token": f"webhook-token-{webhook_id}",
            "application_id": str(self.fake.application_id),
            "user": self.fake.bot_json(),
        }
        self.fake.webhooks[webhook_id] = hook
        self.fake.changed()
        return reply(hook)

    async def _execute_webhook(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        webhook_id = int(request.match_info["wid"])
        hook = self.fake.webhooks.get(webhook_id)
        if hook is None or hook["token"] != request.match_info["token"]:
            return error(404, 10015, "Unknown Webhook")
        parent = self.fake.channels.get(int(hook["channel_id"]))
        thread_id = request.query.get("thread_id")
        try:
            if parent is None:
                raise Refusal(error(404, 10003, "Unknown Channel"))
            self._script("webhook", int(thread_id) if thread_id else parent.id)
            self._valid("webhook", body)
            problems = webhook_name_problems(body.get("username")) if "username" in body else []
            if problems:
                raise Refusal(reply(invalid_form_body(problems), 400))
            if thread_id is not None:
                thread = self._target(int(thread_id))
                if thread.parent_id != parent.id:
                    raise Refusal(error(400, 50035, "thread_id is not a thread of the webhook's channel"))
                posted = self._accept(thread.id, body, webhook_id)
            elif parent.type in FORUM_TYPES:
                if not body.get("thread_name"):
                    raise Refusal(
                        error(400, 220001, "Webhooks posted to forum channels must have a thread_name")
                    )
                _, posted = self._new_post(parent, str(body["thread_name"]), body, webhook_id)
            else:
                posted = self._accept(parent.id, body, webhook_id)
        except Refusal as refusal:
            return refusal.response
        if request.query.get("wait") not in ("true", "1", "True"):
            return reply(None)
        return reply(self.fake.message_json(posted))
