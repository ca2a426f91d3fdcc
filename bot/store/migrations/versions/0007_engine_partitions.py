"""The engine by topic partition: partition leases with fencing, the engine inbox, per-partition state
(snapshot and journal), and the live workers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import BigId, UTCDateTime

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "engine_partitions",
        sa.Column("partition", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("inbox_xid", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("inbox_id", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("partition", name="pk_engine_partitions"),
    )
    op.create_table(
        "engine_inbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("xid", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("article_id", sa.BigInteger, nullable=False),
        sa.Column("announce", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("batch_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_engine_inbox"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_engine_inbox_xid_id", "engine_inbox", ["xid", "id"])
    op.create_table(
        "engine_snapshots",
        sa.Column("partition", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("journal_seq", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("partition", name="pk_engine_snapshots"),
    )
    op.create_table(
        "engine_journal",
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("partition", "seq", name="pk_engine_journal"),
    )
    op.create_table(
        "workers",
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("owner", name="pk_workers"),
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_table("engine_journal")
    op.drop_table("engine_snapshots")
    op.drop_index("ix_engine_inbox_xid_id", table_name="engine_inbox")
    op.drop_table("engine_inbox")
    op.drop_table("engine_partitions")
