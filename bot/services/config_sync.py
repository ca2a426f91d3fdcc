"""Bring the configured topics and sources into the store at start; those added in chat stay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config import ConfigError, Settings
from bot.ingest.ssrf import Refused, SsrfGuard
from bot.ingest.urls import is_http_url
from bot.models import Topic
from bot.services.commands import QueryValidator, validate_topic_query
from bot.store.db import Store
from bot.store.sources import add_source, get_source_by_url, update_source
from bot.store.topics import upsert_topic

CONFIG_AUTHOR = "config"


@dataclass(frozen=True, slots=True)
class ConfigSync:
    topics: int
    sources_added: int
    sources_updated: int


def config_topics(settings: Settings, validate: QueryValidator = validate_topic_query) -> list[Topic]:
    """The configured topics, each query checked by the engine's parser (a bad one is a ConfigError)."""
    found = []
    for index, entry in enumerate(settings.topics):
        problem = validate(entry.query)
        if problem:
            raise ConfigError(f"topics.{index}.query ({entry.id}): {problem}")
        found.append(
            Topic(
                id=entry.id,
                name=entry.name or entry.id,
                query=entry.query,
                sources=entry.sources,
                description=entry.description,
            )
        )
    return found


async def sync_config(store: Store, settings: Settings, *, now: datetime) -> ConfigSync:
    """Upsert the configured topics (the file wins) and sources (title and interval follow the file)."""
    topics = config_topics(settings)
    guard = SsrfGuard(settings.ingest)
    for index, entry in enumerate(settings.sources):
        if not is_http_url(entry.url):
            raise ConfigError(f"sources.{index}.url: not an http(s) URL: {entry.url[:200]}")
        try:
            guard.vet_url(entry.url)
        except Refused as exc:
            raise ConfigError(f"sources.{index}.url: {exc.reason}") from None
    added = updated = 0
    # One transaction: a half-applied configuration never becomes what the bot runs on.
    async with store.write() as conn:
        for topic in topics:
            await upsert_topic(conn, topic, now=now, created_by=CONFIG_AUTHOR)
        for entry in settings.sources:
            interval = entry.poll_interval_s or settings.ingest.poll_interval_s
            existing = await get_source_by_url(conn, entry.url)
            if existing is None:
                await add_source(conn, entry.url, now=now, title=entry.title, poll_interval_s=interval)
                added += 1
                continue
            title = entry.title if entry.title and entry.title != existing.title else None
            new_interval = interval if interval != existing.poll_interval_s else None
            if title is not None or new_interval is not None:
                await update_source(conn, existing.id, title=title, poll_interval_s=new_interval)
                updated += 1
    return ConfigSync(topics=len(topics), sources_added=added, sources_updated=updated)
