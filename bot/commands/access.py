"""Who may run what: reading is for everyone, a channel's changes for its managers, topics for bot admins.

Topics are shared by every channel on every platform, so only bot admins (named in the settings) change
them; what one channel receives (subscriptions, mutes, `digest now`) is its managers' business, as the
platform tells us (Slack: workspace admins, a private channel's creator, a DM's own user; Discord:
Manage Channels). The console stands for the operator's own terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.commands.request import CommandRequest
from bot.commands.syntax import (
    AddTopic,
    Command,
    DigestNow,
    Mute,
    RemoveTopic,
    Subscribe,
    Unmute,
    Unsubscribe,
)
from bot.config import Settings
from bot.models import Platform


class Need(Enum):
    NOTHING = "nothing"
    # Changes what one channel receives.
    CHANNEL = "channel"
    # Changes the topics every channel shares.
    TOPICS = "topics"


# By the command's first word, as people type it (help and the Discord subcommands use these names too).
NEEDS: dict[str, Need] = {
    "subscribe": Need.CHANNEL,
    "unsubscribe": Need.CHANNEL,
    "mute": Need.CHANNEL,
    "unmute": Need.CHANNEL,
    "digest": Need.CHANNEL,
    "topic": Need.TOPICS,
}

_NAMES: dict[type[Command], str] = {
    Subscribe: "subscribe",
    Unsubscribe: "unsubscribe",
    Mute: "mute",
    Unmute: "unmute",
    DigestNow: "digest now",
    AddTopic: "topic add",
    RemoveTopic: "topic remove",
}

# What makes a channel manager, per platform: the end of a refusal.
_MANAGER_SIGNS = {
    Platform.SLACK: "a workspace admin or owner, or the creator of this private channel",
    Platform.DISCORD: "the Manage Channels permission in this channel",
}


def name_of(command: Command) -> str:
    """The command as people type it (`topic add`), for refusals and logs."""
    return _NAMES.get(type(command), type(command).__name__.lower())


def need_of(command: Command) -> Need:
    return need_for(name_of(command))


def need_for(name: str) -> Need:
    """The need of a command by its typed name (`digest now`, `topic add`, `mute`)."""
    words = name.split()
    return NEEDS.get(words[0], Need.NOTHING) if words else Need.NOTHING


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    # User ids, qualified by platform (`slack:U024BE7LH`) or bare (any platform).
    admins: tuple[str, ...] = ()
    # Role ids whose members are bot admins (ids are unique across Discord; names are not).
    admin_role_ids: tuple[str, ...] = ()
    # Role names whose members manage the channels of their own server (matched without regard to case).
    manager_role_names: tuple[str, ...] = ()
    # Who to ask for a topic change.
    admin_contact: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        role = (settings.discord.admin_role or "").strip()
        return cls(
            admins=tuple(admin for admin in settings.admins if admin.strip()),
            admin_role_ids=(role,) if role.isdigit() else (),
            manager_role_names=(role,) if role and not role.isdigit() else (),
            admin_contact=settings.access.admin_contact.strip(),
        )

    def is_admin(self, request: CommandRequest) -> bool:
        if request.platform is Platform.CONSOLE and request.is_channel_manager:
            # The console is the operator's own terminal: who types there runs the bot.
            return True
        if request.user and (
            request.user in self.admins or f"{request.platform.value}:{request.user}" in self.admins
        ):
            return True
        return any(role in self.admin_role_ids for role in request.roles)

    def manages_channel(self, request: CommandRequest) -> bool:
        if request.is_channel_manager or self.is_admin(request):
            return True
        wanted = {name.casefold() for name in self.manager_role_names}
        return any(name.casefold() in wanted for name in request.role_names)

    def allows(self, request: CommandRequest, need: Need) -> bool:
        if need is Need.TOPICS:
            return self.is_admin(request)
        if need is Need.CHANNEL:
            return self.manages_channel(request)
        return True

    def refusal(self, request: CommandRequest, need: Need, name: str) -> str:
        """The one-line private reply to a refused command: what it needs."""
        if need is Need.TOPICS:
            ask = f"ask an admin: {self.admin_contact}" if self.admin_contact else "ask whoever runs this bot"
            return f"only bot admins can change topics ({ask})"
        sign = _MANAGER_SIGNS.get(request.platform)
        if sign and request.platform is Platform.DISCORD and self.manager_role_names:
            sign += f" or the '{self.manager_role_names[0]}' role"
        where = f" ({sign})" if sign else ""
        return f"only channel managers or bot admins can use '{name}' here{where}"
