"""Topics: what channels subscribe to. Added from config or by chat commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select

from bot.models import Topic
from bot.store.db import Db, StoreError, reading, writing
from bot.store.schema import subscriptions, topics
from bot.store.sql import upsert_insert


class TopicExistsError(StoreError):
    def __init__(self, topic_id: str) -> None:
        super().__init__(f"topic {topic_id!r} already exists")
        self.topic_id = topic_id


def _topic(row: Row[Any]) -> Topic:
    return Topic(
        id=row.id,
        name=row.name,
        query=row.query,
        sources=tuple(row.sources or ()),
        description=row.description,
    )


def _values(topic: Topic) -> dict[str, Any]:
    return {
        "name": topic.name,
        "query": topic.query,
        "sources": list(topic.sources),
        "description": topic.description,
    }


async def add_topic(db: Db, topic: Topic, *, now: datetime, created_by: str | None = None) -> Topic:
    """Add a new topic; raises TopicExistsError if the id is taken."""
    async with writing(db) as conn:
        stmt = (
            upsert_insert(conn, topics)
            .values(id=topic.id, created_by=created_by, created_at=now, **_values(topic))
            .on_conflict_do_nothing(index_elements=[topics.c.id])
            .returning(*topics.c)
        )
        row = (await conn.execute(stmt)).first()
        if row is None:
            raise TopicExistsError(topic.id)
        return _topic(row)


async def upsert_topic(db: Db, topic: Topic, *, now: datetime, created_by: str | None = None) -> Topic:
    """Add the topic or replace its name, query, sources and description (config sync at start)."""
    async with writing(db) as conn:
        insert = upsert_insert(conn, topics).values(
            id=topic.id, created_by=created_by, created_at=now, **_values(topic)
        )
        stmt = insert.on_conflict_do_update(index_elements=[topics.c.id], set_=_values(topic))
        row = (await conn.execute(stmt.returning(*topics.c))).one()
        return _topic(row)


async def get_topic(db: Db, topic_id: str) -> Topic | None:
    async with reading(db) as conn:
        row = (await conn.execute(select(topics).where(topics.c.id == topic_id))).first()
        return _topic(row) if row else None


async def list_topics(db: Db) -> list[Topic]:
    async with reading(db) as conn:
        return [_topic(row) for row in await conn.execute(select(topics).order_by(topics.c.id))]


async def remove_topic(db: Db, topic_id: str) -> bool:
    """Delete a topic with its stories, developments and subscriptions. False if there was none."""
    async with writing(db) as conn:
        result = await conn.execute(delete(topics).where(topics.c.id == topic_id))
        return bool(result.rowcount)


async def remove_topic_with_subscriptions(db: Db, topic_id: str) -> int | None:
    """Delete a topic as remove_topic does; None if there was none, else how many subscriptions went."""
    async with writing(db) as conn:
        count = select(func.count()).where(subscriptions.c.topic_id == topic_id)
        ended = int((await conn.execute(count)).scalar() or 0)
        # The foreign keys cascade: stories, developments and subscriptions go with the topic.
        if not await remove_topic(conn, topic_id):
            return None
    return ended


async def topic_names(db: Db, topic_ids: list[str]) -> dict[str, str]:
    """The names of these topics by id (the id where a topic has no name)."""
    if not topic_ids:
        return {}
    query = select(topics.c.id, topics.c.name).where(topics.c.id.in_(topic_ids))
    async with reading(db) as conn:
        return {str(tid): str(name or tid) for tid, name in await conn.execute(query)}
