"""Slack OAuth installations: one row per workspace (or Enterprise org) installer, for multi-workspace mode.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import BigId, UTCDateTime

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "slack_installations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("enterprise_id", sa.Text, nullable=False),
        sa.Column("team_id", sa.Text, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("is_enterprise_install", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("bot_token", sa.Text),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("installed_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slack_installations"),
        sa.UniqueConstraint(
            "client_id",
            "enterprise_id",
            "team_id",
            "user_id",
            name="uq_slack_installations_client_id_enterprise_id_team_id_user_id",
        ),
    )
    op.create_index(
        "ix_slack_installations_client_id_team_id", "slack_installations", ["client_id", "team_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_slack_installations_client_id_team_id", table_name="slack_installations")
    op.drop_table("slack_installations")
