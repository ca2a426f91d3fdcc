"""The metrics port: what the core and the jobs report as they work, to whoever counts it.

The core only calls this protocol; the composition root plugs in the Prometheus implementation
(jobs/metrics.py) when `[metrics] enabled`, and everything else gets `NO_METRICS`, which does nothing.
Arguments are plain values with few possible labels (a poll error's kind, never its text).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Literal, Protocol

DeliveryFailure = Literal["retry", "dead"]


class Metrics(Protocol):
    """What the running bot reports. Every method is cheap and never raises."""

    def source_polled(self, status: str, error_kind: str | None) -> None:
        """One source polled: `stored`, `not_modified` or `error` (with its kind, bot.ingest.errors)."""

    def poll_pass_finished(self, seconds: float) -> None:
        """A poll pass that polled at least one source took `seconds` (fetch, store, engine, fan-out)."""

    def articles_stored(self, count: int) -> None: ...

    def developments_created(self, count: int) -> None: ...

    def alerts_queued(self, count: int) -> None:
        """Alert rows the outbox took (a key already queued is not queued again and not counted)."""

    def engine_batch(self, articles: int) -> AbstractContextManager[None]:
        """Times one engine batch of `articles` (the block it wraps)."""

    def message_sent(self, kind: str, platform: str, latency_s: float | None) -> None:
        """A message's last part was accepted, `latency_s` after it was queued."""

    def message_failed(self, kind: str, platform: str, outcome: DeliveryFailure) -> None:
        """A platform refused a message: it waits for a `retry`, or is given up (`dead`)."""


class NoMetrics:
    """The default: counts nothing."""

    def source_polled(self, status: str, error_kind: str | None) -> None:
        pass

    def poll_pass_finished(self, seconds: float) -> None:
        pass

    def articles_stored(self, count: int) -> None:
        pass

    def developments_created(self, count: int) -> None:
        pass

    def alerts_queued(self, count: int) -> None:
        pass

    def engine_batch(self, articles: int) -> AbstractContextManager[None]:
        return _untimed()

    def message_sent(self, kind: str, platform: str, latency_s: float | None) -> None:
        pass

    def message_failed(self, kind: str, platform: str, outcome: DeliveryFailure) -> None:
        pass


@contextlib.contextmanager
def _untimed() -> Iterator[None]:
    yield


NO_METRICS: Metrics = NoMetrics()
