"""Alembic migrations, run programmatically by bot.store.migrate (no alembic.ini on disk)."""
