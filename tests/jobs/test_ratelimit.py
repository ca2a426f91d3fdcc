"""Pacing arithmetic on plain float times: per channel, per platform and per workspace."""

from __future__ import annotations

import pytest

from bot.messages import Capabilities
from bot.models import Platform
from jobs.ratelimit import RateLimits, TokenBucket


def test_a_bucket_allows_its_burst_then_paces_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve(0.0) == pytest.approx(0.5)
    assert bucket.reserve(0.0) == pytest.approx(1.0)
    # After a quiet spell the bucket refills, never beyond its burst.
    assert [bucket.reserve(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve(100.0) > 0


def test_a_workspace_limit_paces_one_workspace_without_slowing_another() -> None:
    caps = Capabilities(global_rate=1_000.0, workspace_rate=2.0)
    limits = RateLimits()
    waits_t1 = [limits.platform_wait(Platform.SLACK, caps, 0.0, "T1") for _ in range(4)]
    assert waits_t1[:2] == [0.0, 0.0] and waits_t1[2] > 0.4 and waits_t1[3] > waits_t1[2]
    assert limits.platform_wait(Platform.SLACK, caps, 0.0, "T2") == 0.0


def test_without_a_workspace_limit_only_the_platform_bucket_counts() -> None:
    caps = Capabilities(global_rate=2.0)
    limits = RateLimits()
    waits = [limits.platform_wait(Platform.DISCORD, caps, 0.0, f"G{i}") for i in range(3)]
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0.4


def test_a_channel_waits_one_interval_after_each_answer_and_holds_on_retry_after() -> None:
    caps = Capabilities(per_channel_rate=1.0)
    limits = RateLimits()
    key = ("slack", "T1", "C1")
    free = limits.answered(key, caps, 10.0)
    assert free == pytest.approx(10.0 + 1 / 0.98)
    limits.hold(key, 30.0, 10.0)
    assert limits.free_at(key) == pytest.approx(40.0)
    limits.forget_idle(50.0)
    assert limits.free_at(key) == 0.0
