"""Which workers are alive and which leases each holds: the part of `storywatch status` about sharing work.

Read from the store: the workers' registry, the engine partitions (owner, generation, until), and how
many sources and outbox rows each owner has leased. An owner that holds leases but is no longer in the
registry is listed too: it died or stalled, and its leases run out on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table as RichTable
from rich.text import Text

from bot.messages.text import format_local
from bot.store.db import StoreConnection
from bot.store.engine_inbox import inbox_depth
from bot.store.overview import leased_messages, leased_sources
from bot.store.partitions import PartitionRow, WorkerRow, list_partitions, list_workers
from bot.terminal import shown


@dataclass(frozen=True, slots=True)
class WorkerLeases:
    owner: str
    roles: tuple[str, ...]
    seen_at: datetime | None
    partitions: tuple[PartitionRow, ...] = ()
    sources: int = 0
    messages: int = 0


@dataclass(frozen=True, slots=True)
class LeaseReport:
    now: datetime
    workers: tuple[WorkerLeases, ...] = ()
    partitions: tuple[PartitionRow, ...] = ()
    inbox: int = 0
    free: tuple[int, ...] = field(default=())


async def collect_leases(conn: StoreConnection, now: datetime) -> LeaseReport:
    workers: list[WorkerRow] = await list_workers(conn)
    partitions = await list_partitions(conn)
    held_sources = await leased_sources(conn, now)
    held_messages = await leased_messages(conn, now)
    live = {p.partition: p for p in partitions if p.lease_owner and p.lease_until and p.lease_until > now}
    owners = {w.owner: w for w in workers}
    names = sorted(set(owners) | {p.lease_owner for p in live.values() if p.lease_owner} | set(held_sources))
    report = [
        WorkerLeases(
            owner=name,
            roles=owners[name].roles if name in owners else (),
            seen_at=owners[name].seen_at if name in owners else None,
            partitions=tuple(p for p in live.values() if p.lease_owner == name),
            sources=held_sources.get(name, 0),
            messages=held_messages.get(name, 0),
        )
        for name in names
    ]
    free = tuple(p.partition for p in partitions if p.partition not in live)
    return LeaseReport(now, tuple(report), tuple(partitions), await inbox_depth(conn), free)


def render_leases(report: LeaseReport) -> Sequence[RenderableType]:
    if not report.workers and not report.partitions:
        return [Group(Text("no workers have run yet"))]
    table = RichTable(
        "worker", "roles", "last seen", "engine partitions", "sources", "messages", title="Workers"
    )
    for worker in report.workers:
        held = ", ".join(f"{p.partition} (gen {p.generation})" for p in worker.partitions) or "-"
        seen = format_local(worker.seen_at, "UTC") if worker.seen_at else Text("gone", style="yellow")
        table.add_row(
            shown(worker.owner),
            ",".join(worker.roles) or "-",
            seen,
            held,
            str(worker.sources),
            str(worker.messages),
        )
    parts: list[RenderableType] = [table if report.workers else Text("no workers running")]
    summary = f"{len(report.partitions)} engine partitions, {report.inbox} articles in the engine inbox"
    if report.free:
        summary += f"; not held now: {', '.join(str(p) for p in report.free)}"
    parts.append(Text(summary))
    # One group: printed after other renderables, its lines are not run into theirs.
    return [Group(*parts)]
