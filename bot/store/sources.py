"""Sources: add, list, remove, poll bookkeeping (cache validators, backoff, auto-disable) and due claims."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Source
from bot.store.db import Db, StoreError, reading, writing
from bot.store.schema import sources
from bot.store.sql import upsert_insert

DEFAULT_POLL_INTERVAL_S = 900
# 2**20 intervals is far past any sensible backoff cap; the bound only keeps the arithmetic small.
_MAX_BACKOFF_EXPONENT = 20


class SourceExistsError(StoreError):
    """The feed URL is already a source."""

    def __init__(self, url: str, existing_id: int | None = None) -> None:
        super().__init__(f"{url} is already a source" + (f" (#{existing_id})" if existing_id else ""))
        self.url = url
        self.existing_id = existing_id


class SourceNotFoundError(StoreError):
    def __init__(self, source_id: int) -> None:
        super().__init__(f"no source #{source_id}")
        self.source_id = source_id


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source with the health details `storywatch sources list` shows."""

    source: Source
    site_url: str | None
    last_ok_at: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    lease_owner: str | None
    lease_until: datetime | None


def _source(row: Row[Any]) -> Source:
    return Source(
        id=row.id,
        url=row.url,
        title=row.title,
        etag=row.etag,
        last_modified=row.last_modified,
        last_polled_at=row.last_polled_at,
        next_poll_at=row.next_poll_at,
        poll_interval_s=row.poll_interval_s,
        consecutive_failures=row.consecutive_failures,
        last_error=row.last_error,
        disabled=row.disabled_at is not None,
        primed=bool(row.primed),
    )


def _status(row: Row[Any]) -> SourceStatus:
    return SourceStatus(
        source=_source(row),
        site_url=row.site_url,
        last_ok_at=row.last_ok_at,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
    )


async def add_source(
    db: Db,
    url: str,
    *,
    now: datetime,
    title: str = "",
    site_url: str | None = None,
    poll_interval_s: int = DEFAULT_POLL_INTERVAL_S,
) -> Source:
    """Add a feed, due for polling at once; raises SourceExistsError if the URL is already one."""
    async with writing(db) as conn:
        stmt = (
            upsert_insert(conn, sources)
            .values(
                url=url,
                title=title,
                site_url=site_url,
                poll_interval_s=poll_interval_s,
                next_poll_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[sources.c.url])
            .returning(*sources.c)
        )
        row = (await conn.execute(stmt)).first()
        if row is None:
            existing = (await conn.execute(select(sources.c.id).where(sources.c.url == url))).scalar()
            raise SourceExistsError(url, existing)
        return _source(row)


async def get_source(db: Db, source_id: int) -> Source | None:
    async with reading(db) as conn:
        row = (await conn.execute(select(sources).where(sources.c.id == source_id))).first()
        return _source(row) if row else None


async def get_source_by_url(db: Db, url: str) -> Source | None:
    async with reading(db) as conn:
        row = (await conn.execute(select(sources).where(sources.c.url == url))).first()
        return _source(row) if row else None


async def list_sources(db: Db, *, include_disabled: bool = True) -> list[Source]:
    query = select(sources).order_by(sources.c.id)
    if not include_disabled:
        query = query.where(sources.c.disabled_at.is_(None))
    async with reading(db) as conn:
        return [_source(row) for row in await conn.execute(query)]


async def list_source_statuses(db: Db) -> list[SourceStatus]:
    async with reading(db) as conn:
        return [_status(row) for row in await conn.execute(select(sources).order_by(sources.c.id))]


async def remove_source(db: Db, source_id: int) -> bool:
    """Delete a source and its seen-item keys; its articles stay. False if there was no such source."""
    async with writing(db) as conn:
        result = await conn.execute(delete(sources).where(sources.c.id == source_id))
        return bool(result.rowcount)


async def update_source(
    db: Db, source_id: int, *, title: str | None = None, poll_interval_s: int | None = None
) -> bool:
    """Change a source's title and poll interval (those given); False if there was no such source."""
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = title
    if poll_interval_s is not None:
        changes["poll_interval_s"] = poll_interval_s
    if not changes:
        return True
    async with writing(db) as conn:
        result = await conn.execute(update(sources).where(sources.c.id == source_id).values(**changes))
        return bool(result.rowcount)


async def _update_returning(conn: AsyncConnection, source_id: int, **values: Any) -> Row[Any]:
    stmt = update(sources).where(sources.c.id == source_id).values(**values).returning(*sources.c)
    row = (await conn.execute(stmt)).first()
    if row is None:
        raise SourceNotFoundError(source_id)
    return row


async def record_poll_success(
    db: Db,
    source_id: int,
    *,
    now: datetime,
    etag: str | None = None,
    last_modified: str | None = None,
    new_url: str | None = None,
    title: str | None = None,
    site_url: str | None = None,
) -> Source:
    """A poll worked (200 or 304): store the cache validators, schedule the next poll, free the lease.

    None for `etag`, `last_modified`, `title` or `site_url` keeps the stored value (a 304 resends none).
    `new_url` is where a permanent redirect led; it is kept unless another source already has it.
    """
    async with writing(db) as conn:
        current = (await conn.execute(select(sources).where(sources.c.id == source_id))).first()
        if current is None:
            raise SourceNotFoundError(source_id)
        values: dict[str, Any] = {
            "last_polled_at": now,
            "last_ok_at": now,
            "consecutive_failures": 0,
            "last_error": None,
            "primed": True,
            "next_poll_at": now + timedelta(seconds=current.poll_interval_s),
            "lease_owner": None,
            "lease_until": None,
        }
        for key, value in (("etag", etag), ("last_modified", last_modified), ("title", title)):
            if value is not None:
                values[key] = value
        if site_url is not None:
            values["site_url"] = site_url
        if new_url and new_url != current.url:
            taken = (await conn.execute(select(sources.c.id).where(sources.c.url == new_url))).scalar()
            if taken is None:
                values["url"] = new_url
            else:
                values["last_error"] = f"redirects permanently to {new_url}, already source #{taken}"
        return _source(await _update_returning(conn, source_id, **values))


def backoff_delay_s(poll_interval_s: int, failures: int, backoff_max_s: int) -> int:
    """Seconds until the next try after `failures` failures in a row: the interval, doubling, capped."""
    exponent = min(max(failures - 1, 0), _MAX_BACKOFF_EXPONENT)
    return min(poll_interval_s * (1 << exponent), backoff_max_s)


async def record_poll_failure(
    db: Db,
    source_id: int,
    *,
    now: datetime,
    error: str,
    backoff_max_s: int = 6 * 3600,
    disable_after: int = 10,
    retry_after_s: float | None = None,
) -> Source:
    """A poll failed: back off exponentially, and disable the source after `disable_after` in a row.

    `retry_after_s` (from a 429/503 Retry-After) delays the next try at least that long, but never past
    `backoff_max_s`: a server's number must not stop a source for years (or overflow the clock).
    """
    async with writing(db) as conn:
        row = await _update_returning(
            conn,
            source_id,
            consecutive_failures=sources.c.consecutive_failures + 1,
            last_error=error,
            last_polled_at=now,
            lease_owner=None,
            lease_until=None,
        )
        failures = int(row.consecutive_failures)
        delay = float(backoff_delay_s(row.poll_interval_s, failures, backoff_max_s))
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, backoff_max_s))
        values: dict[str, Any] = {"next_poll_at": now + timedelta(seconds=delay)}
        if failures >= disable_after and row.disabled_at is None:
            values["disabled_at"] = now
            values["disabled_reason"] = f"{failures} failed polls in a row; last: {error}"
        return _source(await _update_returning(conn, source_id, **values))


async def disable_source(db: Db, source_id: int, *, now: datetime, reason: str) -> Source:
    """Stop polling a source (e.g. its feed answered 410 Gone), keeping why."""
    async with writing(db) as conn:
        row = await _update_returning(
            conn, source_id, disabled_at=now, disabled_reason=reason, lease_owner=None, lease_until=None
        )
        return _source(row)


async def enable_source(db: Db, source_id: int, *, now: datetime) -> Source:
    """Resume polling a disabled source now, with a clean failure count."""
    async with writing(db) as conn:
        row = await _update_returning(
            conn,
            source_id,
            disabled_at=None,
            disabled_reason=None,
            consecutive_failures=0,
            next_poll_at=now,
        )
        return _source(row)


async def restart_source(db: Db, source_id: int, *, url: str, now: datetime) -> None:
    """Move a source to `url` and poll it from `now` on, as a replay that starts over does: any dead run's
    lease and any disabling end with it."""
    async with writing(db) as conn:
        await conn.execute(
            update(sources)
            .where(sources.c.id == source_id)
            .values(url=url, next_poll_at=now, lease_owner=None, lease_until=None, disabled_at=None)
        )


async def get_source_status(db: Db, source_id: int) -> SourceStatus | None:
    async with reading(db) as conn:
        row = (await conn.execute(select(sources).where(sources.c.id == source_id))).first()
        return _status(row) if row else None


async def next_poll_time(db: Db, now: datetime) -> datetime | None:
    """When the next enabled source falls due (None: none enabled), so a scheduler knows how long to sleep."""
    query = select(sources.c.next_poll_at, sources.c.lease_until).where(sources.c.disabled_at.is_(None))
    async with reading(db) as conn:
        rows = (await conn.execute(query)).all()
    # A leased source is due again only once its lease runs out.
    return min((max(row.next_poll_at or now, row.lease_until or now) for row in rows), default=None)


async def claim_due_sources(db: Db, now: datetime, owner: str, lease_s: float, limit: int) -> list[Source]:
    """Lease up to `limit` due, enabled, unleased sources to `owner`, oldest due first.

    One statement either way: on PostgreSQL the candidate rows are locked with FOR UPDATE SKIP LOCKED
    so concurrent workers pass each other by; on SQLite the UPDATE holds the database's write lock.
    """
    due = (
        select(sources.c.id)
        .where(
            sources.c.disabled_at.is_(None),
            or_(sources.c.next_poll_at.is_(None), sources.c.next_poll_at <= now),
            or_(sources.c.lease_until.is_(None), sources.c.lease_until <= now),
        )
        .order_by(sources.c.next_poll_at.asc().nulls_first(), sources.c.id)
        .limit(limit)
    )
    async with writing(db) as conn:
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(sources)
            .where(sources.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_s))
            .returning(*sources.c)
        )
        rows = (await conn.execute(stmt)).all()
    claimed = [_source(row) for row in rows]
    claimed.sort(key=lambda s: (s.next_poll_at is not None, s.next_poll_at or now, s.id))
    return claimed


async def record_not_modified_many(
    db: Db, polled: Sequence[tuple[Source, str | None]], *, now: datetime
) -> list[Source]:
    """Many 304 answers in one statement: each (source, permanent-redirect URL or None) polled fine.

    A poll pass over thousands of feeds is mostly 304s; one executemany keeps it off the disk's path.
    Redirected sources go through `record_poll_success`, which checks the new URL is free.
    """
    plain = [(s, u) for s, u in polled if not u or u == s.url]
    moved = [(s, u) for s, u in polled if u and u != s.url]
    out: list[Source] = []
    async with writing(db) as conn:
        if plain:
            rows = [
                {
                    "b_id": s.id,
                    "b_next": now + timedelta(seconds=s.poll_interval_s),
                }
                for s, _ in plain
            ]
            stmt = (
                update(sources)
                .where(sources.c.id == bindparam("b_id"))
                .values(
                    last_polled_at=now,
                    last_ok_at=now,
                    consecutive_failures=0,
                    last_error=None,
                    primed=True,
                    next_poll_at=bindparam("b_next"),
                    lease_owner=None,
                    lease_until=None,
                )
            )
            await conn.execute(stmt, rows)
            out.extend(
                replace(
                    s,
                    last_polled_at=now,
                    next_poll_at=now + timedelta(seconds=s.poll_interval_s),
                    consecutive_failures=0,
                    last_error=None,
                    primed=True,
                )
                for s, _ in plain
            )
        for source, url in moved:
            out.append(await record_poll_success(conn, source.id, now=now, new_url=url))
    return out
