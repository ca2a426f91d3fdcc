"""Slash commands, platform-neutral: one grammar, one dispatcher, handlers that return their reply."""

from bot.commands.access import AccessPolicy, Need, need_for
from bot.commands.dispatch import command_for_button, handle, help_reply
from bot.commands.grammar import parse
from bot.commands.request import CommandError, CommandRequest, UsageError
from bot.commands.services import CommandServices, StoryDetails
from bot.commands.syntax import SPECS, Command
from bot.views import Timeline

__all__ = [
    "SPECS",
    "AccessPolicy",
    "Command",
    "CommandError",
    "CommandRequest",
    "CommandServices",
    "Need",
    "StoryDetails",
    "Timeline",
    "UsageError",
    "command_for_button",
    "handle",
    "help_reply",
    "need_for",
    "parse",
]
