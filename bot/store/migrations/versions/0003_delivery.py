"""Delivery: story mutes, digest runs, and per-part progress of outbox messages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-05-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import BigId, UTCDateTime

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "story_mutes",
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("story_id", BigId, nullable=False),
        sa.Column("created_at", UTCDateTime),
        sa.PrimaryKeyConstraint("platform", "workspace", "channel", "story_id", name="pk_story_mutes"),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_mutes_story_id_stories", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "digest_runs",
        sa.Column("subscription_id", BigId, nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outbox_id", BigId),
        sa.Column("development_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", "period", name="pk_digest_runs"),
        sa.CheckConstraint("status IN ('sent', 'empty', 'skipped')", name="ck_digest_runs_status"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="fk_digest_runs_subscription_id_subscriptions",
            ondelete="CASCADE",
        ),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("parts_sent", sa.Integer, nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("thread_id", sa.Text))
    op.create_index(
        "ix_outbox_platform_workspace_channel_status_id",
        "outbox",
        ["platform", "workspace", "channel", "status", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_platform_workspace_channel_status_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("thread_id")
        batch.drop_column("parts_sent")
    op.drop_table("digest_runs")
    op.drop_table("story_mutes")
