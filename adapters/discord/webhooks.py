"""Delivery through a channel webhook, for subscriptions that chose it (`/story subscribe ... webhook`).

Nothing is stored: the platform already knows the channel's webhooks, so the bot lists them, reuses
one it created itself, or creates one named for itself (needs Manage Webhooks). Messages carry the
bot's name and avatar. A webhook someone deleted (Unknown Webhook) is replaced once, at the next send.

Discord's webhooks take no nonce: a webhook message whose acceptance was lost in a crash can be sent
twice; channel posts (the default) cannot.
"""

from __future__ import annotations

import asyncio
import re

import discord
from discord.utils import MISSING

from adapters.discord.errors import UNKNOWN_WEBHOOK, error_code
from adapters.discord.render import NO_MENTIONS, Rendered

# Discord refuses webhook names containing these words.
_RESERVED = re.compile(r"clyde|discord", re.IGNORECASE)
DEFAULT_NAME = "storywatch"


class ChannelWebhooks:
    def __init__(self, client: discord.Client) -> None:
        self._client = client
        self._hooks: dict[int, discord.Webhook] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def send(
        self,
        channel_id: int,
        rendered: Rendered,
        *,
        thread_id: int | None = None,
        thread_name: str | None = None,
    ) -> discord.WebhookMessage:
        """Post through the channel's webhook: into `thread_id`, or as a new forum post `thread_name`."""
        try:
            return await self._execute(await self.webhook(channel_id), rendered, thread_id, thread_name)
        except discord.NotFound as exc:
            if error_code(exc) != UNKNOWN_WEBHOOK:
                raise
            self._hooks.pop(channel_id, None)
        return await self._execute(await self.webhook(channel_id), rendered, thread_id, thread_name)

    async def webhook(self, channel_id: int) -> discord.Webhook:
        hook = self._hooks.get(channel_id)
        if hook is not None:
            return hook
        async with self._locks.setdefault(channel_id, asyncio.Lock()):
            hook = self._hooks.get(channel_id)
            if hook is None:
                hook = self._hooks[channel_id] = await self._find_or_create(channel_id)
            return hook

    async def _find_or_create(self, channel_id: int) -> discord.Webhook:
        http = self._client.http
        me = self._client.user
        mine = str(me.id) if me is not None else None
        for data in await http.channel_webhooks(channel_id):
            token = data.get("token")
            if token and data.get("user", {}).get("id") == mine:
                return discord.Webhook.partial(int(data["id"]), token, client=self._client)
        created = await http.create_webhook(
            channel_id, name=self.name(), reason="storywatch webhook delivery"
        )
        return discord.Webhook.partial(int(created["id"]), created["token"], client=self._client)

    def name(self) -> str:
        me = self._client.user
        name = me.display_name if me is not None else DEFAULT_NAME
        return DEFAULT_NAME if _RESERVED.search(name) else name[:80]

    async def _execute(
        self, hook: discord.Webhook, rendered: Rendered, thread_id: int | None, thread_name: str | None
    ) -> discord.WebhookMessage:
        me = self._client.user
        return await hook.send(
            wait=True,
            username=self.name(),
            avatar_url=me.display_avatar.url if me is not None else MISSING,
            thread=discord.Object(thread_id) if thread_id is not None else MISSING,
            thread_name=thread_name if thread_name is not None else MISSING,
            content=rendered.content_arg,
            embeds=rendered.embeds,
            view=rendered.view_arg,
            allowed_mentions=NO_MENTIONS,
        )
