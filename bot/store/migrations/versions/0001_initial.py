"""Initial schema: sources, articles (+ full-text search), topics, stories, developments, outbox, state.

Revision ID: 0001
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import BigId, UTCDateTime

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE articles_fts USING fts5("
    "title, text, content='articles', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, text ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
]

# 'simple' (no stemming, no stop words) matches what SQLite's unicode61 tokenizer does.
_POSTGRES_FTS = [
    "ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, left(coalesce(text, ''), 100000)), 'B')) STORED",
    "CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("site_url", sa.Text),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("poll_interval_s", sa.Integer, nullable=False, server_default=sa.text("900")),
        sa.Column("next_poll_at", UTCDateTime),
        sa.Column("last_polled_at", UTCDateTime),
        sa.Column("last_ok_at", UTCDateTime),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.Column("disabled_at", UTCDateTime),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("primed", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_until", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("url", name="uq_sources_url"),
    )
    op.create_index("ix_sources_next_poll_at", "sources", ["next_poll_at"])

    op.create_table(
        "articles",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("published", UTCDateTime, nullable=False),
        sa.Column("fetched_at", UTCDateTime, nullable=False),
        sa.Column("language", sa.String(16), nullable=False, server_default=""),
        sa.Column("source_id", BigId),
        sa.Column("fingerprint", sa.BigInteger),
        sa.Column("original_id", BigId),
        sa.Column("item_key", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
        sa.UniqueConstraint("url", name="uq_articles_url"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_articles_source_id_sources", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["original_id"], ["articles.id"], name="fk_articles_original_id_articles", ondelete="SET NULL"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_articles_published", "articles", ["published"])
    op.create_index("ix_articles_fetched_at", "articles", ["fetched_at"])
    op.create_index("ix_articles_source_id", "articles", ["source_id"])
    op.create_index("ix_articles_original_id", "articles", ["original_id"])

    op.create_table(
        "source_items",
        sa.Column("source_id", BigId, nullable=False),
        sa.Column("item_key", sa.Text, nullable=False),
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("source_id", "item_key", name="pk_source_items"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_source_items_source_id_sources", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_source_items_article_id_articles", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_source_items_article_id", "source_items", ["article_id"])

    op.create_table(
        "topics",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_topics"),
    )

    op.create_table(
        "stories",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("development_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("key_terms", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name="fk_stories_topic_id_topics", ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_stories_topic_id_last_seen", "stories", ["topic_id", "last_seen"])

    op.create_table(
        "developments",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("story_id", BigId),
        sa.Column("headline", sa.Text, nullable=False, server_default=""),
        sa.Column("what_is_new", sa.Text, nullable=False, server_default=""),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("article_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("source_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("representative_article_id", BigId),
        sa.PrimaryKeyConstraint("id", name="pk_developments"),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name="fk_developments_topic_id_topics", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_developments_story_id_stories", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["representative_article_id"],
            ["articles.id"],
            name="fk_developments_representative_article_id_articles",
            ondelete="SET NULL",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_developments_topic_id_last_seen", "developments", ["topic_id", "last_seen"])
    op.create_index("ix_developments_story_id", "developments", ["story_id"])

    op.create_table(
        "development_articles",
        sa.Column("development_id", BigId, nullable=False),
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("joined_at", UTCDateTime, nullable=False),
        sa.Column(
            "new_development", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false()
        ),
        sa.PrimaryKeyConstraint("development_id", "article_id", name="pk_development_articles"),
        sa.ForeignKeyConstraint(
            ["development_id"],
            ["developments.id"],
            name="fk_development_articles_development_id_developments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_development_articles_article_id_articles",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_development_articles_article_id", "development_articles", ["article_id"])

    op.create_table(
        "engine_state",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_engine_state"),
    )

    op.create_table(
        "subscriptions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("thread", sa.Text),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False, server_default="instant"),
        sa.Column("digest_at", sa.String(5), nullable=False, server_default="08:00"),
        sa.Column("timezone", sa.Text, nullable=False, server_default="UTC"),
        sa.Column("min_sources", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("threaded", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false()),
        sa.Column("paused_reason", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint(
            "platform", "workspace", "channel", "topic_id", name="uq_subscriptions_platform_workspace_channel_topic_id"
        ),
        sa.CheckConstraint("mode IN ('instant', 'digest', 'both')", name="ck_subscriptions_mode"),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name="fk_subscriptions_topic_id_topics", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_subscriptions_topic_id", "subscriptions", ["topic_id"])

    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.Text, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("thread", sa.Text),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("development_id", BigId),
        sa.Column("subscription_id", BigId),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("not_before", UTCDateTime, nullable=False),
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("receipt", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        sa.CheckConstraint("kind IN ('alert', 'digest')", name="ck_outbox_kind"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead')", name="ck_outbox_status"),
        sa.ForeignKeyConstraint(
            ["development_id"], ["developments.id"], name="fk_outbox_development_id_developments", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="fk_outbox_subscription_id_subscriptions",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"])
    op.create_index("ix_outbox_development_id", "outbox", ["development_id"])

    op.create_table(
        "job_state",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_job_state"),
    )

    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_FTS if dialect == "sqlite" else _POSTGRES_FTS if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("articles_fts_ai", "articles_fts_ad", "articles_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    for table in (
        "job_state",
        "outbox",
        "subscriptions",
        "engine_state",
        "development_articles",
        "developments",
        "stories",
        "topics",
        "source_items",
        "articles",
        "sources",
    ):
        op.drop_table(table)
