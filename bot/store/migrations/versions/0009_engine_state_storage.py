"""The engine state's bytes are stored as they come on PostgreSQL: compressing a journal entry (TOAST's
pglz) cost several times what encoding it did, on the path of every batch.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE engine_journal ALTER COLUMN data SET COMPRESSION lz4")
        op.execute("ALTER TABLE engine_snapshots ALTER COLUMN data SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE engine_journal ALTER COLUMN data SET STORAGE EXTENDED")
        op.execute("ALTER TABLE engine_snapshots ALTER COLUMN data SET STORAGE EXTENDED")
