"""Persistence: SQLAlchemy Core tables, Alembic migrations and typed queries (SQLite or PostgreSQL)."""

from bot.store.db import Db, Store, StoreError, open_store

__all__ = ["Db", "Store", "StoreError", "open_store"]
