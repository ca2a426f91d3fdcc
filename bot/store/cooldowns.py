"""Per-member, per-channel cooldowns for commands that cost the whole channel something ('digest now').

A turn is claimed in one statement against the row's primary key, so two processes (or two clicks) on
the same PostgreSQL or SQLite database never both get it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select

from bot.models import Destination
from bot.store.db import Db, writing
from bot.store.schema import command_cooldowns
from bot.store.sql import upsert_insert


async def claim_turn(
    db: Db, command: str, destination: Destination, user: str, *, now: datetime, every: timedelta
) -> datetime | None:
    """Take `user`'s turn at `command` in the destination's channel: None if taken (the next one is
    `every` from now), else when the turn already taken ends and the user may ask again."""
    key = {
        "command": command,
        "platform": destination.platform.value,
        "workspace": destination.workspace,
        "channel": destination.channel,
        "user_id": user,
    }
    async with writing(db) as conn:
        # Spent turns go first (the table holds only turns still running), which frees this one too.
        await conn.execute(delete(command_cooldowns).where(command_cooldowns.c.next_at <= now))
        insert = upsert_insert(conn, command_cooldowns).values(**key, asked_at=now, next_at=now + every)
        taken = await conn.execute(insert.on_conflict_do_nothing().returning(command_cooldowns.c.next_at))
        if taken.first() is not None:
            return None
        same = and_(*(command_cooldowns.c[column] == value for column, value in key.items()))
        next_at = (await conn.execute(select(command_cooldowns.c.next_at).where(same))).scalar()
        # The other turn ended between the two statements only if the clock went back; ask again then.
        return next_at if next_at is not None else now
