"""The Store: one async engine (SQLite via aiosqlite by default, PostgreSQL via asyncpg) and transactions.

Query functions take a `Db`: either the Store (they open and commit their own transaction) or an
`AsyncConnection` already inside a transaction (the caller commits; this is how several writes, such
as a development and its outbox rows, land atomically). Take that connection from `store.write()`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

# Execution option read by the SQLite "begin" listener: writers take the write lock up front.
_WRITE_OPTION = "storywatch_write"
SQLITE_BUSY_TIMEOUT_MS = 15_000


class StoreError(Exception):
    """A store problem worth showing to a user as is (bad URL, duplicate, missing row)."""


class Store:
    """The database: `engine`, plus `write()` and `read()` transactions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{_WRITE_OPTION: True})
        # SQLite has one writer; queueing writers here beats its busy handler's sleep-and-retry.
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, committed on exit (BEGIN IMMEDIATE on SQLite, so no lock upgrades)."""
        if self._write_lock is None:
            async with self._writer.begin() as conn:
                yield conn
            return
        async with self._write_lock, self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """One read transaction: a consistent snapshot, rolled back on exit."""
        async with self.engine.connect() as conn:
            yield conn

    async def close(self) -> None:
        await self.engine.dispose()


# A transaction's connection, as store.read()/write() yield it: what the core names in its signatures.
StoreConnection = AsyncConnection
Db = Store | AsyncConnection


@asynccontextmanager
async def writing(db: Db) -> AsyncIterator[AsyncConnection]:
    """A connection in a write transaction: the caller's, or a new one committed on exit."""
    if isinstance(db, AsyncConnection):
        yield db
    else:
        async with db.write() as conn:
            yield conn


@asynccontextmanager
async def reading(db: Db) -> AsyncIterator[AsyncConnection]:
    """A connection to read from: the caller's, or a new short read transaction."""
    if isinstance(db, AsyncConnection):
        yield db
    else:
        async with db.read() as conn:
            yield conn


def dialect_of(conn: AsyncConnection) -> str:
    return conn.dialect.name


def normalise_url(url: str) -> URL:
    """Accept sqlite:// and postgresql:// spellings and pick the async driver for each."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise StoreError(f"unsupported database {backend!r}: use sqlite:///path or postgresql://host/db")


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or (url.query.get("mode") == "memory")


def create_engine(url: str) -> AsyncEngine:
    """An async engine with the connection setup storywatch relies on (SQLite pragmas, own BEGIN)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, pool_pre_ping=True)
    kwargs: dict[str, Any] = {}
    if _is_memory(parsed):
        # An in-memory database lives in one connection: share it.
        kwargs["poolclass"] = StaticPool
    elif parsed.database:
        make_data_dir(Path(parsed.database).expanduser().parent)
    engine = create_async_engine(parsed, **kwargs)
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def make_data_dir(folder: Path) -> None:
    """The SQLite file's folder, created if missing; a StoreError saying why it cannot hold the database."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreError(f"data directory {folder}: exists and is not a directory") from None
    except OSError as exc:
        raise StoreError(f"data directory {folder}: cannot be created ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(f"data directory {folder}: not writable")


def describe_url(url: URL) -> str:
    """The database as a user knows it, without password or query string (either may hold a secret)."""
    if url.get_backend_name() == "sqlite":
        return str(url.database or ":memory:")
    bare = url.set(drivername=url.get_backend_name(), password=None, query={})
    return bare.render_as_string(hide_password=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # The driver's implicit BEGIN skips SELECTs and commits before DDL; we emit our own instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


async def connect_store(url: str) -> Store:
    """Open the database at `url` as it is (bot.store.open_store also brings its schema up to date).

    A database that cannot be reached (no server, bad credentials) is a StoreError naming it and the reason.
    """
    engine = create_engine(url)
    store = Store(engine)
    try:
        await _connect_once(store)
    except BaseException:
        await engine.dispose()
        raise
    return store


async def _connect_once(store: Store) -> None:
    try:
        async with store.engine.connect():
            pass
    # TypeError: the driver refuses a query-string option of the URL as an unknown keyword.
    except (OSError, DBAPIError, TypeError) as exc:
        raise open_error(store, exc) from None


def open_error(store: Store, exc: Exception) -> StoreError:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return StoreError(f"cannot open the database {describe_url(store.engine.url)}: {reason}")
