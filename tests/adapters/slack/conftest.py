"""The Slack adapter under test: the real bolt app and slack_sdk, a Runtime over a real SQLite store with the
seed news, and the fake Slack on loopback. `slack_http` and `slack_socket` start it in either mode."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from adapters.slack import SLACK_CAPABILITIES, SlackAdapter
from bot.clock import ManualClock
from bot.config import Secrets, Settings, settings_from_mapping
from bot.models import Subscription
from bot.runtime import JobContext, JobHooks, RunningJobs, Runtime
from bot.services.digest_now import queue_digests_now
from bot.store import Store, open_store
from bot.store.slack_installations import SlackInstallationRows
from jobs.delivery import DeliverySettings
from jobs.scheduler import JobSettings, start_jobs
from tests.bot.services.seed import T0, TOPICS, seed_news
from tests.fakes.slack import FakeSlack

NOW = T0.replace(day=20)
SIGNING_SECRET = "s3cr3t-signing"
TEAM = "T1"
CHANNEL = "C1"
# ADMIN is a workspace admin and a bot admin (`admins` in the settings); OWNER only a workspace owner.
ADMIN, OWNER, CREATOR, MEMBER = "UADMIN", "UOWNER", "UCREATOR", "UMEMBER"
# A guest, and an admin of another organisation met in a shared channel.
GUEST, STRANGER = "UGUEST", "USTRANGER"
# A private channel CREATOR made; one shared with another organisation; MEMBER's DM with the app.
PRIVATE, SHARED, DM = "G1", "G2", "D1"
# Slack's block limits and pacing shape, but fast enough for tests (the real rate is 1/s a channel).
FAST_CAPS = replace(SLACK_CAPABILITIES, per_channel_rate=50.0, workspace_rate=500.0, global_rate=500.0)
FAST_DELIVERY = DeliverySettings(backoff_base_s=0.05, idle_check_s=0.05, linger_s=2.0, record_every_s=0.01)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = await FakeSlack().start()
    slack.users = {
        ADMIN: {"is_admin": True},
        OWNER: {"is_owner": True},
        CREATOR: {},
        MEMBER: {},
        GUEST: {"is_restricted": True},
        STRANGER: {"is_admin": True, "team_id": "T9", "is_stranger": True},
    }
    slack.channels = {
        CHANNEL: {"creator": CREATOR, "is_channel": True},
        "C2": {"creator": CREATOR},
        PRIVATE: {"creator": CREATOR, "is_private": True, "is_group": True},
        SHARED: {"creator": CREATOR, "is_private": True, "is_shared": True, "is_ext_shared": True},
        DM: {"is_im": True, "user": MEMBER},
    }
    yield slack
    await slack.stop()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A SQLite store of its own, for tests that drive the adapter without a Runtime."""
    opened = await open_store(f"sqlite:///{tmp_path / 'slack.sqlite'}")
    yield opened
    await opened.close()


def slack_settings(tmp_path: Path, fake: FakeSlack, *, mode: str = "http", **slack: Any) -> Settings:
    topics = [{"id": t.id, "name": t.name, "query": t.query} for t in TOPICS]
    return settings_from_mapping(
        {
            "data_dir": str(tmp_path),
            "topics": topics,
            "admins": [f"slack:{ADMIN}"],
            "slack": {"enabled": True, "mode": mode, "api_url": fake.api_url, "host": "127.0.0.1", **slack},
        }
    )


def secrets(**changes: str | None) -> Secrets:
    values: dict[str, str | None] = {
        "slack_bot_token": "xoxb-test",
        "slack_app_token": "xapp-test",
        "slack_signing_secret": SIGNING_SECRET,
    }
    values.update(changes)
    return Secrets(**values)


def sign(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature: HMAC-SHA256 over `v0:{timestamp}:{body}`."""
    mac = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return "v0=" + mac.hexdigest()


async def no_poll_jobs(context: JobContext, hooks: JobHooks) -> RunningJobs:
    """The real deliver and digest jobs, without the poll job (the seed sources are not on this machine)."""
    jobs = await start_jobs(
        context.store,
        context.adapters,
        context.settings,
        context.clock,
        job_settings=JobSettings(deliver_every_s=0.1, delivery=FAST_DELIVERY),
        owner=context.owner,
    )

    async def digest_now(subscriptions: Sequence[Subscription]) -> None:
        if await queue_digests_now(
            context.store, subscriptions, now=context.clock.now(), settings=context.settings.digest
        ):
            jobs.nudge_delivery()

    hooks.request_digest = digest_now
    return jobs


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    """Until `check()` holds: for state another task (the deliver job) changes in the store."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not true after {seconds} s")


@dataclass
class Bot:
    """A running storywatch with the Slack adapter, and ways to talk to it as Slack would."""

    fake: FakeSlack
    adapter: SlackAdapter
    runtime: Runtime
    session: aiohttp.ClientSession
    mode: str = "http"
    _replies: int = 0

    @property
    def url(self) -> str:
        port = getattr(self.adapter.transport, "port", None)
        return f"http://127.0.0.1:{port}/slack/events"

    def command_body(self, text: str, *, user: str = ADMIN, channel: str = CHANNEL, name: str = "r") -> str:
        return urlencode(self.command_fields(text, user=user, channel=channel, name=name))

    def command_fields(self, text: str, *, user: str, channel: str, name: str) -> dict[str, str]:
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "news",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/story",
            "text": text,
            "api_app_id": "A1",
            "response_url": self.fake.response_url(name),
            "trigger_id": "1.2.3",
        }

    async def post(
        self,
        body: str,
        *,
        timestamp: str | None = None,
        secret: str = SIGNING_SECRET,
        signed: str | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> tuple[int, str]:
        """POST `body` as Slack would, signed (over `signed` instead, to forge a changed body)."""
        stamp = timestamp or str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(body if signed is None else signed, stamp, secret),
        }
        async with self.session.post(self.url, data=body.encode(), headers=headers) as response:
            return response.status, await response.text()

    async def command(self, text: str, *, user: str = ADMIN, channel: str = CHANNEL) -> dict[str, Any]:
        """Run a slash command (signed HTTP, or an envelope over the Socket Mode WebSocket); the reply that
        arrives at its response_url."""
        self._replies += 1
        name = f"r{self._replies}"
        if self.mode == "http":
            status, _ = await self.post(self.command_body(text, user=user, channel=channel, name=name))
            assert status == 200
        else:
            fields = self.command_fields(text, user=user, channel=channel, name=name)
            envelope = await self.fake.socket.send("slash_commands", fields)
            await self.fake.wait_for(lambda: self.fake.socket.ack_for(envelope) is not None)
        return await self.reply(name)

    async def reply(self, name: str) -> dict[str, Any]:
        await self.fake.wait_for(lambda: any(n == name for n, _ in self.fake.responses))
        return next(payload for n, payload in self.fake.responses if n == name)

    def click_payload(
        self, action: dict[str, Any], *, user: str = ADMIN, name: str = "click"
    ) -> dict[str, Any]:
        """A block_actions payload, as Slack sends for a button click on a message in channel C1."""
        return {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "test"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "token": "legacy",
            "container": {"type": "message", "message_ts": "1.000001", "channel_id": CHANNEL},
            "trigger_id": "1.2.3",
            "channel": {"id": CHANNEL, "name": "news"},
            "message": {"ts": "1.000001", "text": "alert"},
            "response_url": self.fake.response_url(name),
            "actions": [{**action, "block_id": "b1", "type": "button", "action_ts": "2.0"}],
        }

    def click_body(self, action: dict[str, Any], *, user: str = ADMIN, name: str = "click") -> str:
        return urlencode({"payload": json.dumps(self.click_payload(action, user=user, name=name))})

    async def click(
        self, action: dict[str, Any], *, user: str = ADMIN, name: str = "click"
    ) -> tuple[int, str]:
        """A signed block_actions POST."""
        return await self.post(self.click_body(action, user=user, name=name))


StartBot = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def start_bot(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[StartBot]:
    """Starts storywatch (seed news in its store) with the Slack adapter in the given mode."""
    running: list[Bot] = []
    stores: list[Store] = []

    async def start(
        *, mode: str = "http", caps: Any = FAST_CAPS, secret_changes: dict[str, str | None] | None = None
    ) -> Bot:
        settings = slack_settings(tmp_path, fake, mode=mode)
        store = await open_store(settings.effective_database_url)
        try:
            await seed_news(store)
        finally:
            await store.close()
        # The adapter's own handle on the database (for OAuth installations), beside the runtime's.
        adapter_store = await open_store(settings.effective_database_url)
        stores.append(adapter_store)
        clock = ManualClock(NOW)
        adapter = SlackAdapter(
            settings.slack,
            secrets(**(secret_changes or {})),
            SlackInstallationRows(adapter_store),
            clock,
            capabilities=caps,
            http_port=0,
        )
        runtime = Runtime(settings, clock=clock, adapters=[adapter], jobs=no_poll_jobs)
        await runtime.start()
        if mode == "socket":
            await fake.socket.connected.wait()
        bot = Bot(fake, adapter, runtime, aiohttp.ClientSession(), mode)
        running.append(bot)
        return bot

    yield start
    for bot in running:
        await bot.runtime.stop()
        await bot.session.close()
    for store in stores:
        await store.close()
