"""Shared by the jobs tests: a store with queued messages, and what a fake platform should have got."""

from __future__ import annotations

from datetime import datetime

from bot.messages.serial import message_to_json
from bot.models import Destination, Link, Message, Platform, Section
from bot.store.db import Store
from bot.store.outbox import NewMessage, enqueue_messages


def sample_message(n: int, *, sections: int = 1) -> Message:
    return Message(
        text=f"message {n}",
        title=f"Title {n}",
        sections=tuple(
            Section(
                text=f"body {n}.{i}",
                heading=f"part {i}",
                links=(Link(f"outlet {i}", f"https://e.x/{n}/{i}"),),
            )
            for i in range(sections)
        ),
        metadata={"kind": "alert", "n": str(n)},
    )


def channel(n: int, platform: Platform = Platform.SLACK) -> Destination:
    return Destination(platform, "T1", f"C{n}")


async def queue_messages(
    store: Store,
    *,
    channels: int,
    per_channel: int,
    now: datetime,
    sections: int = 1,
    platform: Platform = Platform.SLACK,
) -> list[str]:
    """Queue messages round-robin over channels (ids interleave, as fan-out makes them); their keys."""
    rows = []
    for i in range(per_channel):
        for c in range(channels):
            n = i * channels + c
            rows.append(
                NewMessage(
                    idempotency_key=f"alert:{channel(c, platform).key}:{n}",
                    destination=channel(c, platform),
                    kind="alert",
                    payload=message_to_json(sample_message(n, sections=sections)),
                )
            )
    await enqueue_messages(store, rows, now=now)
    return [r.idempotency_key for r in rows]
