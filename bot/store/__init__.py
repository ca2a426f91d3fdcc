"""Persistence: SQLAlchemy Core tables, Alembic migrations and typed queries (SQLite or PostgreSQL).

Start with `open_store(url)`; query functions live in the submodules (sources, articles, search,
topics, outbox, state) and take the Store, or a connection from `store.write()` to share a transaction.
"""

from bot.store.check import check
from bot.store.db import Db, Store, StoreError
from bot.store.migrate import open_store, upgrade

__all__ = ["Db", "Store", "StoreError", "check", "open_store", "upgrade"]
