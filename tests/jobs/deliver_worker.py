"""A delivery worker in its own process, for the SIGKILL test: drains the outbox to a fake platform.

Usage: python -m tests.jobs.deliver_worker DB_URL PLATFORM_URL RATE. It imports everything once, then
forks a fresh worker for each "go" line on stdin (so twenty restarts do not cost twenty interpreter
starts): the worker prints "ready PID" when it starts delivering and "done PID" when the outbox is
drained; once the worker has ended, by itself or by a signal, this process prints "exit PID STATUS".
"""

from __future__ import annotations

import asyncio
import os
import sys

from bot.clock import SystemClock
from bot.messages import Capabilities
from bot.models import Platform
from bot.operations.workers import release_dead_leases, worker_id
from bot.store import open_store
from jobs.delivery import Deliverer, DeliverySettings
from tests.fakes.platform import FakePlatformAdapter


async def main(db_url: str, platform_url: str, rate: float) -> None:
    store = await open_store(db_url, migrate=False)
    await release_dead_leases(store)
    caps = Capabilities(per_channel_rate=rate, global_rate=1000.0, max_sections=2)
    adapter = FakePlatformAdapter(platform_url, caps)
    await adapter.start()
    settings = DeliverySettings(backoff_base_s=0.05, idle_check_s=0.05, linger_s=1.0)
    deliverer = Deliverer(
        store, {Platform.SLACK: adapter}, SystemClock(), owner=worker_id(), settings=settings
    )
    print(f"ready {os.getpid()}", flush=True)
    await deliverer.drain()
    await adapter.stop()
    await store.close()
    print(f"done {os.getpid()}", flush=True)


def serve(db_url: str, platform_url: str, rate: float) -> None:
    print("zygote", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                asyncio.run(main(db_url, platform_url, rate))
            except BaseException:
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(f"exit {pid} {status}", flush=True)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], float(sys.argv[3]))
