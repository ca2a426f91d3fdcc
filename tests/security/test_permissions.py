"""Who may do what, as a table: every changing command for every kind of caller, through the real core
(StoreCommandServices on a real SQLite store holding the seed news), and what the store holds after.

A refusal is one private line naming what is needed, and changes nothing; reading is everyone's.
The platform adapters' own signals (Slack's admins, creators and DMs, Discord's Manage Channels and
roles) are tested through the adapters in tests/adapters/*/test_permissions.py.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.commands import AccessPolicy, CommandRequest, handle
from bot.config import settings_from_mapping
from bot.models import Destination, Message, Platform, Subscription
from bot.services import StoreCommandServices
from bot.store import Store, open_store
from bot.store.subscriptions import list_subscriptions, muted_stories
from bot.store.topics import list_topics
from tests.bot.services.seed import T0, seed_news

NOW = T0 + timedelta(days=20)
HERE = Destination(Platform.SLACK, "T1", "C1")
ACCESS = AccessPolicy(admins=("slack:UBOSS",), admin_role_ids=("42",))
# Each caller: how the request carries who they are.
CALLERS = {
    "member": {"user": "UMEMBER"},
    "channel manager": {"user": "UMOD", "is_channel_manager": True},
    "bot admin": {"user": "UBOSS"},
    "admin role": {"user": "UROLE", "roles": ("42",)},
    "role named like the admin role's id": {"user": "UFAKE", "role_names": ("42",)},
    "admin of the same id on another platform": {"user": "UBOSS", "platform": Platform.DISCORD},
}
CHANNEL_WIDE = {"channel manager", "bot admin", "admin role"}
ADMINS = {"bot admin", "admin role"}
TOPICS_REFUSED = "only bot admins can change topics (ask whoever runs this bot)"
# Each change: who may run it, and the refusal everyone else gets.
CHANGES = {
    "subscribe fed": (CHANNEL_WIDE, "only channel managers or bot admins can use 'subscribe' here"),
    "unsubscribe korea": (CHANNEL_WIDE, "only channel managers or bot admins can use 'unsubscribe' here"),
    "mute 1": (CHANNEL_WIDE, "only channel managers or bot admins can use 'mute' here"),
    "unmute 2": (CHANNEL_WIDE, "only channel managers or bot admins can use 'unmute' here"),
    "digest now": (CHANNEL_WIDE, "only channel managers or bot admins can use 'digest now' here"),
    'topic add chips "TSMC" OR semiconductor': (ADMINS, TOPICS_REFUSED),
    "topic remove korea": (ADMINS, TOPICS_REFUSED),
}
READS = ("list", "topics", "lookup summit", "timeline korea", "timeline 1", "story 1", "sources", "help")


async def _seed(path: Path) -> None:
    store = await open_store(f"sqlite:///{path}")
    try:
        await seed_news(store)
        services = StoreCommandServices(store, ManualClock(NOW), settings_from_mapping({}))
        await services.subscribe(Subscription(HERE, "korea"))
        await services.mute_story(HERE, 2)
    finally:
        await store.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed news through the engine once for the module; HERE follows korea and has muted story 2."""
    path = tmp_path_factory.mktemp("perms") / "seeded.sqlite"
    asyncio.run(_seed(path))
    return path


@pytest.fixture
async def seeded(template: Path, tmp_path: Path) -> AsyncIterator[Store]:
    copy = tmp_path / "perms.sqlite"
    shutil.copyfile(template, copy)
    store = await open_store(f"sqlite:///{copy}")
    yield store
    await store.close()


class Digests:
    def __init__(self) -> None:
        self.requested: list[Subscription] = []

    async def __call__(self, subscriptions: object) -> None:
        self.requested.extend(subscriptions)  # type: ignore[call-overload]


async def state(store: Store) -> tuple[object, ...]:
    topics = sorted((topic.id, topic.query) for topic in await list_topics(store))
    followed = sorted(sub.topic_id for sub in await list_subscriptions(store, HERE))
    return topics, followed, await muted_stories(store, HERE)


def request(caller: str, text: str) -> CommandRequest:
    fields = dict(CALLERS[caller])
    platform = fields.pop("platform", Platform.SLACK)
    return CommandRequest(platform, HERE.workspace, HERE.channel, text=text, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", list(CHANGES))
@pytest.mark.parametrize("caller", list(CALLERS))
async def test_who_may_change_what(seeded: Store, caller: str, text: str) -> None:
    digests = Digests()
    services = StoreCommandServices(
        seeded, ManualClock(NOW), settings_from_mapping({}), request_digest_now=digests
    )
    before = await state(seeded)
    reply = await handle(request(caller, text), services, access=ACCESS)
    allowed, refusal = CHANGES[text]
    if caller in allowed:
        assert not reply.text.startswith("only"), reply
        assert await state(seeded) != before or digests.requested, "the change was made"
        return
    assert reply.ephemeral and reply.text.startswith(refusal) and "\n" not in reply.text
    assert await state(seeded) == before and not digests.requested


@pytest.mark.parametrize("text", READS)
async def test_reading_is_everyones(seeded: Store, text: str) -> None:
    services = StoreCommandServices(seeded, ManualClock(NOW), settings_from_mapping({}))
    before = await state(seeded)
    reply = await handle(request("member", text), services, access=ACCESS)
    assert isinstance(reply, Message) and not reply.text.startswith(("only", "something went wrong"))
    assert await state(seeded) == before


async def test_digest_now_turns_follow_the_setting_and_the_clock(seeded: Store) -> None:
    clock = ManualClock(NOW)
    digests = Digests()
    settings = settings_from_mapping({"access": {"digest_now_every_minutes": 30}})
    services = StoreCommandServices(seeded, clock, settings, request_digest_now=digests)
    manager = request("channel manager", "digest now")
    assert (await handle(manager, services, access=ACCESS)).text == "Digest on its way (1 topic)."
    clock.advance(29 * 60)
    refused = await handle(manager, services, access=ACCESS)
    assert refused.ephemeral and refused.text.endswith("ask again after 23 Mar 2026 05:30 UTC")
    assert len(digests.requested) == 1
    clock.advance(60)
    assert (await handle(manager, services, access=ACCESS)).text == "Digest on its way (1 topic)."
    # 0 turns the limit off.
    unlimited = StoreCommandServices(
        seeded, clock, settings_from_mapping({"access": {"digest_now_every_minutes": 0}})
    )
    for _ in range(3):
        assert (await handle(manager, unlimited, access=ACCESS)).text == "Digest on its way (1 topic)."
