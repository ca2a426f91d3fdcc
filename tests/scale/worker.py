"""`storywatch run` as a worker process of the multi-process test, on a clock the test moves.

Usage: python -m tests.scale.worker CLOCK_FILE [PAUSE_AT] -- ARGS... (ARGS as for `storywatch`). The
clock is the time written in CLOCK_FILE (the test driver jumps it from one poll to the next, as the
demo's clock jumps). With PAUSE_AT = n, the worker stops itself (SIGSTOP) just before its n-th engine
write, after deciding the batch: a worker paused at the worst moment, which the test resumes once
another worker has taken its partition over. Everything else is the real `storywatch run`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import bot.pipeline.partition_engine
import bot.runtime
from bot.cli import main as storywatch


class FileClock:
    """The time in a file (ISO 8601), read again whenever the file changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = -1
        self._now: datetime | None = None

    def now(self) -> datetime:
        stamp = os.stat(self.path).st_mtime_ns
        if stamp != self._stamp or self._now is None:
            self._now = datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
            self._stamp = stamp
        return self._now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _stop_here(marker: Path, note: str) -> None:
    """Say where, then stop this whole process until someone sends SIGCONT."""
    marker.write_text(note, encoding="utf-8")
    os.kill(os.getpid(), signal.SIGSTOP)


def pause_before_write(at: int, marker: Path) -> None:
    """Stop this process before its `at`-th fenced batch write (a batch with a mark), once."""
    real = bot.pipeline.partition_engine.fence
    writes = [0]

    async def fence(conn: Any, partition: int, generation: int, **kwargs: Any) -> None:
        if kwargs.get("inbox_mark") is not None:
            writes[0] += 1
            if writes[0] == at:
                _stop_here(marker, f"{partition} {generation}\n")
        await real(conn, partition, generation, **kwargs)

    bot.pipeline.partition_engine.fence = fence  # type: ignore[assignment]


def main(argv: list[str]) -> None:
    split = argv.index("--")
    head, args = argv[:split], argv[split + 1 :]
    clock_file = Path(head[0])
    bot.runtime.SystemClock = lambda: FileClock(clock_file)  # type: ignore[assignment,misc,return-value]
    if len(head) > 1:
        pause_before_write(int(head[1]), clock_file.with_name(f"paused-{os.getpid()}"))
    sys.argv = ["storywatch", *args]
    storywatch()


if __name__ == "__main__":
    main(sys.argv[1:])
