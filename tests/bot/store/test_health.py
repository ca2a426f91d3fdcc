"""The figures /metrics and `storywatch status` share, and the store's ping, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import Destination, Platform
from bot.store import Store, StoreError, open_store
from bot.store.health import ping, store_figures
from bot.store.outbox import enqueue_message, mark_failed, mark_sent
from bot.store.sources import add_source, disable_source, record_poll_failure, record_poll_success

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def test_empty_store(store: Store) -> None:
    figures = await store_figures(store, NOW)
    assert (figures.outbox_pending, figures.outbox_retrying, figures.outbox_dead) == (0, 0, 0)
    assert figures.oldest_pending is None and figures.oldest_pending_age is None
    assert figures.sources == {"ok": 0, "new": 0, "failing": 0, "disabled": 0}
    await ping(store)


async def test_outbox_and_sources(store: Store) -> None:
    ok = await add_source(store, "https://ok.example/feed", now=NOW)
    failing = await add_source(store, "https://failing.example/feed", now=NOW)
    gone = await add_source(store, "https://gone.example/feed", now=NOW)
    await add_source(store, "https://new.example/feed", now=NOW)
    await record_poll_success(store, ok.id, now=NOW)
    await record_poll_failure(store, failing.id, now=NOW, error="HTTP 503")
    await disable_source(store, gone.id, now=NOW, reason="gone")
    ids: list[int] = []
    for n, minutes in enumerate((120, 60, 30, 10, 5)):
        queued = await enqueue_message(
            store,
            idempotency_key=f"k{n}",
            destination=Destination(Platform.SLACK, "T1", f"C{n}"),
            kind="alert",
            payload="{}",
            now=NOW - timedelta(minutes=minutes),
        )
        assert queued is not None
        ids.append(queued)
    await mark_sent(store, ids[0], now=NOW)
    await mark_failed(store, ids[1], now=NOW, error="dead: invalid_blocks", retry_at=None)
    await mark_failed(store, ids[2], now=NOW, error="rate limited", retry_at=NOW + timedelta(seconds=30))
    figures = await store_figures(store, NOW)
    assert (figures.outbox_pending, figures.outbox_retrying, figures.outbox_dead) == (3, 1, 1)
    assert figures.oldest_pending_age == timedelta(minutes=30)
    assert figures.sources == {"ok": 1, "new": 1, "failing": 1, "disabled": 1}


async def test_ping_fails_once_the_sqlite_file_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "storywatch.sqlite"
    store = await open_store(f"sqlite+aiosqlite:///{path}")
    try:
        await ping(store)
        path.unlink()
        with pytest.raises(StoreError, match=r"storywatch\.sqlite is missing"):
            await ping(store)
    finally:
        await store.close()
