"""A local fake Discord on 127.0.0.1 that a real discord.py bot logs in to, connects to and posts on.

    fake = await FakeDiscord().start()
    point_discord_py_at(fake, monkeypatch)       # Route.BASE and DiscordWebSocket.DEFAULT_GATEWAY
    ... start the adapter ...
    interaction = await fake.slash("subscribe", topic="korea")
    reply = await fake.answer_to(interaction)

It keeps what a bot makes: messages (in channels, threads and forum posts), threads, webhooks, synced
commands, interaction answers; it checks every message payload against Discord's limits (400, 50035),
returns the earlier message for a repeated nonce (`enforce_nonce`), and answers scripted failures
(`fail_next`): 429 with retry_after and the headers discord.py reads, 5xx, 403, 404, optionally after
having accepted the message (a lost answer). REST handlers are in discord_routes, the websocket in
discord_gateway; nothing here leaves loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.discord_gateway import Gateway
from tests.fakes.discord_model import (
    APPLICATION_COMMAND as APPLICATION_COMMAND,
)
from tests.fakes.discord_model import (
    AUTOCOMPLETE as AUTOCOMPLETE,
)
from tests.fakes.discord_model import (
    BOOLEAN as BOOLEAN,
)
from tests.fakes.discord_model import (
    COMPONENT as COMPONENT,
)
from tests.fakes.discord_model import (
    EPHEMERAL as EPHEMERAL,
)
from tests.fakes.discord_model import (
    FORUM as FORUM,
)
from tests.fakes.discord_model import (
    INTEGER as INTEGER,
)
from tests.fakes.discord_model import (
    MANAGE_CHANNELS as MANAGE_CHANNELS,
)
from tests.fakes.discord_model import (
    MEMBER as MEMBER,
)
from tests.fakes.discord_model import (
    MODERATOR as MODERATOR,
)
from tests.fakes.discord_model import (
    NOW,
)
from tests.fakes.discord_model import (
    PUBLIC_THREAD as PUBLIC_THREAD,
)
from tests.fakes.discord_model import (
    SEND_MESSAGES as SEND_MESSAGES,
)
from tests.fakes.discord_model import (
    STRING as STRING,
)
from tests.fakes.discord_model import (
    SUB_COMMAND as SUB_COMMAND,
)
from tests.fakes.discord_model import (
    SUB_COMMAND_GROUP as SUB_COMMAND_GROUP,
)
from tests.fakes.discord_model import (
    TEXT as TEXT,
)
from tests.fakes.discord_model import (
    TOKEN as TOKEN,
)
from tests.fakes.discord_model import (
    USE_APPLICATION_COMMANDS as USE_APPLICATION_COMMANDS,
)
from tests.fakes.discord_model import (
    VIEW_CHANNEL as VIEW_CHANNEL,
)
from tests.fakes.discord_model import (
    Answer as Answer,
)
from tests.fakes.discord_model import (
    Channel as Channel,
)
from tests.fakes.discord_model import (
    Person as Person,
)
from tests.fakes.discord_model import (
    Posted as Posted,
)
from tests.fakes.discord_model import (
    Reply as Reply,
)
from tests.fakes.discord_model import (
    Snowflakes as Snowflakes,
)

# Options the bot renames to Discord's dashed names (a Python parameter cannot have a dash).
RENAMED_OPTIONS = frozenset({"min_sources", "new_story_sources"})


class FakeDiscord:
    def __init__(
        self,
        *,
        shard_count: int = 1,
        max_concurrency: int = 16,
        guilds: int = 1,
        channel_limit: tuple[int, float] | None = None,
        token: str = TOKEN,
    ) -> None:
        self.ids = Snowflakes()
        self.token = token
        self.shard_count = shard_count
        self.max_concurrency = max_concurrency
        # Discord's per-channel message bucket (5 per 5 s) when set; None: no limit but scripted ones.
        self.channel_limit = channel_limit
        self.application_id = self.bot_id = self.ids.next()
        # Guild ids chosen so guild n lives on shard n % shard_count.
        self.guild_ids = [(1_000_000_000 + n) << 22 for n in range(guilds)]
        self.guild_id = self.guild_ids[0]
        self.channels: dict[int, Channel] = {}
        self.roles: dict[int, dict[str, Any]] = {}
        for guild_id in self.guild_ids:
            self.roles[guild_id] = self._role(guild_id, "@everyone", guild_id)
        self.channel_id = self.add_channel("news")
        self.forum_id = self.add_channel("stories", type=FORUM)
        self.posted: list[Posted] = []
        self.replies: list[Reply] = []
        # Every message payload the bot sent anywhere, as (route, JSON): for the mention checks.
        self.payloads: list[tuple[str, dict[str, Any]]] = []
        self.requests: list[tuple[str, str]] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.script: dict[tuple[str, int | None], deque[Answer]] = {}
        self.refused: list[tuple[str, int, int]] = []
        self.nonce_replays = 0
        self.rate_limited = 0
        self._by_nonce: dict[str, Posted] = {}
        self._sent_at: dict[int, deque[float]] = {}
        self._interactions: dict[str, int] = {}
        self._originals: dict[int, int] = {}
        self._changed = asyncio.Event()
        self.gateway = Gateway(ready=self._ready, guilds=self._guilds_of)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        from tests.fakes.discord_routes import routes

        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.add_routes(routes(self))
        app.router.add_get("/gateway", self.gateway.handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- the world the bot sees -------------------------------------------------------------------

    def add_channel(self, name: str, *, type: int = TEXT, guild_id: int | None = None) -> int:
        channel = Channel(self.ids.next(), guild_id or self.guild_id, name, type)
        self.channels[channel.id] = channel
        return channel.id

    def add_role(self, name: str, *, guild_id: int | None = None) -> int:
        role_id = self.ids.next()
        self.roles[role_id] = self._role(role_id, name, guild_id or self.guild_id, position=len(self.roles))
        return role_id

    async def create_role(self, name: str, *, guild_id: int | None = None) -> int:
        """A role made while the bot is connected: it hears of it with GUILD_ROLE_CREATE."""
        guild_id = guild_id or self.guild_id
        role_id = self.add_role(name, guild_id=guild_id)
        role = {k: v for k, v in self.roles[role_id].items() if k != "_guild"}
        await self.gateway.session_for(guild_id).dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role}
        )
        return role_id

    def delete_channel(self, channel_id: int) -> None:
        self.channels.pop(channel_id, None)

    def threads_of(self, channel_id: int) -> list[Channel]:
        return [c for c in self.channels.values() if c.parent_id == channel_id and c.type == PUBLIC_THREAD]

    def in_channel(self, channel_id: int) -> list[Posted]:
        return [posted for posted in self.posted if posted.channel_id == channel_id]

    def fail_next(self, kind: str, *answers: Answer, channel: int | None = None) -> None:
        """Answer the next requests of `kind` (message, thread, forum, webhook, callback, followup,
        channel) for `channel` (None: any channel) with `answers`, in order."""
        self.script.setdefault((kind, channel), deque()).extend(answers)

    def scripted(self, kind: str, channel: int | None) -> Answer | None:
        for key in ((kind, channel), (kind, None)):
            queue = self.script.get(key)
            if queue:
                return queue.popleft()
        return None

    # -- interactions -----------------------------------------------------------------------------

    async def slash(
        self,
        *path: str,
        person: Person | None = None,
        channel_id: int | None = None,
        focused: str | None = None,
        **options: str | int | bool,
    ) -> int:
        """Run `/story <path> option=value…` (autocomplete instead when `focused` names an option)."""
        leaf = [
            {"name": name.replace("_", "-") if name in RENAMED_OPTIONS else name, "type": _option_type(value)}
            | {"value": value}
            | ({"focused": True} if name == focused else {})
            for name, value in options.items()
        ]
        nested: list[dict[str, Any]] = leaf
        for depth, name in enumerate(reversed(path)):
            kind = SUB_COMMAND if depth == 0 else SUB_COMMAND_GROUP
            nested = [{"name": name, "type": kind, "options": nested}]
        data: dict[str, Any] = {"id": str(self._command_id()), "name": "story", "type": 1, "options": nested}
        if self.guild_id in self.commands:
            data["guild_id"] = str(self.guild_id)
        kind = AUTOCOMPLETE if focused else APPLICATION_COMMAND
        return await self._interact(kind, data, person, channel_id)

    async def click(self, custom_id: str, message: Posted, *, person: Person | None = None) -> int:
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(COMPONENT, data, person, message.channel_id, message=message)

    async def _interact(
        self,
        kind: int,
        data: dict[str, Any],
        person: Person | None,
        channel_id: int | None,
        message: Posted | None = None,
    ) -> int:
        person = person or Person(self.ids.next(), "reader")
        channel = self.channels[channel_id or self.channel_id]
        interaction_id, token = self.ids.next(), f"interaction-{len(self._interactions)}"
        self._interactions[token] = interaction_id
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": str(channel.guild_id),
            "channel_id": str(channel.id),
            "channel": channel.json(),
            "member": self.member_json(person),
            "data": data,
            "app_permissions": str(MODERATOR),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(channel.guild_id)},
            "context": 0,
            "attachment_size_limit": 8 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = self.message_json(message)
        await self.gateway.session_for(channel.guild_id).dispatch("INTERACTION_CREATE", payload)
        return interaction_id

    def interaction_for(self, token: str) -> int | None:
        return self._interactions.get(token)

    def remember_original(self, interaction_id: int, message_id: int) -> None:
        self._originals[interaction_id] = message_id

    def original_of(self, interaction_id: int) -> int:
        return self._originals.setdefault(interaction_id, self.ids.next())

    def replies_to(self, interaction_id: int) -> list[Reply]:
        return [reply for reply in self.replies if reply.interaction_id == interaction_id]

    async def answer_to(self, interaction_id: int, within_s: float = 10.0) -> Reply:
        """The reply people finally see: the answer itself, or (after a deferral) the edit or followup."""

        def final() -> Reply | None:
            for reply in reversed(self.replies_to(interaction_id)):
                if reply.kind in ("edit", "followup") or (
                    reply.kind == "callback" and reply.type in (4, 7, 8)
                ):
                    return reply
            return None

        return await self.wait_for(final, within_s)

    async def wait_for(self, found: Callable[[], Any], within_s: float = 10.0) -> Any:
        async with asyncio.timeout(within_s):
            while not (result := found()):
                self._changed.clear()
                # Woken by what the fake records, and every 50 ms for what it does not see (other servers).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05)
        return result

    def changed(self) -> None:
        self._changed.set()

    # -- payloads ---------------------------------------------------------------------------------

    def user_json(self, user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
        data = {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
        }
        return data | ({"bot": True} if bot else {})

    def bot_json(self) -> dict[str, Any]:
        return self.user_json(self.bot_id, "storywatch", bot=True) | {"flags": 0, "verified": True}

    def member_json(self, person: Person) -> dict[str, Any]:
        return {
            "user": self.user_json(person.id, person.name),
            "roles": [str(role) for role in person.roles],
            "joined_at": NOW,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(person.permissions),
        }

    def message_json(self, posted: Posted) -> dict[str, Any]:
        channel = self.channels.get(posted.channel_id)
        author = self.bot_json()
        if posted.webhook_id is not None:
            hook = self.webhooks.get(posted.webhook_id, {})
            name = str(posted.payload.get("username") or hook.get("name") or "webhook")
            author = self.user_json(posted.webhook_id, name, bot=True)
        data: dict[str, Any] = {
            "id": str(posted.id),
            "channel_id": str(posted.channel_id),
            "author": author,
            "content": posted.payload.get("content") or "",
            "timestamp": NOW,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": posted.embeds,
            "pinned": False,
            "type": 0,
            "flags": int(posted.payload.get("flags") or 0),
            "components": posted.payload.get("components") or [],
        }
        if channel is not None:
            data["guild_id"] = str(channel.guild_id)
        if posted.nonce is not None:
            data["nonce"] = posted.nonce
        if posted.webhook_id is not None:
            data["webhook_id"] = str(posted.webhook_id)
        return data

    def _role(self, role_id: int, name: str, guild_id: int, position: int = 0) -> dict[str, Any]:
        return {
            "id": str(role_id),
            "name": name,
            "color": 0,
            "hoist": False,
            "position": position,
            "permissions": str(MEMBER),
            "managed": False,
            "mentionable": False,
            "flags": 0,
            "icon": None,
            "unicode_emoji": None,
            "_guild": guild_id,
        }

    def _ready(self, shard: tuple[int, int]) -> dict[str, Any]:
        return {
            "v": 10,
            "user": self.bot_json(),
            "guilds": [{"id": str(g), "unavailable": True} for g in self._guild_ids_of(shard)],
            "session_id": f"session-{shard[0]}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "shard": list(shard),
        }

    def _guild_ids_of(self, shard: tuple[int, int]) -> list[int]:
        return [g for g in self.guild_ids if (g >> 22) % shard[1] == shard[0]]

    def _guilds_of(self, shard: tuple[int, int]) -> list[dict[str, Any]]:
        return [self.guild_json(guild_id) for guild_id in self._guild_ids_of(shard)]

    def guild_json(self, guild_id: int) -> dict[str, Any]:
        channels = [c for c in self.channels.values() if c.guild_id == guild_id]
        roles = [
            {k: v for k, v in r.items() if k != "_guild"}
            for r in self.roles.values()
            if r["_guild"] == guild_id
        ]
        return {
            "id": str(guild_id),
            "name": f"server {guild_id}",
            "owner_id": "1",
            "icon": None,
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "features": [],
            "member_count": 2,
            "channels": [c.json() for c in channels if c.type != PUBLIC_THREAD],
            "threads": [c.json() for c in channels if c.type == PUBLIC_THREAD],
            "members": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "large": False,
            "unavailable": False,
            "joined_at": NOW,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "mfa_level": 0,
            "verification_level": 0,
            "explicit_content_filter": 0,
            "default_message_notifications": 0,
            "system_channel_flags": 0,
            "nsfw_level": 0,
            "afk_timeout": 300,
        }

    def _command_id(self) -> int:
        for commands in self.commands.values():
            for command in commands:
                if command.get("name") == "story":
                    return int(command["id"])
        return 0


def _option_type(value: object) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    return INTEGER if isinstance(value, int) else STRING
