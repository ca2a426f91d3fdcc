"""Alembic environment: always online, on the connection bot.store.migrate hands over."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SAWarning

from bot.store.schema import include_object, metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations via bot.store.migrate (storywatch db upgrade), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction(), warnings.catch_warnings():
    # Batch mode reflects tables; the fingerprint band indexes are expression indexes it cannot read.
    warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
    context.run_migrations()
