"""Slack payloads as the core's CommandRequest: slash commands, and button clicks as their command.

A click runs the same command text a user could type (`mute 12`), through the same grammar and
permission checks, as the user who clicked; a button whose action the core does not know does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.slack.render import ACTION_PREFIX
from bot.commands import CommandRequest, command_for_button
from bot.models import Button, Platform


def workspace_of(body: Mapping[str, Any]) -> str:
    """The team (workspace) id of a slash command or an interaction payload."""
    team = body.get("team")
    if isinstance(team, Mapping) and team.get("id"):
        return str(team["id"])
    user = body.get("user")
    if isinstance(user, Mapping) and user.get("team_id"):
        return str(user["team_id"])
    return str(body.get("team_id") or "")


def slash_command_request(body: Mapping[str, Any], *, is_channel_manager: bool) -> CommandRequest:
    """A slash command's form fields (`team_id`, `channel_id`, `user_id`, `text`...) as a request."""
    return CommandRequest(
        platform=Platform.SLACK,
        workspace=workspace_of(body),
        channel=str(body.get("channel_id") or ""),
        user=str(body.get("user_id") or ""),
        text=str(body.get("text") or "").strip(),
        is_channel_manager=is_channel_manager,
        user_name=str(body.get("user_name") or ""),
    )


def clicked_button(action: Mapping[str, Any]) -> Button | None:
    """The core Button behind a block_actions action (our action_id carries the core's action id)."""
    action_id = str(action.get("action_id") or "")
    if not action_id.startswith(ACTION_PREFIX):
        return None
    core_action = action_id[len(ACTION_PREFIX) :].rpartition(":")[0]
    label = action.get("text")
    text = str(label.get("text", "")) if isinstance(label, Mapping) else ""
    return Button(text, core_action, str(action.get("value") or ""))


def button_click_request(
    body: Mapping[str, Any], action: Mapping[str, Any], *, is_channel_manager: bool
) -> CommandRequest | None:
    """The command a click runs, as the clicking user in the message's channel (and thread); None when the
    click is not one of our command buttons or came from outside a channel (a modal, the Home tab)."""
    button = clicked_button(action)
    command = command_for_button(button) if button is not None else None
    channel = body.get("channel")
    user = body.get("user")
    if command is None or not isinstance(channel, Mapping) or not isinstance(user, Mapping):
        return None
    container = body.get("container")
    message = body.get("message")
    thread = (container.get("thread_ts") if isinstance(container, Mapping) else None) or (
        message.get("thread_ts") if isinstance(message, Mapping) else None
    )
    return CommandRequest(
        platform=Platform.SLACK,
        workspace=workspace_of(body),
        channel=str(channel.get("id") or ""),
        user=str(user.get("id") or ""),
        text=command,
        thread=str(thread) if thread else None,
        is_channel_manager=is_channel_manager,
        user_name=str(user.get("username") or user.get("name") or ""),
    )
