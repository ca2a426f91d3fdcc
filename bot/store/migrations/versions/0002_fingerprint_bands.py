"""Index the four 16-bit bands of articles.fingerprint, so finding syndicated copies is index lookups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-09
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# Queries must spell these exactly so (bot.store.articles.fingerprint_band) for the planner to match.
_BANDS = (
    "fingerprint & 65535",
    "(fingerprint >> 16) & 65535",
    "(fingerprint >> 32) & 65535",
    "(fingerprint >> 48) & 65535",
)


def upgrade() -> None:
    for band, expression in enumerate(_BANDS):
        op.execute(f"CREATE INDEX ix_articles_fingerprint_band{band} ON articles (({expression}))")


def downgrade() -> None:
    for band in range(len(_BANDS)):
        op.execute(f"DROP INDEX IF EXISTS ix_articles_fingerprint_band{band}")
