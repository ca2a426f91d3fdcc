"""Rate limits per channel and per platform, as each adapter's Capabilities say, on the injected clock.

Times are plain floats (the clock's `now().timestamp()`): delivery consults these for every part
it sends, a thousand times a second at scale.
"""

from __future__ import annotations

from bot.messages import Capabilities
from bot.models import ChannelKey, Platform


class TokenBucket:
    """`rate` sends a second, bursts of `burst`; `reserve()` books a slot and says how long to wait."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._tokens = self.burst
        self._at = now

    def reserve(self, now: float) -> float:
        """Take one token (going into debt if none is left); seconds to wait before using it."""
        elapsed = max(0.0, now - self._at)
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

    def __init__(self) -> None:
        self._next: dict[ChannelKey, float] = {}
        self._platforms: dict[Platform, TokenBucket] = {}
        self._workspaces: dict[tuple[Platform, str], TokenBucket] = {}

    def free_at(self, key: ChannelKey) -> float:
        """When the channel may get its next message (0.0: now)."""
        return self._next.get(key, 0.0)

    def platform_wait(self, platform: Platform, caps: Capabilities, now: float, workspace: str = "") -> float:
        """Book one send on the platform's bucket (and the workspace's, where the platform limits one);
        seconds to wait before sending."""
        bucket = self._platforms.get(platform)
        if bucket is None:
            rate = caps.global_rate * self.SAFETY
            bucket = self._platforms[platform] = TokenBucket(rate, caps.global_rate, now)
        wait = bucket.reserve(now)
        if caps.workspace_rate is not None:
            key = (platform, workspace)
            shared = self._workspaces.get(key)
            if shared is None:
                rate = caps.workspace_rate * self.SAFETY
                shared = self._workspaces[key] = TokenBucket(rate, caps.workspace_rate, now)
            wait = max(wait, shared.reserve(now))
        return wait

    def answered(self, key: ChannelKey, caps: Capabilities, now: float) -> float:
        """The platform answered a post to this channel (whatever it said): the next waits 1/rate.

        Returns when the channel is free again."""
        free = max(self._next.get(key, now), now + 1.0 / (caps.per_channel_rate * self.SAFETY))
        self._next[key] = free
        return free

    def hold(self, key: ChannelKey, seconds: float, now: float) -> None:
        """Nothing goes to this channel for `seconds` (the platform said Retry-After)."""
        until = now + seconds
        self._next[key] = max(self._next.get(key, until), until)

    def forget_idle(self, now: float) -> None:
        """Drop channels whose pause is long over, so the map does not grow with every channel seen."""
        for key in [k for k, at in self._next.items() if at < now]:
            del self._next[key]
