"""Small SQL helpers that differ by dialect: INSERT ... ON CONFLICT, and chunking long IN lists."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")
# Well under SQLite's 32766 bound parameters and asyncpg's 32767.
IN_CHUNK = 500

Upsert = sqlite.Insert | postgresql.Insert


def upsert_insert(conn: AsyncConnection, table: Table) -> Upsert:
    """An INSERT that supports on_conflict_do_nothing / on_conflict_do_update on either database."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
