"""Where each story's alerts go in a channel that has story threads: the thread its first alert started."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, select

from bot.models import Destination, channel_key
from bot.store.db import Db, reading, writing
from bot.store.schema import story_threads
from bot.store.sql import upsert_insert


def _of(destination: Destination, story_id: int) -> ColumnElement[bool]:
    platform, workspace, channel = channel_key(destination)
    return and_(
        story_threads.c.platform == platform,
        story_threads.c.workspace == workspace,
        story_threads.c.channel == channel,
        story_threads.c.story_id == story_id,
    )


async def story_thread(db: Db, destination: Destination, story_id: int) -> str | None:
    """The thread the story's alerts go to in this channel, or None before its first threaded alert."""
    async with reading(db) as conn:
        query = select(story_threads.c.thread_id).where(_of(destination, story_id))
        found = (await conn.execute(query)).scalar_one_or_none()
    return None if found is None else str(found)


async def remember_story_thread(
    db: Db, destination: Destination, story_id: int, thread_id: str, *, now: datetime
) -> str:
    """Record the thread a story's first alert started; the one already recorded wins (two workers racing)."""
    platform, workspace, channel = channel_key(destination)
    async with writing(db) as conn:
        stmt = (
            upsert_insert(conn, story_threads)
            .values(
                platform=platform,
                workspace=workspace,
                channel=channel,
                story_id=story_id,
                thread_id=thread_id,
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
        await conn.execute(stmt)
        kept = (
            await conn.execute(select(story_threads.c.thread_id).where(_of(destination, story_id)))
        ).scalar_one()
    return str(kept)


async def forget_story_thread(db: Db, destination: Destination, story_id: int, thread_id: str) -> bool:
    """Drop a thread the platform says is gone, so the story's next alert starts a new one."""
    async with writing(db) as conn:
        stmt = delete(story_threads).where(_of(destination, story_id), story_threads.c.thread_id == thread_id)
        return bool((await conn.execute(stmt)).rowcount)
