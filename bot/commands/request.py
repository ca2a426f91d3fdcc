"""The neutral command request every adapter builds, who may change a channel, and user-facing errors."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.models import Destination, Platform


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A slash command as the core sees it, whatever platform it came from.

    `text` is what followed the command name (`subscribe korea digest at 08:00`). `is_channel_manager`
    is the platform's own answer (Slack: channel manager or workspace admin; Discord: Manage Channels).
    """

    platform: Platform
    workspace: str
    channel: str
    user: str
    text: str
    thread: str | None = None
    is_channel_manager: bool = False
    # Role ids and names the user holds (Discord roles; empty where the platform has none).
    roles: tuple[str, ...] = ()
    user_name: str = ""

    @property
    def destination(self) -> Destination:
        """Where a reply goes: the channel, in the thread the command came from."""
        return Destination(self.platform, self.workspace, self.channel, self.thread)

    @property
    def channel_destination(self) -> Destination:
        """The channel itself, which is what subscriptions and mutes belong to."""
        return Destination(self.platform, self.workspace, self.channel)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Who besides channel managers may change a channel's subscriptions and the topics."""

    # User ids, bare (`U024BE7LH`) or qualified by platform (`slack:U024BE7LH`).
    admins: tuple[str, ...] = ()
    # Role ids or names (matched without regard to case).
    admin_roles: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        roles = (settings.discord.admin_role,) if settings.discord.admin_role else ()
        return cls(admins=settings.admins, admin_roles=roles)

    def allows(self, request: CommandRequest) -> bool:
        if request.is_channel_manager:
            return True
        if request.user in self.admins or f"{request.platform.value}:{request.user}" in self.admins:
            return True
        wanted = {role.casefold() for role in self.admin_roles}
        return any(role.casefold() in wanted for role in request.roles)


class CommandError(Exception):
    """An error the user caused or can fix; its message is the one-line reply they see."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class UsageError(CommandError):
    """The command text does not follow the grammar."""
