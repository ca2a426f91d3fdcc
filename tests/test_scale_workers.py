"""Acceptance (issue 13): three `storywatch run` processes on PostgreSQL over the demo's feeds decide and
alert exactly what one process does, while one is SIGKILLed and another paused past its lease.

Both replays run the same configuration (4 engine partitions, the lexical engine) against their own
database, fake Slack and feed server, on a clock the driver jumps from one poll to the next.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

from tests.fixtures_db import _admin
from tests.scale.driver import DIGEST_AT, DIGEST_ZONE, Outcome, Replay, Worker, close, outcome, prepare, ticks

pytestmark = pytest.mark.postgres
PARTITIONS = 4
KILL_AT_TICK = 40
# The paused worker stops itself before its 12th engine write (two or three partitions a jump).
PAUSE_AT_WRITE = 12


@pytest.fixture
async def databases(pg_server_url: str) -> AsyncIterator[Callable[[], str]]:
    """Fresh databases on the test server, as many as asked for, dropped afterwards."""
    made: list[str] = []

    def new() -> str:
        name = f"sw_scale_{uuid.uuid4().hex[:12]}"
        made.append(name)
        return str(make_url(pg_server_url).set(database=name))

    yield new
    for name in made:
        await _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _create(server_url: str, url: str) -> None:
    await _admin(server_url, f'CREATE DATABASE "{make_url(url).database}"')


def _next_digest(after: datetime) -> datetime:
    local = after.astimezone(ZoneInfo(DIGEST_ZONE))
    due = datetime.combine(local.date(), DIGEST_AT, ZoneInfo(DIGEST_ZONE))
    if due <= local:
        due += timedelta(days=1)
    return due + timedelta(minutes=1)


async def _finish(replay: Replay, last: datetime) -> Outcome:
    """Let the last jump's articles be decided and sent, then the next digest go out."""
    replay.set_time(last + timedelta(seconds=1))
    await replay.until(replay.settled, "the engine and the outbox to settle", 180)
    digest_at = _next_digest(last)
    replay.set_time(digest_at)
    await replay.until(partial(replay.digest_queued, digest_at), "the digest to be queued", 60)
    await replay.until(replay.settled, "the digest to be sent", 60)
    return await outcome(replay)


async def _logged(worker: Worker, words: str) -> bool:
    return words in worker.log_text()


async def _one_process(folder: Path, db_url: str) -> Outcome:
    replay = await prepare(folder, db_url, PARTITIONS)
    try:
        await replay.start_worker("solo", "all")
        times = ticks(replay.server)
        for when in times:
            replay.set_time(when)
            await replay.until(replay.polled, f"the polls of {when}")
        return await _finish(replay, times[-1])
    finally:
        await close(replay)


async def _three_processes(folder: Path, db_url: str) -> tuple[Outcome, str, tuple[int, int] | None]:
    replay = await prepare(folder, db_url, PARTITIONS)
    try:
        killed = await replay.start_worker("w1", "all")
        await replay.start_worker("w2", "all")
        # The paused worker neither polls nor holds sources: only engine partitions and outbox rows.
        paused = await replay.start_worker("w3", "engine,deliver", pause_at=PAUSE_AT_WRITE)
        marker = replay.folder / f"paused-{paused.pid}"
        held: tuple[int, int] | None = None
        resumed = False
        times = ticks(replay.server)
        for number, when in enumerate(times):
            replay.set_time(when)
            if number == KILL_AT_TICK:
                await asyncio.sleep(0.1)
                killed.process.send_signal(signal.SIGKILL)
            await replay.until(replay.polled, f"the polls of {when}")
            if held is None and paused.stopped() and marker.exists():
                partition, generation = map(int, marker.read_text().split())
                held = (partition, generation)
            elif held is not None and not resumed:
                # Jumps later, its lease long run out: once another worker has taken the partition over
                # and decided what was due, w3 resumes and tries its write.
                await replay.until(partial(replay.partition_caught_up, *held), "the takeover", 60)
                paused.process.send_signal(signal.SIGCONT)
                resumed = True
                refused = f"engine partition={held[0]} generation={held[1]} status=fenced"
                await replay.until(partial(_logged, paused, refused), "w3's refused write", 60)
        result = await _finish(replay, times[-1])
        assert await killed.process.wait() == -signal.SIGKILL
        return result, paused.log_text(), held
    finally:
        await close(replay)


async def test_three_workers_alert_exactly_what_one_does(
    tmp_path: Path, pg_server_url: str, databases: Callable[[], str]
) -> None:
    solo_url, trio_url = databases(), databases()
    for url in (solo_url, trio_url):
        await _create(pg_server_url, url)
    (tmp_path / "solo").mkdir()
    (tmp_path / "trio").mkdir()
    solo = await _one_process(tmp_path / "solo", solo_url)
    trio, paused_log, paused_at = await _three_processes(tmp_path / "trio", trio_url)
    assert paused_at is not None, "w3 never paused"
    # Its write for the batch it had decided before the pause was refused by the fence.
    partition, generation = paused_at
    assert f"engine partition={partition} generation={generation} status=fenced" in paused_log
    assert solo.developments and solo.alerted
    assert trio.developments == solo.developments
    assert trio.stories == solo.stories
    assert trio.alerted == solo.alerted
    # On the platform: every alert exactly once, and as many as the outbox sent.
    for result in (solo, trio):
        assert set(result.posts.values()) == {1}, result.posts
        assert sum(result.posts.values()) == result.alert_rows
        assert result.digest_posts and set(result.digest_posts.values()) == {1}
