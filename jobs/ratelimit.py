"""Token buckets on the injected clock: per channel and per platform, as each adapter's Capabilities say."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock
from bot.messages import Capabilities
from bot.models import Platform

ChannelKey = tuple[str, str, str]


class TokenBucket:
    """`rate` sends a second, bursts of `burst`; `reserve()` books a slot and says how long to wait."""

    def __init__(self, rate: float, burst: float, now: datetime) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._tokens = self.burst
        self._at = now

    def reserve(self, now: datetime) -> float:
        """Take one token (going into debt if none is left); seconds to wait before using it."""
        elapsed = max(0.0, (now - self._at).total_seconds())
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._at = max(now, self._at)
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class RateLimits:
    """Per channel: one message, then a pause of 1/rate after the platform answered; per platform: a bucket.

    Pacing from the answer (not from the request) keeps arrivals at the platform at least 1/rate
    apart whatever the network and the event loop do, so a channel never trips the platform's limit.
    """

    # Slightly under the advertised rate, for clocks that disagree a little.
    SAFETY = 0.98

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._next: dict[ChannelKey, datetime] = {}
        self._platforms: dict[Platform, TokenBucket] = {}

    def _platform(self, platform: Platform, caps: Capabilities) -> TokenBucket:
        bucket = self._platforms.get(platform)
        if bucket is None:
            rate = caps.global_rate * self.SAFETY
            bucket = self._platforms[platform] = TokenBucket(rate, caps.global_rate, self._clock.now())
        return bucket

    async def acquire(self, platform: Platform, key: ChannelKey, caps: Capabilities) -> None:
        """Wait until one more message may go to this channel."""
        now = self._clock.now()
        free_at = self._next.get(key)
        wait = max(0.0, (free_at - now).total_seconds()) if free_at is not None else 0.0
        if wait > 0:
            await self._clock.sleep(wait)
        wait = self._platform(platform, caps).reserve(self._clock.now())
        if wait > 0:
            await self._clock.sleep(wait)

    def answered(self, key: ChannelKey, caps: Capabilities) -> None:
        """The platform answered a post to this channel (whatever it said): the next waits 1/rate."""
        gap = timedelta(seconds=1.0 / (caps.per_channel_rate * self.SAFETY))
        self._next[key] = max(self._next.get(key, self._clock.now()), self._clock.now() + gap)

    def hold(self, key: ChannelKey, seconds: float) -> None:
        """Nothing goes to this channel for `seconds` (the platform said Retry-After)."""
        until = self._clock.now() + timedelta(seconds=seconds)
        self._next[key] = max(self._next.get(key, until), until)

    def forget_idle(self) -> None:
        """Drop channels whose pause is long over, so the map does not grow with every channel seen."""
        now = self._clock.now()
        for key in [k for k, at in self._next.items() if at < now]:
            del self._next[key]
