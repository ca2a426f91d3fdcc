"""Sending one message part to Discord: the channel, a story's thread, a forum post, or a webhook.

A part goes out with its idempotency key as the message nonce (`enforce_nonce`), so a part re-sent
after a lost answer (by discord.py's own retry of a 5xx, or by the deliver job) returns the message
Discord already has instead of posting it twice. discord.py sleeps out 429s itself (up to the
client's max_ratelimit_timeout); what it gives up on becomes a DeliveryError for the deliver job.

Story threads (metadata `thread` = "story"): with no thread yet, the part starts one (a public thread
from the posted message, or a forum post) named `thread_name`, and its Receipt carries the thread id;
with a thread, the part goes into it. A story thread that was deleted or locked is "gone": delivery
forgets it and sends again without a thread, which starts a new one.
"""

from __future__ import annotations

import enum
import logging
from typing import Final, Literal

import discord
from discord.http import handle_message_parameters

from adapters.discord.errors import THREAD_ENDED, THREAD_EXISTS, delivery_error, error_code, thread_refused
from adapters.discord.render import NO_MENTIONS, Rendered, nonce_for, render, thread_name
from adapters.discord.webhooks import ChannelWebhooks
from bot.messages import DeliveryError, Receipt
from bot.models import Destination, Message

log = logging.getLogger("storywatch.adapters.discord")

# Story threads last weeks: the longest auto-archive Discord offers (a post into one wakes it up).
ARCHIVE_MINUTES: Final[Literal[10080]] = 10080


class ChannelKind(enum.Enum):
    MESSAGES = "messages"
    # Forum and media channels hold posts (threads) only.
    POSTS = "posts"


class Transport:
    def __init__(self, client: discord.Client) -> None:
        self._client = client
        self.webhooks = ChannelWebhooks(client)
        self._kinds: dict[int, ChannelKind] = {}

    async def send(self, destination: Destination, message: Message) -> Receipt:
        try:
            return await self._send(destination, message)
        except DeliveryError:
            raise
        except Exception as exc:
            error = delivery_error(exc)
            log.info("discord send to %s failed: %s (%r)", destination.key, error, exc)
            raise error from exc

    async def _send(self, destination: Destination, message: Message) -> Receipt:
        channel_id = int(destination.channel)
        rendered = render(message)
        story = message.metadata.get("thread") == "story"
        webhook = message.metadata.get("via") == "webhook"
        key = message.metadata.get("idempotency_key")
        nonce = nonce_for(key) if key else None
        if destination.thread is not None:
            thread_id = int(destination.thread)
            try:
                posted = await self._post(channel_id, thread_id, rendered, nonce, webhook)
                return Receipt(posted, destination.thread)
            except discord.HTTPException as exc:
                if error_code(exc) not in THREAD_ENDED:
                    raise
                if story:
                    # Delivery forgets the story's thread and sends again without one: a new thread starts.
                    raise DeliveryError(
                        "gone", f"the story's thread was deleted or locked (code {exc.code})"
                    ) from exc
                # A continuation whose thread has ended: the channel itself is still there.
                log.info("discord thread %s of %s has ended (%s)", thread_id, destination.key, exc.code)
        if await self.kind(channel_id) is ChannelKind.POSTS:
            return await self._forum_post(channel_id, message, rendered, webhook)
        posted = await self._post(channel_id, None, rendered, nonce, webhook)
        if not story:
            return Receipt(posted)
        return Receipt(posted, await self._start_thread(channel_id, int(posted), thread_name(message)))

    async def kind(self, channel_id: int) -> ChannelKind:
        kind = self._kinds.get(channel_id)
        if kind is None:
            cached = self._client.get_channel(channel_id)
            if isinstance(cached, discord.abc.GuildChannel):
                forum = cached.type in (discord.ChannelType.forum, discord.ChannelType.media)
            else:
                # Not cached (or no gateway in this process): ask; a 404 or 403 is gone or forbidden.
                data = await self._client.http.get_channel(channel_id)
                forum = data["type"] in (discord.ChannelType.forum.value, discord.ChannelType.media.value)
            kind = self._kinds[channel_id] = ChannelKind.POSTS if forum else ChannelKind.MESSAGES
        return kind

    async def _post(
        self, channel_id: int, thread_id: int | None, rendered: Rendered, nonce: str | None, webhook: bool
    ) -> str:
        """Post into the channel (or its thread); the new message's id."""
        if webhook:
            sent = await self.webhooks.send(channel_id, rendered, thread_id=thread_id)
            return str(sent.id)
        with handle_message_parameters(
            content=rendered.content_arg,
            embeds=rendered.embeds,
            view=rendered.view_arg,
            allowed_mentions=NO_MENTIONS,
            nonce=nonce,
        ) as params:
            data = await self._client.http.send_message(thread_id or channel_id, params=params)
        return str(data["id"])

    async def _start_thread(self, channel_id: int, message_id: int, name: str) -> str:
        """A public thread from the posted message.

        Refused (no Create Public Threads, or a channel without threads), the alert stays in the channel
        and the subscription pauses with the reason: going on would repeat the refusal at every alert,
        and Discord bans bots that collect too many refused requests."""
        try:
            data = await self._client.http.start_thread_with_message(
                channel_id, message_id, name=name, auto_archive_duration=ARCHIVE_MINUTES
            )
        except discord.HTTPException as exc:
            if exc.code == THREAD_EXISTS:
                # A re-sent part got its earlier message back, and that message has its thread already:
                # a thread started from a message has the message's id.
                return str(message_id)
            if delivery_error(exc).kind == "retry":
                raise
            raise DeliveryError("forbidden", thread_refused(exc)) from exc
        return str(data["id"])

    async def _forum_post(
        self, channel_id: int, message: Message, rendered: Rendered, webhook: bool
    ) -> Receipt:
        """A forum post (a thread with the message as its first post); forum posts take no nonce."""
        name = thread_name(message)
        if webhook:
            sent = await self.webhooks.send(channel_id, rendered, thread_name=name)
            return Receipt(str(sent.id), str(sent.channel.id))
        with handle_message_parameters(
            content=rendered.content_arg,
            embeds=rendered.embeds,
            view=rendered.view_arg,
            allowed_mentions=NO_MENTIONS,
            channel_payload={"name": name, "auto_archive_duration": ARCHIVE_MINUTES},
        ) as params:
            data = await self._client.http.start_thread_in_forum(channel_id, params=params)
        message_data = data.get("message")
        message_id = str(message_data["id"]) if message_data else str(data["id"])
        return Receipt(message_id, str(data["id"]))
