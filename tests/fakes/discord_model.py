"""The fake Discord's world: channels, accepted messages, interaction replies, scripted answers, people.

Shared by the fake's state (discord.py in this folder) and its REST handlers (discord_routes.py).
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TOKEN = "fake-bot-token"
# Permission bits (developers/topics/permissions).
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_CHANNELS = 1 << 4
MEMBER = VIEW_CHANNEL | SEND_MESSAGES | USE_APPLICATION_COMMANDS
MODERATOR = MEMBER | MANAGE_CHANNELS
TEXT, FORUM, PUBLIC_THREAD = 0, 15, 11
# Interaction and option types.
APPLICATION_COMMAND, COMPONENT, AUTOCOMPLETE = 2, 3, 4
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN = 1, 2, 3, 4, 5
EPHEMERAL = 1 << 6
NOW = datetime(2026, 5, 1, tzinfo=UTC).isoformat()
# Discord's markdown shows a backslash-escaped punctuation character as the character alone.
_ESCAPED = re.compile(r"\\([^\w\s])")


@dataclass
class Channel:
    id: int
    guild_id: int
    name: str
    type: int = TEXT
    parent_id: int | None = None
    locked: bool = False

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "rate_limit_per_user": 0,
            "topic": None,
            "last_message_id": None,
            "flags": 0,
        }
        if self.type == FORUM:
            data |= {"available_tags": [], "default_reaction_emoji": None, "default_sort_order": None}
            data |= {"default_forum_layout": 0, "default_thread_rate_limit_per_user": 0}
        if self.type == PUBLIC_THREAD:
            data |= {"owner_id": "1", "message_count": 0, "member_count": 1, "total_message_sent": 0}
            data["thread_metadata"] = {
                "archived": False,
                "auto_archive_duration": 10_080,
                "archive_timestamp": NOW,
                "locked": self.locked,
            }
        return data


@dataclass
class Posted:
    """A message Discord accepted, where it landed (a channel or a thread)."""

    id: int
    channel_id: int
    payload: dict[str, Any]
    nonce: str | None = None
    webhook_id: int | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.payload.get("embeds") or [])


@dataclass
class Reply:
    """An answer to an interaction: the callback, a followup, an edit of the original, its deletion."""

    interaction_id: int
    kind: str
    type: int | None
    payload: dict[str, Any]

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.payload.get("flags") or 0) & EPHEMERAL)

    @property
    def text(self) -> str:
        """Content and embed texts together as a person reads them (Discord shows `\\<` as `<`)."""
        parts = [str(self.payload.get("content") or "")]
        for embed in self.payload.get("embeds") or []:
            parts.append(str((embed.get("author") or {}).get("name") or ""))
            parts += [str(embed.get(key) or "") for key in ("title", "description")]
        return _ESCAPED.sub(r"\1", "\n".join(part for part in parts if part))


@dataclass(frozen=True)
class Answer:
    """A scripted answer instead of the normal one; `accept` first takes the message (a lost answer)."""

    status: int
    code: int = 0
    retry_after: float = 0.0
    accept: bool = False
    message: str = "scripted"


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    permissions: int = MEMBER
    roles: tuple[int, ...] = ()


class Snowflakes:
    """Discord-shaped ids: milliseconds since 2015 in the top bits, a counter below."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self) -> int:
        millis = int(time.time() * 1000) - 1_420_070_400_000
        return (millis << 22) | (next(self._counter) & 0x3FFFFF)
