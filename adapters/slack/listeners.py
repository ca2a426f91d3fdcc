"""bolt listeners: the slash command and the buttons, acknowledged at once, answered through response_url.

Slack wants an acknowledgement within 3 seconds; the core may take longer (a search, a digest), so
each listener acks first and answers with `respond` (the payload's response_url, good for 30 minutes):
ephemeral when the reply concerns only the caller, in the channel otherwise.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.convert import button_click_request, slash_command_request, workspace_of
from adapters.slack.managers import ChannelManagers
from adapters.slack.render import ACTION_PREFIX, LINK_PREFIX, render
from bot.commands import CommandRequest
from bot.messages import Capabilities, fit_message
from bot.models import Message

log = logging.getLogger("storywatch.adapters.slack")

RunCommand = Callable[[CommandRequest], Awaitable[Message]]


def register(
    app: AsyncApp,
    *,
    command: str,
    run: RunCommand,
    managers: ChannelManagers,
    capabilities: Capabilities,
    multi_workspace: bool,
) -> None:
    """Route the slash command and our button clicks to `run` (the core's on_command), and answer the
    app events the manifest subscribes to."""

    async def on_slash_command(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        manager = await managers.is_manager(
            client, workspace_of(body), str(body.get("channel_id") or ""), str(body.get("user_id") or "")
        )
        reply = await _run(run, slash_command_request(body, is_channel_manager=manager))
        await _answer(respond, reply, capabilities)

    async def on_button(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        request = button_click_request(body, action, is_channel_manager=False)
        if request is None:
            log.info("slack: ignored a click on %r", action.get("action_id"))
            return
        manager = await managers.is_manager(client, request.workspace, request.channel, request.user)
        reply = await _run(run, replace(request, is_channel_manager=manager))
        await _answer(respond, reply, capabilities)

    async def on_link(ack: AsyncAck) -> None:
        # A link button opens its URL in the browser; Slack still tells us, and wants an answer.
        await ack()

    async def on_removed(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        log.warning(
            "slack: the app was uninstalled or its tokens revoked in workspace %s; deliveries there will "
            "pause until it is installed again",
            workspace_of(body),
        )

    app.command(command)(on_slash_command)
    if multi_workspace:
        # bolt's own: forget the workspace's installation in our store.
        app.enable_token_revocation_listeners()
    else:
        app.event("app_uninstalled")(on_removed)
        app.event("tokens_revoked")(on_removed)
    app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(on_button)
    app.action(re.compile("^" + re.escape(LINK_PREFIX)))(on_link)


async def _run(run: RunCommand, request: CommandRequest) -> Message:
    try:
        return await run(request)
    except Exception:
        log.exception("slack: command %r failed", request.text[:200])
        return Message(text="something went wrong (see the bot's log)", ephemeral=True)


async def _answer(respond: AsyncRespond, reply: Message, capabilities: Capabilities) -> None:
    """The core's reply through response_url, cut to one message (a reply cannot continue in a thread)."""
    rendered = render(fit_message(reply, capabilities))
    try:
        await respond(
            text=rendered.text,
            blocks=rendered.blocks,
            response_type="ephemeral" if reply.ephemeral else "in_channel",
            replace_original=False,
            unfurl_links=False,
            unfurl_media=False,
        )
    except Exception:
        # The user sees Slack's own "didn't respond" note; the log says why.
        log.exception("slack: the reply through response_url failed")
