"""Channels waiting for their next send: one heap by due time and one timer for all of them.

A task per channel sleeping out its rate limit costs a task, a future and a timer per message; at a
thousand channels that is most of the event loop's work. Here a channel whose time has come is put
on `ready`, where a bounded pool of senders takes it; the timer sleeps on the injected clock until
the earliest due time, and is woken early when a channel is due sooner than that.

`ready` is earliest deadline first, a channel's deadline being its due time plus its own gap between
messages: a channel held to one message a second loses nothing by waiting a little, a channel the
platform does not hold back loses every moment. Among channels of one rate this is due-time order;
no channel waits behind faster ones for longer than its own gap.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Any

from bot.clock import Clock
from bot.models import ChannelKey


class Pacer:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.ready: asyncio.PriorityQueue[tuple[float, int, ChannelKey | None]] = asyncio.PriorityQueue()
        self._heap: list[tuple[float, int, ChannelKey, float]] = []
        self._order = itertools.count()
        self._changed = asyncio.Event()
        self._target: float | None = None

    def now(self) -> float:
        return self.clock.now().timestamp()

    def schedule(self, key: ChannelKey, due: float, gap: float) -> None:
        """Hand `key` to a sender at `due` (at once if that is past); `gap`: its time between messages."""
        if due <= self.now():
            self.ready.put_nowait((due + gap, next(self._order), key))
            return
        heapq.heappush(self._heap, (due, next(self._order), key, gap))
        if self._target is None or due < self._target:
            self._changed.set()

    def waiting(self) -> int:
        return len(self._heap)

    def release_senders(self, count: int) -> None:
        """Wake `count` idle senders with no channel, so they stop (after every queued channel)."""
        for _ in range(count):
            self.ready.put_nowait((float("inf"), next(self._order), None))

    async def run(self) -> None:
        """Move channels to `ready` as they come due; runs until cancelled."""
        heap = self._heap
        changed: asyncio.Task[Any] | None = None
        sleeper: asyncio.Task[Any] | None = None
        try:
            while True:
                now = self.now()
                while heap and heap[0][0] <= now:
                    due, order, key, gap = heapq.heappop(heap)
                    self.ready.put_nowait((due + gap, order, key))
                if changed is None or changed.done():
                    self._changed.clear()
                    changed = asyncio.create_task(self._changed.wait())
                if not heap:
                    self._target = None
                    await asyncio.wait((changed,))
                    continue
                self._target = heap[0][0]
                sleeper = asyncio.create_task(self.clock.sleep(self._target - now))
                await asyncio.wait((sleeper, changed), return_when=asyncio.FIRST_COMPLETED)
                if not sleeper.done():
                    sleeper.cancel()
        finally:
            for waiter in (sleeper, changed):
                if waiter is not None and not waiter.done():
                    waiter.cancel()
