"""An interaction as the core's CommandRequest, and typed slash-command options as the core's command text.

The core has one grammar for every platform, so a slash subcommand becomes the text a console or Slack
user would type (`subscribe korea digest at 08:00`); options are joined with spaces, so a value that
must be one word is checked here (a space would change what the core reads).
"""

from __future__ import annotations

import discord

from bot.chat import CommandRequest
from bot.models import Platform


class OptionError(Exception):
    """An option value the command text cannot carry; its message is the private reply."""


def request_for(interaction: discord.Interaction, text: str) -> CommandRequest:
    """Who asked, where: a command in a thread belongs to the thread's channel (subscriptions are
    per channel) and its reply to the thread."""
    channel_id, thread_id = where(interaction)
    user = interaction.user
    permissions = interaction.permissions
    return CommandRequest(
        platform=Platform.DISCORD,
        workspace=str(interaction.guild_id or ""),
        channel=channel_id,
        user=str(user.id),
        text=text,
        thread=thread_id,
        # Manage Channels as resolved for this channel (with its overwrites); outside a server, nobody.
        is_channel_manager=interaction.guild_id is not None
        and (permissions.manage_channels or permissions.administrator),
        roles=tuple(str(role.id) for role in roles_of(user)),
        role_names=tuple(role.name for role in roles_of(user)),
        user_name=user.display_name,
    )


def where(interaction: discord.Interaction) -> tuple[str, str | None]:
    """(channel id, thread id or None) of the interaction."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return str(channel.parent_id), str(channel.id)
    return str(interaction.channel_id or ""), None


def roles_of(user: discord.User | discord.Member) -> list[discord.Role]:
    """The member's roles in this server; @everyone is no role to match."""
    if not isinstance(user, discord.Member):
        return []
    return [role for role in user.roles if not role.is_default()]


def word(value: str, what: str) -> str:
    """A value that must stay one word in the command text."""
    value = value.strip()
    if not value or any(character.isspace() for character in value):
        raise OptionError(f"{what} is one word without spaces, not '{value[:40]}'")
    return value


def command_text(*parts: str | None) -> str:
    """The words of a command, leaving out options not given."""
    return " ".join(part for part in parts if part)


def switch(value: bool | None, on: str, off: str) -> str | None:
    """A yes/no option as the grammar's word for it; None when not given (keep the current value)."""
    if value is None:
        return None
    return on if value else off
