"""The discord.py client: minimal intents, one shard or many, and command sync.

The bot needs the guilds intent only (channels, threads and roles arrive with GUILD_CREATE; commands
and clicks come as interactions): no member list, no presences, no message content. Discord requires
sharding from about 2,500 servers and says how many shards it wants; below that one connection
(a plain Client) is what discord.py recommends.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.http import HTTPClient

from adapters.discord.render import NO_MENTIONS

log = logging.getLogger("storywatch.adapters.discord")

# Longer rate-limit waits become a retry of the deliver job instead of a send parked in discord.py.
MAX_RATELIMIT_WAIT_S = 30.0
# Discord allows one IDENTIFY per `max_concurrency` bucket every 5 s.
IDENTIFY_WINDOW_S = 5.0


@dataclass(frozen=True, slots=True)
class Sharding:
    shard_count: int = 1
    # Shards Discord lets IDENTIFY at once (session_start_limit.max_concurrency).
    max_concurrency: int = 1


def intents() -> discord.Intents:
    chosen = discord.Intents.none()
    chosen.guilds = True
    return chosen


def client_options(guild_ready_timeout: float) -> dict[str, Any]:
    return {
        "intents": intents(),
        "allowed_mentions": NO_MENTIONS,
        "max_ratelimit_timeout": MAX_RATELIMIT_WAIT_S,
        "chunk_guilds_at_startup": False,
        "member_cache_flags": discord.MemberCacheFlags.none(),
        "guild_ready_timeout": guild_ready_timeout,
    }


class ShardedClient(discord.AutoShardedClient):
    """An AutoShardedClient that starts shards as fast as Discord's max_concurrency allows (discord.py
    waits 5 s before each), then paces reconnects as discord.py does."""

    def __init__(self, sharding: Sharding, **options: Any) -> None:
        super().__init__(shard_count=sharding.shard_count, **options)
        self._concurrency = max(sharding.max_concurrency, 1)
        self._identified: set[int] = set()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        first = shard_id is not None and shard_id not in self._identified
        if shard_id is not None:
            self._identified.add(shard_id)
        if first and shard_id is not None and shard_id % self._concurrency != 0:
            return
        if first and shard_id == 0:
            return
        await asyncio.sleep(IDENTIFY_WINDOW_S)


def build_client(sharding: Sharding, *, guild_ready_timeout: float = 2.0) -> discord.Client:
    # storywatch has no voice: discord.py's warnings about missing voice libraries would only alarm.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    options = client_options(guild_ready_timeout)
    if sharding.shard_count > 1:
        return ShardedClient(sharding, **options)
    return discord.Client(**options)


async def recommended_sharding(token: str) -> Sharding:
    """Discord's shard count for this bot (GET /gateway/bot); also proves the token before we connect."""
    http = HTTPClient(asyncio.get_running_loop())
    try:
        await http.static_login(token)
        shards, _, limits = await http.get_bot_gateway()
    finally:
        await http.close()
    return Sharding(shard_count=max(int(shards), 1), max_concurrency=int(limits.get("max_concurrency", 1)))


async def sync_commands(tree: app_commands.CommandTree[Any], test_guild: int | None) -> int:
    """Register the commands with Discord: in the test server only (instantly) or globally."""
    if test_guild is None:
        synced = await tree.sync()
    else:
        guild = discord.Object(test_guild)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
    where = f"in server {test_guild}" if test_guild else "globally"
    log.info("discord: /story registered %s (%d top-level commands)", where, len(synced))
    return len(synced)
