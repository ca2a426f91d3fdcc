"""Small persistent state: the story engine's snapshots (bytes) and the jobs' JSON values with leases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from bot.store.db import Db, reading, writing
from bot.store.schema import engine_state, job_state
from bot.store.sql import upsert_insert


async def get_engine_state(db: Db, key: str) -> bytes | None:
    async with reading(db) as conn:
        value = (await conn.execute(select(engine_state.c.value).where(engine_state.c.key == key))).scalar()
        return bytes(value) if value is not None else None


async def put_engine_state(db: Db, key: str, value: bytes, *, now: datetime) -> None:
    async with writing(db) as conn:
        stmt = upsert_insert(conn, engine_state).values(key=key, value=value, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[engine_state.c.key], set_={"value": value, "updated_at": now}
        )
        await conn.execute(stmt)


async def get_job_value(db: Db, name: str) -> Any:
    """The JSON value a job stored under `name`, or None."""
    async with reading(db) as conn:
        raw = (await conn.execute(select(job_state.c.value).where(job_state.c.name == name))).scalar()
        return json.loads(raw) if raw is not None else None


async def set_job_value(db: Db, name: str, value: Any, *, now: datetime) -> None:
    """Store a JSON-serialisable value under `name` (the lease, if any, is left alone)."""
    encoded = json.dumps(value, separators=(",", ":"), sort_keys=True)
    async with writing(db) as conn:
        stmt = upsert_insert(conn, job_state).values(name=name, value=encoded, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[job_state.c.name], set_={"value": encoded, "updated_at": now}
        )
        await conn.execute(stmt)


async def acquire_job_lease(db: Db, name: str, *, owner: str, now: datetime, lease_s: float) -> bool:
    """Take (or renew) the lease on job `name` for `owner`; False while another owner's lease runs."""
    async with writing(db) as conn:
        create = upsert_insert(conn, job_state).values(name=name, value=None, updated_at=now)
        await conn.execute(create.on_conflict_do_nothing(index_elements=[job_state.c.name]))
        # On PostgreSQL a concurrent taker waits on the row lock, then re-checks this WHERE.
        stmt = (
            update(job_state)
            .where(
                job_state.c.name == name,
                or_(
                    job_state.c.lease_owner.is_(None),
                    job_state.c.lease_owner == owner,
                    job_state.c.lease_until.is_(None),
                    job_state.c.lease_until <= now,
                ),
            )
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_s), updated_at=now)
            .returning(job_state.c.name)
        )
        return (await conn.execute(stmt)).first() is not None


async def release_job_lease(db: Db, name: str, *, owner: str) -> bool:
    """Give the lease back; False if `owner` did not hold it."""
    async with writing(db) as conn:
        stmt = (
            update(job_state)
            .where(job_state.c.name == name, job_state.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )
        return bool((await conn.execute(stmt)).rowcount)
