"""Answering an interaction with the core's reply, within Discord's time limits.

Discord wants an answer within 3 s and then accepts edits and followups for 15 minutes. Most commands
answer in milliseconds, so the reply is sent as the answer itself; a command still running after
`quick_s` is deferred ("storywatch is thinking…", shown as the reply will be) and its reply edits
that message in when it comes. Whether a reply is private is known only once the core has answered,
so the deferral guesses from the command; a wrong guess is mended by replacing the placeholder.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import discord

from adapters.discord.markup import escape
from adapters.discord.render import NO_MENTIONS, render
from bot.messages import Capabilities, fit_message
from bot.models import Message

log = logging.getLogger("storywatch.adapters.discord")

# Leaves a second of Discord's three for the network and a busy event loop.
QUICK_S = 2.0
# Interaction tokens last 15 minutes; a reply later than this has nowhere to go.
TOKEN_LIFETIME_S = 14 * 60.0


async def answer(
    interaction: discord.Interaction,
    reply: Awaitable[Message],
    caps: Capabilities,
    *,
    private: bool,
    quick_s: float = QUICK_S,
) -> None:
    """Answer `interaction` with the Message `reply` resolves to; `private` guesses its visibility."""
    work = asyncio.ensure_future(_safely(reply))
    done, _ = await asyncio.wait({work}, timeout=quick_s)
    if work in done:
        message = fit_message(work.result(), caps)
        rendered = render(message, reply=True)
        await interaction.response.send_message(
            content=rendered.content_arg,
            embeds=rendered.embeds,
            view=rendered.view_arg,
            ephemeral=message.ephemeral,
            allowed_mentions=NO_MENTIONS,
        )
        return
    await interaction.response.defer(ephemeral=private, thinking=True)
    try:
        message = fit_message(await asyncio.wait_for(work, TOKEN_LIFETIME_S), caps)
    except TimeoutError:
        message = Message(text="that took too long; try again in a moment", ephemeral=True)
    await follow_up(interaction, message, deferred_private=private)


async def follow_up(interaction: discord.Interaction, message: Message, *, deferred_private: bool) -> None:
    """The reply to a deferred interaction: edited into the placeholder, or replacing it when the
    placeholder's visibility is not the reply's (Discord cannot change that by an edit)."""
    rendered = render(message, reply=True)
    if message.ephemeral == deferred_private:
        await interaction.edit_original_response(
            content=rendered.content, embeds=rendered.embeds, view=rendered.view, allowed_mentions=NO_MENTIONS
        )
        return
    await interaction.delete_original_response()
    await interaction.followup.send(
        content=rendered.content_arg,
        embeds=rendered.embeds,
        view=rendered.view_arg,
        ephemeral=message.ephemeral,
        allowed_mentions=NO_MENTIONS,
    )


async def _safely(reply: Awaitable[Message]) -> Message:
    try:
        return await reply
    except Exception:
        log.exception("discord: a command failed")
        return Message(text="something went wrong (see the bot's log)", ephemeral=True)


async def tell(interaction: discord.Interaction, text: str) -> None:
    """A short private answer (a refusal, an option the adapter itself rejects)."""
    text = escape(text)
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
