"""`[metrics] enabled` in the running bot: /metrics moves with a real poll pass and real deliveries, and
/healthz turns 503 when the store goes away (SQLite file removed; PostgreSQL server stopped)."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.console import ConsoleAdapter
from bot.config import Settings, settings_from_mapping
from bot.messages import DeliveryError
from bot.models import Subscription
from bot.runtime import Runtime
from bot.services.config_sync import sync_config
from bot.store import open_store
from bot.store.subscriptions import upsert_subscription
from tests.fakes.feed_server import FeedServer
from tests.fixtures_db import _find_pg_bin, _ThrowawayServer
from tests.jobs.ops_helpers import Samples, get, scrape, scrape_until, value

HTML = "<!doctype html><html><head><title>A page</title></head><body>No feed here.</body></html>"


def rss(items: list[tuple[str, str, datetime]]) -> str:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate><description>{title}.</description></item>"
        for title, link, when in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://wire.example/</link>{body}</channel></rss>"
    )


def make_settings(tmp_path: Path, database_url: str | None, sources: list[str], **metrics: Any) -> Settings:
    raw: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "engine": {"model": "none"},
        "ingest": {"allowed_private_hosts": ["127.0.0.1"], "politeness_delay_s": 0, "backfill": 10},
        "metrics": {"enabled": True, "port": 0, **metrics},
        "topics": [{"id": "korea", "name": "Korea diplomacy", "query": '"north korea" OR pyongyang'}],
        "sources": [{"url": url} for url in sources],
    }
    if database_url is not None:
        raw["database_url"] = database_url
    return settings_from_mapping(raw)


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    now = datetime.now(UTC)
    async with FeedServer() as server:
        server.add(
            "/news.xml",
            rss(
                [
                    (
                        "North Korea and the US agree to resume talks in Hanoi",
                        "https://wire.example/talks",
                        now - timedelta(minutes=40),
                    ),
                    (
                        "Pyongyang launches a satellite rocket over the Yellow Sea",
                        "https://wire.example/rocket",
                        now - timedelta(minutes=10),
                    ),
                ]
            ),
        )
        server.fail("/broken.xml", 500)
        server.fail("/missing.xml", 404)
        server.add("/page.html", HTML, content_type="text/html; charset=utf-8")
        yield server


async def test_metrics_move_with_a_real_poll_pass_and_real_deliveries(
    db_url: str, tmp_path: Path, feeds: FeedServer
) -> None:
    paths = ("/news.xml", "/broken.xml", "/missing.xml", "/page.html")
    settings = make_settings(tmp_path, db_url, [feeds.url(p) for p in paths])
    console = ConsoleAdapter(output=io.StringIO(), lines=[], width=160)
    store = await open_store(settings.effective_database_url)
    try:
        await sync_config(store, settings, now=datetime.now(UTC))
        await upsert_subscription(store, Subscription(console.destination, "korea"), now=datetime.now(UTC))
    finally:
        await store.close()
    # The first alert is refused once (the platform says: retry shortly); it goes out on the retry.
    console.failures.append(DeliveryError("retry", "slow down", retry_after=0.05))
    runtime = Runtime(settings, adapters=[console])
    await runtime.start()
    try:
        assert runtime.ops_server is not None
        port = runtime.ops_server.port

        def delivered(samples: Samples) -> bool:
            queued = value(samples, "storywatch_alerts_queued_total") or 0
            sent = value(samples, "storywatch_messages_sent_total", kind="alert", platform="console") or 0
            return queued > 0 and sent == queued and value(samples, "storywatch_outbox_pending") == 0

        samples = await scrape_until(port, delivered)
        status, body = await get(port, "/healthz")
    finally:
        await runtime.stop()
    alerts = [m for _, m in console.sent if m.metadata.get("kind") == "alert"]
    assert len(alerts) >= 1
    assert value(samples, "storywatch_alerts_queued_total") == len(alerts)
    assert value(samples, "storywatch_polls_total", status="stored") == 1
    assert value(samples, "storywatch_polls_total", status="error") == 3
    assert value(samples, "storywatch_fetch_errors_total", reason="http_5xx") == 1
    assert value(samples, "storywatch_fetch_errors_total", reason="http_4xx") == 1
    assert value(samples, "storywatch_fetch_errors_total", reason="feed") == 1
    assert value(samples, "storywatch_fetch_errors_total", reason="timeout") == 0
    assert value(samples, "storywatch_articles_stored_total") == 2
    developments = value(samples, "storywatch_developments_created_total")
    assert developments is not None and developments >= len(alerts)
    assert value(samples, "storywatch_engine_batch_seconds_count") == 1
    assert value(samples, "storywatch_poll_pass_seconds_count") == 1
    assert (
        value(samples, "storywatch_messages_failed_total", kind="alert", platform="console", outcome="retry")
        == 1
    )
    latency = value(samples, "storywatch_delivery_latency_seconds_count", kind="alert", platform="console")
    assert latency == len(alerts)
    # Every refused message was retried and sent: none is left retrying or dead.
    assert value(samples, "storywatch_outbox_retrying") == 0
    assert value(samples, "storywatch_outbox_dead") == 0
    assert value(samples, "storywatch_sources", state="ok") == 1
    assert value(samples, "storywatch_sources", state="failing") == 3
    assert value(samples, "storywatch_store_up") == 1
    assert value(samples, "storywatch_scheduler_up") == 1
    assert (status, json.loads(body)) == (200, {"status": "ok", "problems": []})


async def test_a_sqlite_file_gone_makes_healthz_unhealthy_and_metrics_say_store_down(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, None, [])
    runtime = Runtime(settings, adapters=[ConsoleAdapter(output=io.StringIO(), lines=[])])
    await runtime.start()
    try:
        assert runtime.ops_server is not None
        port = runtime.ops_server.port
        assert (await get(port, "/healthz"))[0] == 200
        assert value(await scrape(port), "storywatch_outbox_pending") == 0
        shutil.rmtree(settings.data_dir)
        status, body = await get(port, "/healthz")
        samples = await scrape(port)
    finally:
        await runtime.stop()
    assert status == 503
    report = json.loads(body)
    assert report["status"] == "unhealthy"
    assert report["problems"] == [
        f"store: database file {settings.data_dir / 'storywatch.sqlite'} is missing"
    ]
    assert value(samples, "storywatch_store_up") == 0
    assert value(samples, "storywatch_scheduler_up") == 1
    # No stale store figures; the process's own counters are still there.
    assert value(samples, "storywatch_outbox_pending") is None
    assert value(samples, "storywatch_polls_total", status="stored") == 0


@pytest.mark.postgres
async def test_a_stopped_postgresql_server_makes_healthz_unhealthy(
    pg_server_url: str, tmp_path: Path
) -> None:
    bin_dir = _find_pg_bin()
    if bin_dir is None:
        pytest.skip("needs PostgreSQL binaries here, to start and stop a server of its own")
    server = _ThrowawayServer(bin_dir)
    url = await asyncio.to_thread(server.start)
    try:
        settings = make_settings(tmp_path, url, [], store_timeout_s=5)
        runtime = Runtime(settings, adapters=[ConsoleAdapter(output=io.StringIO(), lines=[])])
        await runtime.start()
        try:
            assert runtime.ops_server is not None
            port = runtime.ops_server.port
            assert (await get(port, "/healthz"))[0] == 200
            assert value(await scrape(port), "storywatch_store_up") == 1
            await asyncio.to_thread(server.stop)
            status, body = await get(port, "/healthz")
            samples = await scrape(port)
        finally:
            await runtime.stop()
    finally:
        await asyncio.to_thread(server.stop)
    assert status == 503
    [problem] = json.loads(body)["problems"]
    assert problem.startswith("store: ")
    assert value(samples, "storywatch_store_up") == 0
    assert value(samples, "storywatch_outbox_pending") is None
