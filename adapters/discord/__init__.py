"""Discord: the `/story` slash commands, alerts and digests as embeds, on discord.py (extra `discord`)."""

from __future__ import annotations

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.markup import DISCORD_CAPABILITIES
from bot.chat import AdapterContext, ChatAdapter

__all__ = ["DISCORD_CAPABILITIES", "DiscordAdapter", "create_adapter"]


def create_adapter(context: AdapterContext) -> ChatAdapter:
    return DiscordAdapter(context)
