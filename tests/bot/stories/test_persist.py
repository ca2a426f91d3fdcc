"""Engine state in the store: rows for the house, a snapshot for restarts, no network for the model."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.models import Topic
from bot.store import open_store
from bot.store.articles import save_articles
from bot.store.schema import development_articles, developments, stories
from bot.store.sources import add_source
from bot.store.topics import upsert_topic
from bot.stories.embedding import load_embedder
from bot.stories.engine import StoryEngine
from bot.stories.persist import open_engine, process_and_record
from bot.stories.topics import IMPLICIT_TOPIC
from tests.bot.stories.test_engine import STREAM, T0, run


async def _store_with_articles(tmp_path: Path) -> Any:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'engine.sqlite'}")
    await upsert_topic(store, Topic(IMPLICIT_TOPIC, "All", "*"), now=T0)
    source = await add_source(store, "https://news.invalid/feed", now=T0)
    result = await save_articles(store, source.id, STREAM, now=T0)
    by_key = {a.item_key: a for a in result.saved}
    return store, [by_key[a.item_key] for a in STREAM]


@pytest.mark.parametrize("cut", [2, 5])
async def test_restart_in_the_middle_of_a_stream(tmp_path: Path, cut: int) -> None:
    store, articles = await _store_with_articles(tmp_path)
    try:
        expected = run(StoryEngine(), articles)
        engine = await open_engine(store, ())
        head = await process_and_record(store, engine, articles[:cut], now=T0)
        del engine
        again = await open_engine(store, ())
        tail = await process_and_record(store, again, articles[cut:], now=T0)
        got = [
            (a.development_id, a.story_id, a.new_development, a.new_story)
            for d in head + tail
            for a in d.assignments
        ]
        assert got == expected
        async with store.read() as conn:
            n_links = (await conn.execute(select(func.count()).select_from(development_articles))).scalar()
            n_devs = (await conn.execute(select(func.count()).select_from(developments))).scalar()
            n_stories = (await conn.execute(select(func.count()).select_from(stories))).scalar()
            row = (await conn.execute(select(developments).order_by(developments.c.id))).first()
        assert n_links == len(STREAM)
        assert n_devs == len({g[0] for g in expected})
        assert n_stories == len({g[1] for g in expected})
        assert row is not None and row.source_count == 3 and row.headline == STREAM[0].title
    finally:
        await store.close()


def test_model_loads_with_sockets_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wordllama", reason="the model extra is not installed")

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the model tried to reach the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    embedder = load_embedder("wordllama")
    assert embedder is not None
    a, b, c = embedder.embed(
        ["Fed raises interest rates", "Federal Reserve hikes rates", "Volcano erupts in Iceland"]
    )
    assert float(a @ b) > float(a @ c)
    with_model = run(StoryEngine(embedder=embedder), STREAM)
    assert with_model == run(StoryEngine(embedder=embedder), STREAM)


def test_engine_runs_without_the_model() -> None:
    assert load_embedder("none") is None
    got = run(StoryEngine(embedder=None), STREAM)
    assert len({g[0] for g in got}) >= 4
