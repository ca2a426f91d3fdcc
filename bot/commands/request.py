"""The neutral command request every adapter builds, and user-facing errors."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Destination, Platform


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A slash command as the core sees it, whatever platform it came from.

    `text` is what followed the command name (`subscribe korea digest at 08:00`). `is_channel_manager`
    is the platform's own answer for this channel (Slack: a workspace admin, a private channel's creator,
    the user of their own DM with the app; Discord: Manage Channels); see bot.commands.access.
    """

    platform: Platform
    workspace: str
    channel: str
    user: str
    text: str
    thread: str | None = None
    is_channel_manager: bool = False
    # Role ids the user holds (Discord roles; empty where the platform has none).
    roles: tuple[str, ...] = ()
    # Their names, apart: a name can be made up in any server, an id cannot.
    role_names: tuple[str, ...] = ()
    user_name: str = ""

    @property
    def destination(self) -> Destination:
        """Where a reply goes: the channel, in the thread the command came from."""
        return Destination(self.platform, self.workspace, self.channel, self.thread)

    @property
    def channel_destination(self) -> Destination:
        """The channel itself, which is what subscriptions and mutes belong to."""
        return Destination(self.platform, self.workspace, self.channel)


class CommandError(Exception):
    """An error the user caused or can fix; its message is the one-line reply they see."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class UsageError(CommandError):
    """The command text does not follow the grammar."""
