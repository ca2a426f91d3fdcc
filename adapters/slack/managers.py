"""Who counts as a channel manager on Slack, for the core's permission checks (bot.commands.access).

Slack's Web API does not tell an app who a channel's Channel Managers are (that needs an Enterprise
org's admin scopes), so we take the signals it does give, and only where they mean authority over the
channel:

- a workspace admin or owner (users.info) of the workspace the command came from: not a guest, not a
  member of another organisation in a shared channel;
- the creator of a private channel that is not shared with another workspace (conversations.info): a
  public channel is anyone's to create and everyone's to read, so creating one proves nothing;
- the person in their own direct messages with the app: that DM's subscriptions are theirs alone.

Being a channel manager never reaches the topics: those need a bot admin (`admins` in the settings).
Answers are cached for a few minutes: a command must not wait on two lookups every time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.errors import error_code
from bot.clock import Clock

log = logging.getLogger("storywatch.adapters.slack")

CACHE_S = 300.0
_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Conversation:
    # The DM's other party, for a direct message with the app.
    dm_user: str | None = None
    # The creator, for a private channel shared with no other workspace.
    private_creator: str | None = None


class ChannelManagers:
    def __init__(self, clock: Clock, cache_s: float = CACHE_S) -> None:
        self._clock = clock
        self._cache_s = cache_s
        # Each answer with when it was looked up.
        self._admins: dict[tuple[str, str], tuple[datetime, bool]] = {}
        self._conversations: dict[tuple[str, str], tuple[datetime, _Conversation]] = {}

    async def is_manager(self, client: AsyncWebClient, workspace: str, channel: str, user: str) -> bool:
        if not (workspace and channel and user):
            return False
        conversation = await self._conversation(client, workspace, channel)
        if conversation.dm_user is not None:
            # In a DM only its own user manages it, admin or not: the DM is where their answers go.
            return conversation.dm_user == user
        if await self._is_workspace_admin(client, workspace, user):
            return True
        return conversation.private_creator == user

    async def _is_workspace_admin(self, client: AsyncWebClient, workspace: str, user: str) -> bool:
        key = (workspace, user)
        cached = self._admins.get(key)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        found, settled = await _lookup(client.users_info(user=user), "user")
        admin = found is not None and _admin_of(found, workspace)
        if settled:
            _remember(self._admins, key, (self._clock.now(), admin))
        return admin

    async def _conversation(self, client: AsyncWebClient, workspace: str, channel: str) -> _Conversation:
        key = (workspace, channel)
        cached = self._conversations.get(key)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        found, settled = await _lookup(client.conversations_info(channel=channel), "channel")
        conversation = _conversation_of(found) if found is not None else _Conversation()
        if settled:
            _remember(self._conversations, key, (self._clock.now(), conversation))
        return conversation

    def _fresh(self, looked_up: datetime) -> bool:
        return (self._clock.now() - looked_up).total_seconds() < self._cache_s


def _admin_of(user: Mapping[str, Any], workspace: str) -> bool:
    """A workspace admin or owner of `workspace` itself: guests, strangers from a shared channel and
    admins of another workspace are not."""
    if user.get("deleted") or user.get("is_restricted") or user.get("is_ultra_restricted"):
        return False
    if user.get("is_stranger") or user.get("is_bot"):
        return False
    enterprise = user.get("enterprise_user")
    teams = enterprise.get("teams") if isinstance(enterprise, Mapping) else None
    home = user.get("team_id") == workspace or (isinstance(teams, list) and workspace in teams)
    return home and bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


def _conversation_of(channel: Mapping[str, Any]) -> _Conversation:
    if channel.get("is_im"):
        other = channel.get("user")
        return _Conversation(dm_user=str(other) if other else "")
    shared = any(channel.get(flag) for flag in ("is_shared", "is_ext_shared", "is_org_shared"))
    private = channel.get("is_private") or channel.get("is_group")
    if private and not shared and not channel.get("is_mpim") and channel.get("creator"):
        return _Conversation(private_creator=str(channel["creator"]))
    return _Conversation()


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
