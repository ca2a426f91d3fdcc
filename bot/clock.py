"""The injected clock: code asks a Clock for the time, so tests, replays and the demo run on their own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to; sleeping advances it instead of waiting."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)


class FastClock:
    """Wall time sped up by `factor` from `start`: the demo's clock, so days of news pass in seconds."""

    def __init__(self, start: datetime, factor: float) -> None:
        self._start = start.astimezone(UTC)
        self._factor = factor
        self._loop_start = _monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(_monotonic() - self._loop_start) * self._factor)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self._factor)


def _monotonic() -> float:
    import time

    return time.monotonic()


class SteppedClock:
    """Runs at wall speed, and can also be moved forward at once: the demo's clock.

    Rate limits and timeouts see time pass as usual, while the replay jumps over quiet days.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SteppedClock needs a timezone-aware start time")
        self._base = start.astimezone(UTC)
        self._since = _monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=_monotonic() - self._since)

    def set(self, when: datetime) -> None:
        """Jump to `when` (never backwards: time that has passed stays passed)."""
        self._base = max(when.astimezone(UTC), self.now())
        self._since = _monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
