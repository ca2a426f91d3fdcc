"""Command cooldowns ('digest now' turns) on SQLite and PostgreSQL: one turn per user and channel,
held across processes (two Stores on one database stand for two processes)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.models import Destination, Platform
from bot.store import Store, open_store
from bot.store.cooldowns import claim_turn
from bot.store.schema import command_cooldowns

HERE = Destination(Platform.SLACK, "T1", "C1", thread="1.5")
TEN = timedelta(minutes=10)


async def test_one_turn_per_user_and_channel_until_it_ends(store: Store, t0: datetime) -> None:
    assert await claim_turn(store, "digest-now", HERE, "U1", now=t0, every=TEN) is None
    later = t0 + timedelta(minutes=9, seconds=59)
    assert await claim_turn(store, "digest-now", HERE, "U1", now=later, every=TEN) == t0 + TEN
    # The channel's own turn, whatever thread it was asked from; other users, channels and commands are apart.
    assert await claim_turn(store, "digest-now", HERE, "U2", now=later, every=TEN) is None
    elsewhere = Destination(Platform.SLACK, "T1", "C2")
    assert await claim_turn(store, "digest-now", elsewhere, "U1", now=later, every=TEN) is None
    assert await claim_turn(store, "other", HERE, "U1", now=later, every=TEN) is None
    assert await claim_turn(store, "digest-now", HERE, "U1", now=t0 + TEN, every=TEN) is None
    assert await claim_turn(store, "digest-now", HERE, "U1", now=t0 + TEN, every=TEN) == t0 + 2 * TEN


async def test_spent_turns_are_not_kept(store: Store, t0: datetime) -> None:
    for user in ("U1", "U2", "U3"):
        await claim_turn(store, "digest-now", HERE, user, now=t0, every=TEN)
    await claim_turn(store, "digest-now", HERE, "U4", now=t0 + TEN, every=TEN)
    async with store.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(command_cooldowns))).scalar() == 1


async def test_two_processes_asking_at_once_get_one_turn(db_url: str, t0: datetime) -> None:
    first = await open_store(db_url)
    second = await open_store(db_url)
    try:
        answers = await asyncio.gather(
            *(
                claim_turn(db, "digest-now", HERE, "U1", now=t0, every=TEN)
                for db in (first, second, first, second)
            )
        )
    finally:
        await first.close()
        await second.close()
    assert sorted(answers, key=lambda answer: answer is not None) == [None, t0 + TEN, t0 + TEN, t0 + TEN]
