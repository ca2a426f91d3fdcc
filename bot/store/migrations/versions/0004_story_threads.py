"""Story threads: where each story's thread lives per channel, and the subscription options that use it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import BigId, UTCDateTime

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "story_threads",
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("story_id", BigId, nullable=False),
        sa.Column("thread_id", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace", "channel", "story_id", name="pk_story_threads"),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_threads_story_id_stories", ondelete="CASCADE"
        ),
    )
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("broadcast", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("webhook", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("webhook")
        batch.drop_column("broadcast")
    op.drop_table("story_threads")
