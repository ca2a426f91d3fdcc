"""Who counts as a channel manager on Slack, for the core's permission checks.

Slack's Web API does not tell an app who a channel's managers are (that needs admin scopes of an
Enterprise org), so we take what it does tell: workspace admins and owners (users.info), the person
who created the channel (conversations.info), and anyone in their own direct messages with the app.
Bot admins from `admins = ["slack:U…"]` in the settings are let through by the core besides.
Answers are cached for a few minutes: a command must not wait on two lookups every time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.errors import error_code

log = logging.getLogger("storywatch.adapters.slack")

CACHE_S = 300.0
_MAX_ENTRIES = 10_000


class ChannelManagers:
    def __init__(self, cache_s: float = CACHE_S) -> None:
        self._cache_s = cache_s
        # Monotonic time: a cache's age, not a time the product shows or stores.
        self._users: dict[tuple[str, str], tuple[float, bool]] = {}
        self._creators: dict[tuple[str, str], tuple[float, str | None, bool]] = {}

    async def is_manager(self, client: AsyncWebClient, workspace: str, channel: str, user: str) -> bool:
        if await self._is_admin(client, workspace, user):
            return True
        creator, is_im = await self._channel(client, workspace, channel)
        return is_im or (creator is not None and creator == user)

    async def _is_admin(self, client: AsyncWebClient, workspace: str, user: str) -> bool:
        key = (workspace, user)
        cached = self._users.get(key)
        if cached is not None and time.monotonic() - cached[0] < self._cache_s:
            return cached[1]
        found, settled = await _lookup(client.users_info(user=user), "user")
        admin = bool(
            found and (found.get("is_admin") or found.get("is_owner") or found.get("is_primary_owner"))
        )
        if settled:
            _remember(self._users, key, (time.monotonic(), admin))
        return admin

    async def _channel(self, client: AsyncWebClient, workspace: str, channel: str) -> tuple[str | None, bool]:
        key = (workspace, channel)
        cached = self._creators.get(key)
        if cached is not None and time.monotonic() - cached[0] < self._cache_s:
            return cached[1], cached[2]
        found, settled = await _lookup(client.conversations_info(channel=channel), "channel")
        creator = str(found["creator"]) if found and found.get("creator") else None
        is_im = bool(found and found.get("is_im"))
        if settled:
            _remember(self._creators, key, (time.monotonic(), creator, is_im))
        return creator, is_im


async def _lookup(call: Awaitable[AsyncSlackResponse], field: str) -> tuple[Mapping[str, Any] | None, bool]:
    """The `field` object of a Web API answer, and whether the answer is worth caching.

    None when Slack refuses (no scope, a private channel the app is not in): the person is then not a
    manager by this route. A network failure is not cached, so the next command asks again."""
    try:
        response = await call
    except SlackApiError as exc:
        log.info("slack lookup refused: %s", error_code(exc))
        return None, True
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("slack lookup failed: %s: %s", type(exc).__name__, exc)
        return None, False
    value = response.get(field)
    return (value if isinstance(value, Mapping) else None), True


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _MAX_ENTRIES:
        cache.clear()
    cache[key] = value
