"""The tables, as SQLAlchemy Core metadata. Migrations create them; queries import them from here.

Full-text search objects are dialect-specific and live only in the migrations: on SQLite an FTS5
external-content table `articles_fts` kept in sync by triggers, on PostgreSQL a generated tsvector
column `articles.search_vector` with a GIN index.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from bot.store.types import BigId, UTCDateTime

# Named constraints let Alembic alter them later on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

sources = Table(
    "sources",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False, server_default=""),
    Column("site_url", Text),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("poll_interval_s", Integer, nullable=False, server_default=text("900")),
    Column("next_poll_at", UTCDateTime),
    Column("last_polled_at", UTCDateTime),
    Column("last_ok_at", UTCDateTime),
    Column("consecutive_failures", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("disabled_at", UTCDateTime),
    Column("disabled_reason", Text),
    Column("primed", Boolean(create_constraint=False), nullable=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
    Column("lease_owner", Text),
    Column("lease_until", UTCDateTime),
    Index("ix_sources_next_poll_at", "next_poll_at"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False, server_default=""),
    Column("text", Text, nullable=False, server_default=""),
    Column("published", UTCDateTime, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("language", String(16), nullable=False, server_default=""),
    Column("source_id", BigId, ForeignKey("sources.id", ondelete="SET NULL")),
    # Signed 64-bit simhash of title + text (see bot.fingerprint).
    Column("fingerprint", BigInteger),
    Column("original_id", BigId, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("item_key", Text, nullable=False, server_default=""),
    Index("ix_articles_published", "published"),
    Index("ix_articles_fetched_at", "fetched_at"),
    Index("ix_articles_source_id", "source_id"),
    Index("ix_articles_original_id", "original_id"),
    sqlite_autoincrement=True,
)

source_items = Table(
    "source_items",
    metadata,
    Column("source_id", BigId, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("item_key", Text, nullable=False),
    Column("article_id", BigId, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("source_id", "item_key"),
    Index("ix_source_items_article_id", "article_id"),
)

topics = Table(
    "topics",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False, server_default=""),
    Column("query", Text, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("created_by", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

stories = Table(
    "stories",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("topic_id", String(64), ForeignKey("topics.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False, server_default=""),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("development_count", Integer, nullable=False, server_default=text("0")),
    Column("key_terms", JSON, nullable=False),
    Index("ix_stories_topic_id_last_seen", "topic_id", "last_seen"),
    sqlite_autoincrement=True,
)

developments = Table(
    "developments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("topic_id", String(64), ForeignKey("topics.id", ondelete="CASCADE"), nullable=False),
    Column("story_id", BigId, ForeignKey("stories.id", ondelete="SET NULL")),
    Column("headline", Text, nullable=False, server_default=""),
    Column("what_is_new", Text, nullable=False, server_default=""),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("article_count", Integer, nullable=False, server_default=text("0")),
    Column("source_count", Integer, nullable=False, server_default=text("0")),
    Column("representative_article_id", BigId, ForeignKey("articles.id", ondelete="SET NULL")),
    Index("ix_developments_topic_id_last_seen", "topic_id", "last_seen"),
    Index("ix_developments_story_id", "story_id"),
    sqlite_autoincrement=True,
)

development_articles = Table(
    "development_articles",
    metadata,
    Column("development_id", BigId, ForeignKey("developments.id", ondelete="CASCADE"), nullable=False),
    Column("article_id", BigId, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),
    Column("new_development", Boolean(create_constraint=False), nullable=False, server_default=false()),
    PrimaryKeyConstraint("development_id", "article_id"),
    Index("ix_development_articles_article_id", "article_id"),
)

engine_state = Table(
    "engine_state",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", LargeBinary, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("workspace", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("thread", Text),
    Column("topic_id", String(64), ForeignKey("topics.id", ondelete="CASCADE"), nullable=False),
    Column("mode", String(16), nullable=False, server_default="instant"),
    Column("digest_at", String(5), nullable=False, server_default="08:00"),
    Column("timezone", Text, nullable=False, server_default="UTC"),
    Column("min_sources", Integer, nullable=False, server_default=text("1")),
    Column("new_story_sources", Integer, nullable=False, server_default=text("1")),
    Column("threaded", Boolean(create_constraint=False), nullable=False, server_default=false()),
    Column("paused_reason", Text),
    # Story-thread replies also shown in the channel (Slack); delivery through a channel webhook (Discord).
    Column("broadcast", Boolean(create_constraint=False), nullable=False, server_default=false()),
    Column("webhook", Boolean(create_constraint=False), nullable=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform", "workspace", "channel", "topic_id"),
    CheckConstraint("mode IN ('instant', 'digest', 'both')", name="mode"),
    Index("ix_subscriptions_topic_id", "topic_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("platform", String(16), nullable=False),
    Column("workspace", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("thread", Text),
    Column("kind", String(16), nullable=False),
    Column("payload", Text, nullable=False),
    Column("development_id", BigId, ForeignKey("developments.id", ondelete="SET NULL")),
    Column("subscription_id", BigId, ForeignKey("subscriptions.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("not_before", UTCDateTime, nullable=False),
    Column("lease_owner", Text),
    Column("lease_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("receipt", Text),
    Column("last_error", Text),
    # Parts of a split message the platform accepted, and the thread the first part started.
    Column("parts_sent", Integer, nullable=False, server_default=text("0")),
    Column("thread_id", Text),
    CheckConstraint("kind IN ('alert', 'digest')", name="kind"),
    CheckConstraint("status IN ('pending', 'sent', 'dead')", name="status"),
    Index("ix_outbox_status_not_before", "status", "not_before"),
    Index("ix_outbox_development_id", "development_id"),
    # Delivery keeps each channel in id order: "is an earlier message of this channel still pending?"
    Index(
        "ix_outbox_platform_workspace_channel_status_id", "platform", "workspace", "channel", "status", "id"
    ),
)

story_mutes = Table(
    "story_mutes",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("workspace", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("story_id", BigId, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime),
    PrimaryKeyConstraint("platform", "workspace", "channel", "story_id"),
)

# The thread each story's alerts go into, per channel: started by the story's first threaded alert there.
story_threads = Table(
    "story_threads",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("workspace", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("story_id", BigId, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("thread_id", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("platform", "workspace", "channel", "story_id"),
)

# One row per (subscription, local digest date): claiming it is what makes a digest go out once.
digest_runs = Table(
    "digest_runs",
    metadata,
    Column("subscription_id", BigId, ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("period", String(10), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("outbox_id", BigId),
    Column("development_count", Integer, nullable=False, server_default=text("0")),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("subscription_id", "period"),
    CheckConstraint("status IN ('sent', 'empty', 'skipped')", name="status"),
)

job_state = Table(
    "job_state",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("value", Text),
    Column("lease_owner", Text),
    Column("lease_until", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The story engine by topic partition: a partition's lease (owner, until) and its fencing token
# (`generation`, raised on every takeover), and how far into the engine inbox it has read.
engine_partitions = Table(
    "engine_partitions",
    metadata,
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False, server_default=text("0")),
    Column("lease_owner", Text),
    Column("lease_until", UTCDateTime),
    Column("inbox_xid", BigInteger, nullable=False, server_default=text("0")),
    Column("inbox_id", BigInteger, nullable=False, server_default=text("0")),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Stored articles waiting for the engine: one row per article, read by every partition in (xid, id)
# order. `xid` is the writing transaction's id on PostgreSQL (0 on SQLite, whose one writer commits in
# id order); `batch_at` stamps the poll pass, so one pass's articles are decided as one batch.
engine_inbox = Table(
    "engine_inbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("xid", BigInteger, nullable=False, server_default=text("0")),
    Column("article_id", BigInteger, nullable=False),
    Column("announce", Boolean(create_constraint=False), nullable=False),
    Column("batch_at", UTCDateTime, nullable=False),
    Index("ix_engine_inbox_xid_id", "xid", "id"),
    # Ids are never reused once the rows are trimmed: a partition's mark stays behind every new one.
    sqlite_autoincrement=True,
)

# A partition's engine state: the last full snapshot, and the changes of each batch since (the journal).
engine_snapshots = Table(
    "engine_snapshots",
    metadata,
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("journal_seq", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

engine_journal = Table(
    "engine_journal",
    metadata,
    Column("partition", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("partition", "seq"),
)

# Worker processes that said they are alive, and in which roles: partitions are shared among these.
workers = Table(
    "workers",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("roles", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

# Objects made by raw DDL in the migrations (full-text search, fingerprint band expression
# indexes); schema comparison must skip them.
RAW_DDL_OBJECT_NAMES = frozenset(
    {
        "ix_articles_fingerprint_band0",
        "ix_articles_fingerprint_band1",
        "ix_articles_fingerprint_band2",
        "ix_articles_fingerprint_band3",
        "articles_fts",
        "articles_fts_data",
        "articles_fts_idx",
        "articles_fts_docsize",
        "articles_fts_config",
        "search_vector",
        "ix_articles_search_vector",
    }
)


def include_object(_obj: object, name: str | None, _type: str, _reflected: bool, _compare_to: object) -> bool:
    """Alembic `include_object` hook: compare everything except the raw-DDL objects above."""
    return name not in RAW_DDL_OBJECT_NAMES


# Slack workspaces that installed the app through OAuth (multi-workspace mode), one row per installer;
# `data` is slack_sdk's Installation as JSON. Ids absent in Slack's payload are stored as ''.
slack_installations = Table(
    "slack_installations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("client_id", Text, nullable=False),
    Column("enterprise_id", Text, nullable=False),
    Column("team_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("is_enterprise_install", Boolean(create_constraint=False), nullable=False),
    Column("bot_token", Text),
    Column("data", JSON, nullable=False),
    Column("installed_at", UTCDateTime, nullable=False),
    UniqueConstraint("client_id", "enterprise_id", "team_id", "user_id"),
    Index("ix_slack_installations_client_id_team_id", "client_id", "team_id"),
)

# When a member may ask again for a command that is rate-limited per member and channel ('digest now').
command_cooldowns = Table(
    "command_cooldowns",
    metadata,
    Column("command", String(32), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("workspace", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("asked_at", UTCDateTime, nullable=False),
    Column("next_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("command", "platform", "workspace", "channel", "user_id"),
    Index("ix_command_cooldowns_next_at", "next_at"),
)
