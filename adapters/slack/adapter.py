"""The Slack ChatAdapter: bolt's AsyncApp for commands and buttons, chat.postMessage for deliveries.

Two ways to hold tokens: one bot token from SLACK_BOT_TOKEN (the default, one workspace), or, in HTTP
mode with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, bolt's OAuth flow with each workspace's token kept
in our store (multi-workspace). Destinations name the Slack team id as their workspace.
"""

from __future__ import annotations

import logging
from datetime import datetime

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.clients import posting_client, reading_client
from adapters.slack.errors import error_code, is_token_error
from adapters.slack.installations import StoreInstallations, oauth_settings
from adapters.slack.limits import SLACK_CAPABILITIES
from adapters.slack.listeners import register
from adapters.slack.managers import ChannelManagers
from adapters.slack.posting import Poster, missing_workspace
from adapters.slack.transport import HttpTransport, SocketModeTransport, Transport, build_app
from bot.chat import CommandHandler
from bot.clock import Clock
from bot.commands import CommandRequest
from bot.config import ConfigError, Secrets, SlackSettings
from bot.messages import Capabilities, DeliveryError, Receipt
from bot.models import Destination, Message, Platform
from bot.ports import SlackInstallationStore

log = logging.getLogger("storywatch.adapters.slack")

# How long a workspace's token, looked up in the store, is used before it is looked up again.
TOKEN_CACHE_S = 60.0


class SlackAdapter:
    def __init__(
        self,
        settings: SlackSettings,
        secrets: Secrets,
        installations: SlackInstallationStore,
        clock: Clock,
        *,
        capabilities: Capabilities = SLACK_CAPABILITIES,
        http_port: int | None = None,
    ) -> None:
        """`http_port` overrides `[slack] port` (tests listen on port 0)."""
        self._settings = settings
        self._capabilities = capabilities
        self._multi_workspace = _check(settings, secrets)
        self._bot_token = None if self._multi_workspace else secrets.slack_bot_token
        self._client_id = secrets.slack_client_id or ""
        self._installations = installations
        # No token of its own: bolt gives each request a copy holding the workspace's token.
        self._client = reading_client(settings.api_url)
        oauth = None
        if self._multi_workspace:
            bolt_installations = StoreInstallations(installations, clock, self._client_id)
            oauth = oauth_settings(bolt_installations, self._client_id, secrets.slack_client_secret or "")
        self.app = build_app(
            self._client,
            signing_secret=secrets.slack_signing_secret if settings.mode == "http" else None,
            bot_token=self._bot_token,
            oauth=oauth,
        )
        self._clock = clock
        self._managers = ChannelManagers(clock)
        self._poster = Poster(self._client_for, clock)
        self._session: aiohttp.ClientSession | None = None
        self._posting: dict[str, AsyncWebClient] = {}
        self._tokens: dict[str, tuple[datetime, str]] = {}
        self._on_command: CommandHandler | None = None
        self.transport: Transport
        if settings.mode == "http":
            port = settings.port if http_port is None else http_port
            self.transport = HttpTransport(self.app, host=settings.host, port=port, path=settings.path)
        else:
            self.transport = SocketModeTransport(self.app, secrets.slack_app_token or "")
        register(
            self.app,
            command=settings.command,
            run=self._run_command,
            managers=self._managers,
            capabilities=capabilities,
            multi_workspace=self._multi_workspace,
        )

    @property
    def platform(self) -> Platform:
        return Platform.SLACK

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    async def start(self, on_command: CommandHandler) -> None:
        self._on_command = on_command
        self._session = aiohttp.ClientSession()
        try:
            if self._bot_token is not None:
                await self._check_token()
            await self.transport.start()
        except BaseException:
            await self.stop()
            raise
        log.info(
            "slack adapter started: %s mode, %s",
            self._settings.mode,
            "multi-workspace (OAuth)" if self._multi_workspace else "one workspace (SLACK_BOT_TOKEN)",
        )

    async def stop(self) -> None:
        await self.transport.stop()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        self._posting.clear()

    async def send(self, destination: Destination, message: Message) -> Receipt:
        try:
            return await self._poster.post(destination, message)
        except DeliveryError as exc:
            if not is_token_error(exc) or self._tokens.pop(destination.workspace, None) is None:
                raise
        # The workspace's cached token is dead, perhaps replaced by a reinstall: look it up once more
        # (Slack posted nothing, so trying again is safe).
        return await self._poster.post(destination, message)

    async def _run_command(self, request: CommandRequest) -> Message:
        if self._on_command is None:
            return Message(text="storywatch is starting; try again in a moment", ephemeral=True)
        return await self._on_command(request)

    async def _check_token(self) -> None:
        try:
            answer = await self._client.auth_test(token=self._bot_token)
        except SlackApiError as exc:
            raise ConfigError(f"SLACK_BOT_TOKEN: Slack refused it ({error_code(exc)})") from None
        log.info(
            "slack: bot %s in workspace %s (%s)",
            answer.get("user_id"),
            answer.get("team_id"),
            answer.get("team"),
        )

    async def _client_for(self, workspace: str) -> AsyncWebClient:
        """The posting client holding the workspace's bot token."""
        token = self._bot_token or await self._workspace_token(workspace)
        client = self._posting.get(token)
        if client is None:
            client = self._posting[token] = posting_client(token, self._settings.api_url, self._session)
        return client

    async def _workspace_token(self, workspace: str) -> str:
        cached = self._tokens.get(workspace)
        if cached is not None and (self._clock.now() - cached[0]).total_seconds() < TOKEN_CACHE_S:
            return cached[1]
        token = await self._installations.bot_token(self._client_id, workspace)
        if token is None:
            raise missing_workspace(workspace)
        self._tokens[workspace] = (self._clock.now(), token)
        return token


def _check(settings: SlackSettings, secrets: Secrets) -> bool:
    """Refuse settings Slack would refuse later, saying what is missing; True for multi-workspace mode."""
    oauth = bool(secrets.slack_client_id and secrets.slack_client_secret)
    if settings.mode == "http":
        if not secrets.slack_signing_secret:
            raise ConfigError("slack.mode = 'http' needs SLACK_SIGNING_SECRET in the environment")
        if oauth:
            return True
    elif oauth:
        log.warning(
            "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are used in HTTP mode only; Socket Mode uses SLACK_BOT_TOKEN"
        )
    if not secrets.slack_bot_token:
        raise ConfigError(
            "slack.enabled needs SLACK_BOT_TOKEN (xoxb-…) in the environment"
            + ("" if settings.mode == "socket" else ", or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth")
        )
    if settings.mode == "socket" and not (secrets.slack_app_token or "").startswith("xapp-"):
        raise ConfigError("slack.mode = 'socket' needs SLACK_APP_TOKEN (xapp-…, with connections:write)")
    return False
