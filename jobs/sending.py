"""The deliver job's send path: a channel's next part through its adapter, and what its answer means.

Each claimed message is split by its adapter's Capabilities (once per payload and platform); continuations
go to the first part's thread, a story-threaded alert to its story's thread, and every part carries its
client message id (`metadata["idempotency_key"]`). The claim and pacing loop (jobs/delivery.py) decides
when a channel may send; this module sends, and records or hands the outcome to jobs/outcomes.py.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from bot.chat import ChatAdapter
from bot.clock import Clock
from bot.messages import DeliveryError, split_message
from bot.messages.routing import story_thread_of
from bot.messages.serial import message_from_json
from bot.metrics import Metrics
from bot.models import ChannelKey, Message, Platform
from bot.store.db import Store
from bot.store.outbox_claims import ClaimedMessage, PartProgress
from bot.store.story_threads import forget_story_thread, remember_story_thread
from bot.store.story_threads import story_thread as find_story_thread
from jobs.outcomes import Outcomes
from jobs.ratelimit import RateLimits

log = logging.getLogger("storywatch.jobs.deliver")


@dataclass(slots=True)
class Cursor:
    """The message at the head of a channel: its parts, the next to send, and what the first returned."""

    parts: list[Message]
    index: int
    thread_id: str | None
    receipt: str | None


@dataclass(slots=True)
class Channel:
    queue: deque[ClaimedMessage] = field(default_factory=deque)
    cursor: Cursor | None = None
    # With a sender or in the Pacer: nobody else may touch it.
    scheduled: bool = False


class ChannelSender:
    """Sends the part at the head of a channel's queue; one per Deliverer, shared by its senders."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[Platform, ChatAdapter],
        clock: Clock,
        limits: RateLimits,
        outcomes: Outcomes,
        metrics: Metrics,
        *,
        record: Callable[[PartProgress], None],
        popped: Callable[[], None],
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.clock = clock
        self.limits = limits
        self.outcomes = outcomes
        self.metrics = metrics
        # Accepted parts go to the Deliverer's batched recorder; a message leaving a queue is counted there.
        self._record = record
        self._popped = popped
        self._split_cache: dict[tuple[str, Platform], list[Message]] = {}

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def gap(self, key: ChannelKey) -> float:
        adapter = self.adapters.get(Platform(key[0]))
        return 1.0 / adapter.capabilities.per_channel_rate if adapter is not None else 1.0

    def _pop(self, channel: Channel) -> None:
        channel.queue.popleft()
        channel.cursor = None
        self._popped()

    async def send_next(self, key: ChannelKey, channel: Channel) -> float | None:
        """Send the next part to this channel; when it may get the next one, or None if it must stop."""
        while channel.queue:
            row = channel.queue[0]
            adapter = self.adapters.get(row.destination.platform)
            if adapter is None:
                self._pop(channel)
                await self.outcomes.retry(row, f"no adapter for {row.destination.platform.value}", 60.0)
                return None
            cursor = channel.cursor
            if cursor is None:
                if self.clock.now() >= row.lease_until - timedelta(seconds=5):
                    # Our lease is (nearly) over: another worker may own the message now.
                    self._pop(channel)
                    return None
                try:
                    parts = self._parts(row.payload, adapter)
                except (ValueError, KeyError, TypeError) as exc:
                    self._pop(channel)
                    await self.outcomes.dead(row, f"unreadable payload: {exc}")
                    continue
                cursor = channel.cursor = Cursor(parts, row.parts_sent, row.thread_id, row.receipt)
                if cursor.index >= len(parts):
                    # Every part was accepted before; only the record of it was missing.
                    self._record(PartProgress(row.id, cursor.index, cursor.thread_id, cursor.receipt, True))
                    self._pop(channel)
                    self._sent(row)
                    continue
            return await self._send_part(key, channel, row, cursor, adapter)
        return None

    async def _send_part(
        self, key: ChannelKey, channel: Channel, row: ClaimedMessage, cursor: Cursor, adapter: ChatAdapter
    ) -> float | None:
        caps = adapter.capabilities
        index = cursor.index
        destination = row.destination
        if index > 0 and caps.threads and cursor.thread_id is not None:
            destination = replace(destination, thread=cursor.thread_id)
        # A story-threaded alert goes into its story's thread here, or starts it (see bot.messages.routing).
        story_id = story_thread_of(cursor.parts[0]) if index == 0 and caps.threads else None
        if destination.thread is not None:
            story_id = None
        story_thread = None
        if story_id is not None:
            story_thread = await find_story_thread(self.store, row.destination, story_id)
            if story_thread is not None:
                destination = replace(destination, thread=story_thread)
        part = _with_client_id(
            cursor.parts[index], f"{row.idempotency_key}#{index}", row.unsettled and index == row.parts_sent
        )
        wait = self.limits.platform_wait(destination.platform, caps, self._now(), destination.workspace)
        if wait > 0:
            await self.clock.sleep(wait)
        started = self._now()
        try:
            receipt = await adapter.send(destination, part)
        except DeliveryError as exc:
            self.limits.answered(key, caps, self._now())
            self._pop(channel)
            if exc.kind == "gone" and story_id is not None and story_thread is not None:
                # The story's thread was deleted or archived, not the channel: start a new thread.
                await forget_story_thread(self.store, row.destination, story_id, story_thread)
                # No wait: with the thread forgotten the retry posts top-level, so it cannot loop here.
                await self.outcomes.retry(row, f"story thread gone: {exc.reason}", 0.0, part=index)
                return None
            if await self.outcomes.refused(row, exc, index):
                return self.limits.free_at(key)
            return None
        except Exception as exc:  # an adapter bug or a network error is worth another try
            log.exception("deliver id=%d adapter error", row.id)
            self._pop(channel)
            await self.outcomes.retry(row, f"{type(exc).__name__}: {exc}", None)
            return None
        answered = self._now()
        free = self.limits.answered(key, caps, answered)
        if index == 0:
            cursor.thread_id, cursor.receipt = receipt.thread_id, receipt.message_id
            if story_id is not None and story_thread is None:
                thread = receipt.thread_id or receipt.message_id
                now = self.clock.now()
                await remember_story_thread(self.store, row.destination, story_id, thread, now=now)
        cursor.index = index + 1
        done = cursor.index >= len(cursor.parts)
        self._record(PartProgress(row.id, cursor.index, cursor.thread_id, cursor.receipt, done))
        if done:
            self._pop(channel)
            self._sent(row)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "deliver id=%d kind=%s dest=%s part=%d/%d status=%s attempt=%d send_ms=%d",
                row.id,
                row.kind,
                row.destination.key,
                index + 1,
                len(cursor.parts),
                "sent" if done else "part_sent",
                row.attempts,
                (answered - started) * 1000,
            )
        return free

    def _sent(self, row: ClaimedMessage) -> None:
        self.outcomes.report.sent += 1
        latency = (self.clock.now() - row.queued_at).total_seconds() if row.queued_at is not None else None
        self.metrics.message_sent(row.kind, row.destination.platform.value, latency)

    def _parts(self, payload: str, adapter: ChatAdapter) -> list[Message]:
        # One alert goes to many channels with the same payload: split it once.
        key = (payload, adapter.platform)
        parts = self._split_cache.get(key)
        if parts is None:
            if len(self._split_cache) >= 256:
                self._split_cache.clear()
            parts = self._split_cache[key] = split_message(message_from_json(payload), adapter.capabilities)
        return parts


def _with_client_id(part: Message, client_id: str, unsettled: bool = False) -> Message:
    metadata = {**part.metadata, "idempotency_key": client_id}
    if unsettled:
        # An earlier worker may have posted this part and died before recording it: an adapter whose
        # platform has no idempotency key of its own (Slack) looks for it before posting again.
        metadata["unsettled"] = "1"
    return Message(part.text, part.title, part.sections, part.buttons, part.ephemeral, metadata)
