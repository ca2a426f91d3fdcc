"""How Slack reaches the bot: bolt's AsyncApp, over Socket Mode (the default) or HTTP.

Socket Mode opens a WebSocket from inside (apps.connections.open with the xapp- token): no public URL,
no TLS ingress, the best fit for a self-hosted bot. HTTP mode serves bolt's own aiohttp app on
`[slack] host/port/path` (plus the OAuth install and redirect pages in multi-workspace mode) behind
a public HTTPS Request URL; every request is checked against SLACK_SIGNING_SECRET.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.errors import error_code
from bot.config import ConfigError

log = logging.getLogger("storywatch.adapters.slack")

CONNECT_TIMEOUT_S = 30.0


class Transport(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def build_app(
    client: AsyncWebClient,
    *,
    signing_secret: str | None,
    bot_token: str | None,
    oauth: AsyncOAuthSettings | None,
) -> AsyncApp:
    """The bolt app: one bot token (`bot_token`), or the OAuth flow's installations (`oauth`)."""
    if oauth is not None:
        return AsyncApp(client=client, signing_secret=signing_secret, oauth_settings=oauth, logger=log)
    if bot_token is None:
        raise ValueError("a Slack app needs a bot token or OAuth settings")
    return AsyncApp(
        client=client,
        signing_secret=signing_secret,
        # Socket Mode requests are not signed; bolt checks HTTP ones only when this is on.
        request_verification_enabled=signing_secret is not None,
        authorize=_single_workspace(client, bot_token),
        logger=log,
    )


def _single_workspace(client: AsyncWebClient, bot_token: str) -> Callable[[], Awaitable[AuthorizeResult]]:
    """bolt's authorize for one bot token, given explicitly: otherwise SLACK_CLIENT_ID/SECRET in the
    environment would switch bolt to an OAuth flow with file stores of its own and ignore the token."""
    answer: list[AsyncSlackResponse] = []
    lock = asyncio.Lock()

    async def authorize() -> AuthorizeResult:
        async with lock:
            if not answer:
                answer.append(await client.auth_test(token=bot_token))
        return AuthorizeResult.from_auth_test_response(bot_token=bot_token, auth_test_response=answer[0])

    return authorize


class SocketModeTransport:
    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self._app = app
        self._app_token = app_token
        self._handler: AsyncSocketModeHandler | None = None

    async def start(self) -> None:
        # Ask for the WebSocket URL ourselves: a bad app token then fails start() with Slack's error,
        # where slack_sdk's connect() would log it and retry for ever.
        try:
            opened = await self._app.client.apps_connections_open(app_token=self._app_token)
        except SlackApiError as exc:
            raise ConfigError(
                f"SLACK_APP_TOKEN: Slack refused it ({error_code(exc)}); it needs connections:write"
            ) from None
        handler = AsyncSocketModeHandler(self._app, app_token=self._app_token, logger=log)
        handler.client.wss_uri = str(opened["url"])
        self._handler = handler
        await asyncio.wait_for(handler.connect_async(), CONNECT_TIMEOUT_S)  # type: ignore[no-untyped-call]
        log.info("slack: connected over Socket Mode")

    async def stop(self) -> None:
        handler, self._handler = self._handler, None
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]


class HttpTransport:
    def __init__(self, app: AsyncApp, *, host: str, port: int, path: str) -> None:
        self._app = app
        self._host, self._port, self._path = host, port, path
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        runner = web.AppRunner(self._app.web_app(path=self._path, port=self._port), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = _bound_port(runner, self._port)
        log.info("slack: serving HTTP on %s:%d%s", self._host, self.port, self._path)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    """The port actually listened on (port 0 asks the system for a free one)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
