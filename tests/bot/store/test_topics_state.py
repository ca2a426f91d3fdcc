from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.models import Topic
from bot.store import Store
from bot.store.state import get_engine_state, get_job_value, put_engine_state, set_job_value
from bot.store.topics import TopicExistsError, add_topic, get_topic, list_topics, remove_topic, upsert_topic

KOREA = Topic(id="korea", name="Korea talks", query='"North Korea" AND (talks OR summit)', sources=("a", "b"))


async def test_topic_crud(store: Store, t0: datetime) -> None:
    assert await add_topic(store, KOREA, now=t0, created_by="slack:U1") == KOREA
    with pytest.raises(TopicExistsError, match="already exists"):
        await add_topic(store, KOREA, now=t0)
    assert await get_topic(store, "korea") == KOREA
    changed = Topic(id="korea", name="Korea", query="korea", description="all of it")
    assert await upsert_topic(store, changed, now=t0) == changed
    other = await upsert_topic(store, Topic(id="climate", name="Climate", query="climate"), now=t0)
    assert await list_topics(store) == [other, changed]
    assert await remove_topic(store, "korea")
    assert not await remove_topic(store, "korea")
    assert await get_topic(store, "korea") is None


async def test_engine_state_round_trips_bytes(store: Store, t0: datetime) -> None:
    assert await get_engine_state(store, "index") is None
    await put_engine_state(store, "index", b"\x00\x01snapshot", now=t0)
    await put_engine_state(store, "index", b"\x00\x02snapshot", now=t0 + timedelta(minutes=1))
    assert await get_engine_state(store, "index") == b"\x00\x02snapshot"


async def test_job_values_are_json(store: Store, t0: datetime) -> None:
    assert await get_job_value(store, "digest") is None
    await set_job_value(store, "digest", {"last_run": "2025-09-29T08:00:00Z", "sent": [1, 2]}, now=t0)
    assert await get_job_value(store, "digest") == {"last_run": "2025-09-29T08:00:00Z", "sent": [1, 2]}
    await set_job_value(store, "digest", None, now=t0)
    assert await get_job_value(store, "digest") is None
