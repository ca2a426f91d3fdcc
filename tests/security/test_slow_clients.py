"""Slow clients on the bot's own HTTP servers: the Slack Request URL (public) and the ops server.

aiohttp closes a connection that has not sent a whole request head after its keep-alive timeout, which
AppRunner leaves at an hour; and nothing timed the body bolt reads before checking the signature. A
client sending a byte now and then could so hold a connection (a file descriptor) per socket for an
hour, or for ever. Both are now bounded: a head within IDLE_TIMEOUT_S, a body within BODY_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import transport
from adapters.slack.transport import HttpTransport, build_app
from bot.clock import ManualClock
from bot.config import MetricsSettings
from bot.store import Store, open_store
from jobs import ops_server
from jobs.liveness import Liveness
from jobs.metrics import PrometheusMetrics
from jobs.ops_server import OpsServer
from tests.bot.services.seed import T0

# How long the test waits for the server to hang up: far above the timeouts it sets, far below an hour.
GIVE_UP_S = 20.0


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "IDLE_TIMEOUT_S", 0.5, raising=False)
    monkeypatch.setattr(transport, "BODY_TIMEOUT_S", 0.5, raising=False)
    monkeypatch.setattr(ops_server, "IDLE_TIMEOUT_S", 0.5, raising=False)


@pytest.fixture
async def slack_port() -> AsyncIterator[int]:
    app = build_app(
        AsyncWebClient(base_url="http://127.0.0.1:9/"), signing_secret="s", bot_token="xoxb-1", oauth=None
    )
    served = HttpTransport(app, host="127.0.0.1", port=0, path="/slack/events")
    await served.start()
    assert served.port is not None
    yield served.port
    await served.stop()


@pytest.fixture
async def ops_port(tmp_path: Path) -> AsyncIterator[int]:
    store: Store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'ops.sqlite'}")
    settings = MetricsSettings.model_validate({"enabled": True, "port": 0})
    server = OpsServer(settings, store, ManualClock(T0), PrometheusMetrics(), Liveness())
    await server.start()
    yield server.port
    await server.stop()
    await store.close()


async def hung_up(port: int, sent: bytes) -> bytes:
    """What the server answers to `sent` and then nothing more, once it closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(sent)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), GIVE_UP_S)
    finally:
        writer.close()


async def test_a_request_head_that_never_ends_is_cut_off_on_slack(slack_port: int) -> None:
    assert await hung_up(slack_port, b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slow: a") == b""


async def test_a_body_that_never_comes_is_a_408_on_slack(slack_port: int) -> None:
    head = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\ncommand=%2Fstory"
    answer = await hung_up(slack_port, head)
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_request_head_that_never_ends_is_cut_off_on_the_ops_server(ops_port: int) -> None:
    assert await hung_up(ops_port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: a") == b""
