"""A real discord.py bot (the storywatch adapter) against the local fake Discord, over a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket
from sqlalchemy import select

from adapters.discord import DiscordAdapter
from bot.chat import AdapterContext
from bot.clock import SystemClock
from bot.commands import AccessPolicy, CommandRequest, handle
from bot.config import Secrets, Settings, settings_from_mapping
from bot.models import Message
from bot.services import StoreCommandServices
from bot.store import Store, open_store
from bot.store.ports import adapter_ports
from bot.store.schema import stories
from tests.bot.services.seed import seed_news
from tests.fakes.discord import MEMBER, MODERATOR, TOKEN, FakeDiscord, Person, Reply

MODERATOR_ID, READER_ID, BOT_ADMIN_ID = 1_000_001, 1_000_002, 1_000_003


def point_discord_py_at(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py's two base URLs (internal, hence the pinned minor version) to the fake."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    started = await FakeDiscord().start()
    point_discord_py_at(started, monkeypatch)
    yield started
    await started.stop()


def discord_settings(tmp_path: Path, *, admins: tuple[str, ...] = (), **discord_options: Any) -> Settings:
    return settings_from_mapping(
        {"data_dir": str(tmp_path), "admins": list(admins), "discord": {"enabled": True, **discord_options}},
    )


@dataclass
class Bot:
    adapter: DiscordAdapter
    store: Store
    settings: Settings
    requests: list[CommandRequest]


Handler = Callable[[CommandRequest], Awaitable[Message]]


async def start_bot(
    store: Store, settings: Settings, *, handler: Handler | None = None, **adapter_options: Any
) -> Bot:
    """The adapter, started on the real core (StoreCommandServices) unless a handler is given."""
    services = StoreCommandServices(store, SystemClock(), settings)
    access = AccessPolicy.from_settings(settings)
    requests: list[CommandRequest] = []

    async def core(request: CommandRequest) -> Message:
        requests.append(request)
        if handler is not None:
            return await handler(request)
        return await handle(request, services, access=access)

    context = AdapterContext(settings, Secrets(discord_token=TOKEN), adapter_ports(store), SystemClock())
    adapter = DiscordAdapter(context, guild_ready_timeout=0.05, **adapter_options)
    await adapter.start(core)
    return Bot(adapter, store, settings, requests)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A SQLite store holding the seed news (topics korea and fed, their stories) from the real engine."""
    opened = await open_store(f"sqlite:///{tmp_path / 'discord.sqlite'}")
    await seed_news(opened)
    yield opened
    await opened.close()


def moderator() -> Person:
    return Person(MODERATOR_ID, "mod", MODERATOR)


def reader(*roles: int) -> Person:
    return Person(READER_ID, "reader", MEMBER, roles)


def bot_admin() -> Person:
    """Listed in `admins`; no Manage Channels of their own."""
    return Person(BOT_ADMIN_ID, "boss", MEMBER)


async def ask(fake: FakeDiscord, *path: str, person: Person | None = None, **options: Any) -> Reply:
    """Run a `/story` subcommand as `person` (a moderator by default) and wait for the reply people see."""
    interaction = await fake.slash(*path, person=person or moderator(), **options)
    return await fake.answer_to(interaction)


@pytest.fixture
async def bot(fake: FakeDiscord, store: Store, tmp_path: Path) -> AsyncIterator[Bot]:
    settings = discord_settings(tmp_path, admins=(f"discord:{BOT_ADMIN_ID}",), admin_role="news-editors")
    started = await start_bot(store, settings)
    yield started
    await started.adapter.stop()


async def korea_story(store: Store) -> int:
    async with store.read() as conn:
        query = select(stories.c.id).where(stories.c.topic_id == "korea").order_by(stories.c.id)
        story_id = (await conn.execute(query)).scalars().first()
    assert story_id is not None
    return int(story_id)
