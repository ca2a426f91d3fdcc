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
from aiohttp.typedefs import Handler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.errors import error_code
from bot.config import ConfigError

log = logging.getLogger("storywatch.adapters.slack")

CONNECT_TIMEOUT_S = 30.0
# The Request URL is public: a connection gets this long for a request head (aiohttp's default is an
# hour), and a request this long for its body, so slow clients cannot hold sockets open.
IDLE_TIMEOUT_S = 30.0
BODY_TIMEOUT_S = 10.0


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
        app = AsyncApp(client=client, signing_secret=signing_secret, oauth_settings=oauth, logger=log)
    elif bot_token is None:
        raise ValueError("a Slack app needs a bot token or OAuth settings")
    else:
        app = AsyncApp(
            client=client,
            signing_secret=signing_secret,
            # Socket Mode requests are not signed; bolt checks HTTP ones only when this is on.
            request_verification_enabled=signing_secret is not None,
            authorize=_single_workspace(client, bot_token),
            logger=log,
        )
    app.error(_unreadable)
    return app


async def _unreadable(error: Exception) -> BoltResponse:
    """A payload bolt cannot read (a field of an unexpected type) is a 400 and one log line, not a
    traceback: bolt raises on shapes it does not expect, and our listeners catch their own errors."""
    log.warning("slack: refused a request it could not read (%s: %.200r)", type(error).__name__, str(error))
    return BoltResponse(status=400, body="bad request")


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
        served = self._app.web_app(path=self._path, port=self._port)
        served.middlewares.append(_refuse_unreadable)
        runner = web.AppRunner(served, access_log=None, keepalive_timeout=IDLE_TIMEOUT_S)
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


@web.middleware
async def _refuse_unreadable(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A body bolt cannot even parse into a request (a JSON list, a string) is a 400 and one log line:
    bolt reads the body before it checks the signature, so anyone could fill the log with tracebacks.
    The body is read here first, within BODY_TIMEOUT_S."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            await request.read()
    except TimeoutError:
        return web.Response(status=408, text="request timeout")
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:  # bolt's own parsing; what it parses goes on to bolt's error handler
        log.warning("slack: refused a request it could not parse (%s)", type(exc).__name__)
        return web.Response(status=400, text="bad request")


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    """The port actually listened on (port 0 asks the system for a free one)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
