"""The Discord ChatAdapter: commands and button clicks in, alerts and digests out, on discord.py.

start() logs in, syncs the `/story` commands and connects to the gateway; send() posts one part
through the transport. With `[discord] gateway = false` the process only sends (REST), for
deployments where another process holds the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord
from discord import app_commands

from adapters.discord.client import Sharding, build_client, recommended_sharding, sync_commands
from adapters.discord.commands import CommandContext, NotChannelManager, StoryCommands
from adapters.discord.convert import request_for
from adapters.discord.markup import DISCORD_CAPABILITIES
from adapters.discord.render import button_of
from adapters.discord.replies import QUICK_S, answer, tell
from adapters.discord.transport import Transport
from bot.chat import AdapterContext, CommandHandler
from bot.commands import AccessPolicy, command_for_button
from bot.config import ConfigError
from bot.messages import Capabilities, DeliveryError, Receipt
from bot.models import Destination, Message, Platform

log = logging.getLogger("storywatch.adapters.discord")

# How long start() waits for the gateway's READY before going on (REST sends work meanwhile).
READY_TIMEOUT_S = 60.0
# Clicks on these answer the channel (they change what it receives); the rest only the clicker.
_PUBLIC_BUTTONS = frozenset({"mute_story", "unmute_story"})


class DiscordAdapter:
    def __init__(
        self,
        context: AdapterContext,
        *,
        capabilities: Capabilities = DISCORD_CAPABILITIES,
        quick_s: float = QUICK_S,
        guild_ready_timeout: float = 2.0,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.settings = context.settings.discord
        self._token = context.secrets.discord_token
        self._capabilities = capabilities
        self._guild_ready_timeout = guild_ready_timeout
        self._quick_s = quick_s
        self._ready_timeout_s = ready_timeout_s
        self._on_command: CommandHandler | None = None
        self.commands = StoryCommands(
            CommandContext(
                lookups=context.ports.lookups,
                caps=capabilities,
                access=AccessPolicy.from_settings(context.settings),
                handler=lambda: self._on_command,
                quick_s=quick_s,
            )
        )
        self.client: discord.Client | None = None
        self.transport: Transport | None = None
        self._gateway: asyncio.Task[None] | None = None

    @property
    def platform(self) -> Platform:
        return Platform.DISCORD

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    async def start(self, on_command: CommandHandler) -> None:
        if self.client is not None:
            raise RuntimeError("the Discord adapter is already started")
        token = self._token
        if not token:
            raise ConfigError("discord.enabled is set but DISCORD_TOKEN is not in the environment")
        self._on_command = on_command
        try:
            sharding = await self._sharding(token)
        except discord.LoginFailure:
            raise ConfigError("DISCORD_TOKEN was refused by Discord: copy the bot token again") from None
        client = self.client = build_client(sharding, guild_ready_timeout=self._guild_ready_timeout)
        self.transport = Transport(client)
        tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
        tree.add_command(self.commands)
        tree.error(self._command_failed)
        client.event(self.on_interaction)
        try:
            await client.login(token)
            if not self.settings.gateway:
                log.info("discord: REST only (gateway = false): sending, not answering commands")
                return
            await sync_commands(tree, self.settings.test_guild)
            await self._connect(client)
        except BaseException:
            await self.stop()
            raise

    async def _sharding(self, token: str) -> Sharding:
        if self.settings.shard_count is not None:
            return Sharding(shard_count=self.settings.shard_count)
        if not self.settings.gateway:
            return Sharding()
        return await recommended_sharding(token)

    async def _connect(self, client: discord.Client) -> None:
        """Connect; return once the gateway session is up (READY: interactions arrive from then on)."""
        connected = asyncio.ensure_future(client.wait_for("connect"))
        gateway = self._gateway = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        gateway.add_done_callback(_gateway_ended)
        try:
            await asyncio.wait(
                {gateway, connected}, timeout=self._ready_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            connected.cancel()
        if gateway.done():
            # connect() ends only on a failure it cannot reconnect from (a revoked token, say).
            gateway.result()
            raise ConfigError("the Discord gateway closed at start")
        if connected.cancelled():
            log.warning("discord: no gateway session after %.0f s; still trying", self._ready_timeout_s)
        else:
            log.info("discord: connected to the gateway as %s", client.user)

    async def stop(self) -> None:
        client, self.client = self.client, None
        gateway, self._gateway = self._gateway, None
        self.transport = None
        if client is not None:
            await client.close()
        if gateway is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(gateway, 10.0)

    async def send(self, destination: Destination, message: Message) -> Receipt:
        transport = self.transport
        if transport is None:
            raise DeliveryError("retry", "the Discord adapter is not started", 5.0)
        return await transport.send(destination, message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Button clicks (the app commands go to the command tree on their own)."""
        if interaction.type is not discord.InteractionType.component or not isinstance(
            interaction.data, dict
        ):
            return
        button = button_of(str(interaction.data.get("custom_id", "")))
        text = command_for_button(button) if button is not None else None
        if button is None or text is None:
            return
        handler = self._on_command
        if handler is None:
            await tell(interaction, "storywatch is starting; try again in a moment")
            return
        request = request_for(interaction, text)
        private = button.action not in _PUBLIC_BUTTONS
        await answer(
            interaction, handler(request), self._capabilities, private=private, quick_s=self._quick_s
        )

    async def _command_failed(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, NotChannelManager):
            await tell(interaction, str(error))
            return
        if isinstance(error, app_commands.TransformerError | app_commands.CheckFailure):
            await tell(interaction, f"that option is not valid here: {error}")
            return
        log.error("discord: /%s failed", getattr(interaction.command, "qualified_name", "?"), exc_info=error)
        with contextlib.suppress(discord.HTTPException):
            await tell(interaction, "something went wrong (see the bot's log)")


def _gateway_ended(task: asyncio.Task[None]) -> None:
    """discord.py reconnects on its own; the gateway task ends only when stopped or on a fatal error."""
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "discord: the gateway connection ended: commands are not answered", exc_info=task.exception()
        )
