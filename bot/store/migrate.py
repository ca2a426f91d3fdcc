"""Alembic driven from code: `upgrade(url)` serves `storywatch db upgrade` and start-up; no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from bot.store.db import Db, Store, connect_store, open_error, reading

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
# Any fixed number: two processes starting at once on PostgreSQL take turns migrating.
_PG_MIGRATION_LOCK = 0x73746F7279


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration an alembic.ini would hold, built in memory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(db: Db) -> str | None:
    """The database's migration revision, or None for an empty database."""
    async with reading(db) as conn:
        return await conn.run_sync(_current_revision)


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
    command.upgrade(alembic_config(connection), revision)


async def upgrade_store(store: Store, revision: str = "head") -> None:
    """Apply pending migrations in one transaction (DDL is transactional on SQLite and PostgreSQL)."""
    async with store.write() as conn:
        await conn.run_sync(_upgrade, revision)


async def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the database at `url`, bringing its schema to the latest migration unless told not to.

    A database that cannot be reached or written (no server, bad credentials, a read-only file) is a
    StoreError naming it and the reason.
    """
    store = await connect_store(url)
    if migrate:
        try:
            await upgrade_store(store)
        except BaseException as exc:
            await store.close()
            if isinstance(exc, OperationalError):
                raise open_error(store, exc) from None
            raise
    return store


async def upgrade(url: str, revision: str = "head") -> str | None:
    """Bring the database at `url` to `revision` (default: the latest); returns the revision reached."""
    store = await connect_store(url)
    try:
        await upgrade_store(store, revision)
        return await current_revision(store)
    finally:
        await store.close()
