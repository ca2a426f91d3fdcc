"""SIGKILL a delivery worker at random points, 20 times, then let one finish: each part arrives exactly once.

The fake platform dedupes nothing on its own: only a part re-sent with the client id (`nonce`) of an
accepted one is recognised, as Discord does with enforce_nonce. That covers a kill between "the
platform accepted" and "the outbox recorded it"; everything else is the outbox's claims and leases.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from pathlib import Path

from bot.clock import SystemClock
from bot.store import open_store
from bot.store.outbox import count_messages
from tests.conftest import ROOT
from tests.fakes.platform import FakePlatform
from tests.jobs.helpers import channel, queue_messages

RATE = 25.0
KILLS = 20


class Zygote:
    """The worker script: one interpreter start, then a forked worker per run."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, db_url: str, base_url: str) -> Zygote:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.jobs.deliver_worker",
            db_url,
            base_url,
            str(RATE),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        zygote = cls(proc)
        assert await zygote._line() == ["zygote"]
        return zygote

    async def _line(self) -> list[str]:
        assert self.proc.stdout is not None
        async with asyncio.timeout(30):
            return (await self.proc.stdout.readline()).decode().split()

    async def run(self, *, kill_after: float | None) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        await self.proc.stdin.drain()
        word, pid = await self._line()
        assert word == "ready"
        if kill_after is not None:
            await asyncio.sleep(kill_after)
            os.kill(int(pid), signal.SIGKILL)
        while (line := await self._line())[0] != "exit":
            assert line == ["done", pid]
        assert line[1] == pid
        assert (int(line[2]) == signal.SIGKILL) if kill_after is not None else (int(line[2]) == 0)

    async def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        await self.proc.wait()


async def test_sigkill_mid_delivery_every_part_exactly_once(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'kill.sqlite'}"
    store = await open_store(db_url)
    keys = await queue_messages(store, channels=5, per_channel=40, now=SystemClock().now(), sections=3)
    assert len(keys) == 200
    platform = FakePlatform(per_channel_rate=RATE)
    await platform.start()
    rng = random.Random(20260510)
    zygote = await Zygote.start(db_url, platform.base_url)
    try:
        for _ in range(KILLS):
            await zygote.run(kill_after=rng.uniform(0.0, 0.25))
        killed_with = len(platform.accepted)
        await zygote.run(kill_after=None)
    finally:
        await zygote.close()
        await platform.stop()
    assert 0 < killed_with < 2 * len(keys), "the kills landed while delivering"
    nonces = Counter(a.nonce for a in platform.accepted)
    assert len(platform.accepted) == 2 * len(keys)
    assert set(nonces.values()) == {1}
    for c in range(5):
        ours = [k for k in keys if k.startswith(f"alert:{channel(c).key}:")]
        expected = [f"{k}#{part}" for k in ours for part in (0, 1)]
        assert [a.nonce for a in platform.channel_log(f"C{c}")] == expected
    assert await count_messages(store) == {"sent": 200}
    await store.close()
    print(f"accepted before the last run={killed_with} nonce_replays={platform.nonce_replays}")
