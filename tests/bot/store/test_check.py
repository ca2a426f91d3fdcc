from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store import Store, open_store
from bot.store.articles import save_articles
from bot.store.check import check, check_store
from bot.store.search import rebuild_search_index, search_articles
from bot.store.sources import add_source, claim_due_sources, list_sources
from tests.bot.store.conftest import make_article

ROOT = Path(__file__).resolve().parents[3]


async def test_check_flags_schema_behind_head(store: Store, t0: datetime) -> None:
    async with store.write() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    problems = await check_store(store, now=t0)
    assert len(problems) == 1 and "migration 0000" in problems[0]


async def test_check_flags_stale_leases(store: Store, t0: datetime) -> None:
    await add_source(store, "https://a.example/feed", now=t0)
    await claim_due_sources(store, t0, "dead-worker", 60, 10)
    assert await check_store(store, now=t0 + timedelta(minutes=5)) == []
    problems = await check_store(store, now=t0 + timedelta(hours=1))
    assert len(problems) == 1 and "1 source lease" in problems[0] and "dead-worker" in problems[0]


async def test_check_flags_orphans_and_foreign_keys_on_sqlite(
    sqlite_url: str, tmp_path: Path, t0: datetime
) -> None:
    store = await open_store(sqlite_url)
    try:
        source = await add_source(store, "https://a.example/feed", now=t0)
        # Only a connection with foreign keys off (another tool, an old bug) can do this.
        raw = sqlite3.connect(tmp_path / "storywatch.sqlite")
        with raw:
            raw.execute(
                "INSERT INTO source_items VALUES (?, 'x', 999, '2025-01-01 00:00:00.000000')", (source.id,)
            )
        raw.close()
        problems = await check_store(store, now=t0)
        assert any("foreign_key_check: source_items" in p for p in problems)
        assert "1 source_items row(s) point at missing articles (article_id)" in problems
    finally:
        await store.close()


async def test_check_flags_stale_search_index_on_sqlite(sqlite_url: str, t0: datetime) -> None:
    store = await open_store(sqlite_url)
    try:
        source = await add_source(store, "https://a.example/feed", now=t0)
        await save_articles(store, source.id, [make_article(1, title="Korea talks")], now=t0)
        async with store.write() as conn:
            # Bypass the triggers' view of the row: write the content table behind the index's back.
            await conn.exec_driver_sql("DROP TRIGGER articles_fts_au")
            await conn.exec_driver_sql("UPDATE articles SET title = 'Weather today'")
        problems = await check_store(store, now=t0)
        assert len(problems) == 1 and "articles_fts_au" in problems[0]
        async with store.write() as conn:
            await conn.exec_driver_sql(
                "CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, text ON articles BEGIN "
                "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
                "VALUES ('delete', old.id, old.title, old.text); "
                "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END"
            )
        problems = await check_store(store, now=t0)
        assert len(problems) == 1 and "full-text index disagrees" in problems[0]
        await rebuild_search_index(store)
        assert await check_store(store, now=t0) == []
        assert [a.title for a in await search_articles(store, "weather", limit=5)] == ["Weather today"]
    finally:
        await store.close()


_KILLED_WRITER = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA busy_timeout=5000")
    # A tiny page cache makes SQLite spill uncommitted pages into the WAL before the kill.
    conn.execute("PRAGMA cache_size=5")
    conn.execute("BEGIN IMMEDIATE")
    for n in range(3000):
        conn.execute(
            "INSERT INTO articles (url, title, text, published, fetched_at, item_key) "
            "VALUES (?, 'uncommitted', ?, '2025-01-01 00:00:00.000000', '2025-01-01 00:00:00.000000', ?)",
            (f"https://killed.example/{n}", "lost words " * 50, str(n)),
        )
    print("ready", flush=True)
    time.sleep(60)
    """
)


def _wal_size(path: Path) -> int:
    return Path(f"{path}-wal").stat().st_size


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
async def test_sqlite_killed_mid_transaction_recovers(tmp_path: Path, t0: datetime) -> None:
    path = tmp_path / "crash.sqlite"
    url = f"sqlite+aiosqlite:///{path}"
    store = await open_store(url)
    source = await add_source(store, "https://a.example/feed", now=t0)
    await save_articles(store, source.id, [make_article(1, title="Committed korea")], now=t0)
    await store.close()

    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _KILLED_WRITER, str(path), stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    try:
        assert writer.stdout is not None
        assert (await asyncio.wait_for(writer.stdout.readline(), timeout=60)).strip() == b"ready"
        assert _wal_size(path) > 0
    finally:
        writer.send_signal(signal.SIGKILL)
        await writer.wait()
    assert writer.returncode == -signal.SIGKILL

    assert await check(url, now=t0) == []
    store = await open_store(url)
    try:
        assert [a.title for a in await search_articles(store, "korea", limit=5)] == ["Committed korea"]
        assert await search_articles(store, "lost", limit=5) == []
        result = await save_articles(store, source.id, [make_article(2, title="After the crash")], now=t0)
        assert result.new == 1
        assert len(await list_sources(store)) == 1
        assert await check_store(store, now=t0) == []
    finally:
        await store.close()
