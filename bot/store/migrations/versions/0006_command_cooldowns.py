"""Command cooldowns: when a member may next ask for a rate-limited command ('digest now') in a channel.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "command_cooldowns",
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("asked_at", UTCDateTime, nullable=False),
        sa.Column("next_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint(
            "command", "platform", "workspace", "channel", "user_id", name="pk_command_cooldowns"
        ),
    )
    op.create_index("ix_command_cooldowns_next_at", "command_cooldowns", ["next_at"])


def downgrade() -> None:
    op.drop_index("ix_command_cooldowns_next_at", table_name="command_cooldowns")
    op.drop_table("command_cooldowns")
