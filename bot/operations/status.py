"""`storywatch status`: sources' health, the outbox, the next digests and the last poll, read from the store.

`collect_status` gathers a StatusReport in one read transaction (with the same StoreFigures `/metrics`
exports); `render_status` turns it into rich tables for the CLI, every stored string shown cleaned and
clipped (it came from a feed, a server or a chat member).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from bot.clock import Clock
from bot.digest_schedule import next_digest_at
from bot.messages.text import format_local
from bot.models import Subscription
from bot.operations.lease_status import LeaseReport, collect_leases, render_leases
from bot.store.db import Db, reading
from bot.store.health import StoreFigures, store_figures
from bot.store.overview import (
    digest_periods_since,
    last_poll_at,
    oldest_pending_at,
    outbox_counts,
    topic_names,
)
from bot.store.sources import SourceStatus, list_source_statuses
from bot.store.subscriptions import all_active_subscriptions
from bot.terminal import shown

Health = Literal["ok", "new", "failing", "disabled"]
OUTBOX_STATUSES = ("pending", "sent", "dead")


@dataclass(frozen=True, slots=True)
class SourceHealth:
    id: int
    url: str
    title: str
    health: Health
    reason: str | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None


@dataclass(frozen=True, slots=True)
class NextDigest:
    subscription: Subscription
    topic_name: str
    at: datetime

    @property
    def local(self) -> str:
        """`4 Mar 2026 08:00 KST (Asia/Seoul)`: the channel's own wall-clock time and zone."""
        return f"{format_local(self.at, self.subscription.timezone)} ({self.subscription.timezone})"


@dataclass(frozen=True, slots=True)
class StatusReport:
    now: datetime
    sources: tuple[SourceHealth, ...]
    outbox: dict[str, int]
    oldest_pending: datetime | None
    digests: tuple[NextDigest, ...]
    last_poll: datetime | None
    # Outbox depth and age, messages retrying after a refusal, sources by health: as /metrics has them.
    figures: StoreFigures
    # The workers and the leases each holds (engine partitions, sources, outbox rows).
    leases: LeaseReport | None = None

    @property
    def oldest_pending_age(self) -> timedelta | None:
        return self.now - self.oldest_pending if self.oldest_pending is not None else None


def source_health(status: SourceStatus) -> SourceHealth:
    source = status.source
    health: Health = "ok"
    reason = None
    if source.disabled:
        health, reason = "disabled", status.disabled_reason or source.last_error or "no reason kept"
    elif source.consecutive_failures:
        health = "failing"
        reason = f"{source.consecutive_failures} failures in a row: {source.last_error or 'no reason kept'}"
    elif not source.primed:
        health = "new"
    return SourceHealth(
        source.id, source.url, source.title, health, reason, source.last_polled_at, source.next_poll_at
    )


async def collect_status(db: Db, clock: Clock) -> StatusReport:
    now = clock.now()
    async with reading(db) as conn:
        statuses = await list_source_statuses(conn)
        figures = await store_figures(conn, now)
        counts = dict.fromkeys(OUTBOX_STATUSES, 0)
        counts.update(await outbox_counts(conn))
        oldest = await oldest_pending_at(conn)
        last_poll = await last_poll_at(conn)
        subscriptions = [sub for sub in await all_active_subscriptions(conn) if sub.mode.digest]
        names = await topic_names(conn)
        runs = await digest_periods_since(conn, (now - timedelta(days=2)).date().isoformat())
        leases = await collect_leases(conn, now)
    digests = sorted(
        (
            NextDigest(
                sub,
                names.get(sub.topic_id) or sub.topic_id,
                next_digest_at(sub, now, frozenset(runs.get(sub.id or 0, ()))),
            )
            for sub in subscriptions
        ),
        key=lambda digest: (digest.at, digest.subscription.id or 0),
    )
    return StatusReport(
        now=now,
        sources=tuple(source_health(status) for status in statuses),
        outbox=counts,
        oldest_pending=oldest,
        digests=tuple(digests),
        last_poll=last_poll,
        figures=figures,
        leases=leases,
    )


_HEALTH_STYLE = {"ok": "green", "new": "cyan", "failing": "yellow", "disabled": "red"}


def render_status(report: StatusReport) -> Sequence[RenderableType]:
    """The report as rich renderables: a headline, then sources, outbox and digest tables."""
    polled = format_local(report.last_poll, "UTC") if report.last_poll else "never"
    failing = sum(1 for s in report.sources if s.health in ("failing", "disabled"))
    headline = Text(
        f"status at {format_local(report.now, 'UTC')}: {len(report.sources)} sources ({failing} with "
        f"problems), last poll {polled}, {report.outbox['pending']} messages pending"
    )
    sources_table = Table("id", "source", "health", "reason", "last poll", "next poll", title="Sources")
    for source in report.sources:
        sources_table.add_row(
            str(source.id),
            shown(source.title or source.url),
            Text(source.health, style=_HEALTH_STYLE[source.health]),
            shown(source.reason),
            _when(source.last_polled_at),
            _when(source.next_poll_at),
        )
    outbox_table = Table("status", "messages", title="Outbox")
    for status in OUTBOX_STATUSES:
        outbox_table.add_row(status, str(report.outbox.get(status, 0)))
    age = report.oldest_pending_age
    outbox_table.add_row("oldest pending", _age(age) if age is not None else "-")
    outbox_table.add_row("retrying after a refusal", str(report.figures.outbox_retrying))
    digests_table = Table("channel", "topic", "next digest (local)", "in", title="Next digests")
    for digest in report.digests:
        digests_table.add_row(
            shown(digest.subscription.destination.key),
            shown(digest.topic_name),
            shown(digest.local),
            _age(digest.at - report.now),
        )
    parts: list[RenderableType] = [headline, sources_table if report.sources else Text("no sources yet")]
    parts.append(outbox_table)
    parts.append(digests_table if report.digests else Text("no digest subscriptions"))
    if report.leases is not None:
        parts.extend(render_leases(report.leases))
    return parts


def _when(value: datetime | None) -> str:
    return format_local(value, "UTC") if value is not None else "-"


def _age(span: timedelta) -> str:
    seconds = max(int(span.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    if hours >= 48:
        return f"{hours // 24}d {hours % 24}h"
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"
