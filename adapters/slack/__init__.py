"""Slack: slash commands, buttons and Block Kit messages through slack-bolt (Socket Mode or HTTP)."""

from __future__ import annotations

from adapters.slack.adapter import SlackAdapter
from adapters.slack.limits import SLACK_CAPABILITIES
from bot.chat import AdapterContext, ChatAdapter

__all__ = ["SLACK_CAPABILITIES", "SlackAdapter", "create_adapter"]


def create_adapter(context: AdapterContext) -> ChatAdapter:
    """The runtime's entry point when `[slack] enabled = true`."""
    return SlackAdapter(
        context.settings.slack, context.secrets, context.ports.slack_installations, context.clock
    )
