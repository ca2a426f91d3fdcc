"""The committed seed feeds (seeds/feeds/) and sample configuration are well-formed and complete."""

from __future__ import annotations

import calendar
import json
from collections import Counter
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import pytest

from bot.config import load_settings
from bot.demo import default_seeds_dir

SEEDS = default_seeds_dir()
FEEDS = SEEDS / "feeds"
INDEX: list[dict[str, Any]] = json.loads((FEEDS / "index.json").read_text(encoding="utf-8"))
SEED_KEYS = {"seed-000_17470713c3846f1c", "seed-001_4f30339b672c6a11", "seed-004_be1047205980e6e8"}
MEDIA_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _key(guid: str) -> str:
    """The stream id or seed name a guid was made from (tag:host,date:KEY)."""
    return guid.rsplit(":", 1)[1]


def test_index_names_every_file_and_all_three_formats() -> None:
    on_disk = {path.name for path in FEEDS.iterdir()} - {"index.json"}
    assert on_disk == {record["file"] for record in INDEX}
    formats = Counter(record["format"] for record in INDEX)
    assert set(formats) == {"rss", "atom", "json"}
    assert min(formats.values()) >= 10, formats
    for record in INDEX:
        assert record["content_type"] == f"{MEDIA_TYPES[record['format']]}; charset=utf-8"
        assert record["file"].endswith(".json" if record["format"] == "json" else ".xml")
        published = [_time(entry["published"]) for entry in record["entries"]]
        assert published == sorted(published, reverse=True), f"{record['file']}: not newest first"


@pytest.mark.parametrize("record", [r for r in INDEX if r["format"] != "json"], ids=lambda r: r["file"])
def test_xml_feed_parses_cleanly_and_matches_index(record: dict[str, Any]) -> None:
    parsed = feedparser.parse((FEEDS / record["file"]).read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == ("rss20" if record["format"] == "rss" else "atom10")
    assert parsed.feed.title == record["outlet"]
    assert [entry.id for entry in parsed.entries] == [entry["guid"] for entry in record["entries"]]
    for entry, indexed in zip(parsed.entries, record["entries"], strict=True):
        assert entry.title and entry.link
        assert datetime.fromtimestamp(calendar.timegm(entry.published_parsed), UTC) == _time(
            indexed["published"]
        )


@pytest.mark.parametrize("record", [r for r in INDEX if r["format"] == "json"], ids=lambda r: r["file"])
def test_json_feed_is_valid_json_feed_1_1_and_matches_index(record: dict[str, Any]) -> None:
    # feedparser 6.0 reads no JSON Feed, so the 1.1 spec's required fields are checked here.
    document = json.loads((FEEDS / record["file"]).read_text(encoding="utf-8"))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] == record["outlet"]
    assert document["home_page_url"].startswith("https://")
    assert [item["id"] for item in document["items"]] == [entry["guid"] for entry in record["entries"]]
    for item, indexed in zip(document["items"], record["entries"], strict=True):
        assert isinstance(item["id"], str) and item["title"] and item["url"].startswith("https://")
        assert "content_html" in item or "content_text" in item
        assert _time(item["date_published"]) == _time(indexed["published"])


def test_guids_are_unique_and_the_seed_articles_are_there_once() -> None:
    keys = Counter(_key(entry["guid"]) for record in INDEX for entry in record["entries"])
    assert max(keys.values()) == 1
    assert set(keys) >= SEED_KEYS
    assert len(keys) == len(SEED_KEYS) + sum(1 for key in keys if key.startswith("dev-"))


def test_seed_articles_carry_their_full_text() -> None:
    outlets = {"seed-004_be1047205980e6e8": "DW", "seed-000_17470713c3846f1c": "The Dong-A Ilbo"}
    found = {}
    for record in INDEX:
        path = FEEDS / record["file"]
        if record["format"] == "json":
            items = json.loads(path.read_text(encoding="utf-8"))["items"]
            texts = {_key(item["id"]): item.get("content_html", "") for item in items}
        else:
            entries = feedparser.parse(path.read_bytes()).entries
            texts = {_key(entry.id): entry.get("content", [{"value": ""}])[0]["value"] for entry in entries}
        for key, text in texts.items():
            if key in SEED_KEYS:
                found[key] = (record["outlet"], record["format"], text)
    assert set(found) == SEED_KEYS
    assert {fmt for _, fmt, _ in found.values()} == {"rss", "atom", "json"}
    for key, outlet in outlets.items():
        assert found[key][0] == outlet
    for _, _, text in found.values():
        assert text.count("<p>") >= 4


def test_a_few_entries_carry_real_world_markup_quirks() -> None:
    xml = "".join((FEEDS / r["file"]).read_text(encoding="utf-8") for r in INDEX if r["format"] != "json")
    assert xml.count("<description><![CDATA[<p>") >= 2
    assert xml.count('<summary type="html"><![CDATA[') >= 1
    assert xml.count("&lt;p&gt;") >= 2
    assert xml.count("&#39;") >= 1
    assert xml.count("utm_source=") >= 10
    assert "/amp/" in xml or "/amp" in xml


def test_sample_configuration_loads() -> None:
    settings = load_settings(SEEDS / "storywatch.toml", env={})
    assert {topic.id for topic in settings.topics} == {"korea-diplomacy", "central-banks"}
    assert len(settings.sources) >= 10
    assert all(source.url.startswith("https://") for source in settings.sources)
    assert not settings.slack.enabled and not settings.discord.enabled


def test_sample_configuration_names_secrets_only_as_environment_variables() -> None:
    for line in (SEEDS / "storywatch.toml").read_text(encoding="utf-8").splitlines():
        if not line.lstrip().startswith("#"):
            assert "token" not in line.lower() and "secret" not in line.lower(), line


def test_rss_dates_are_rfc_822() -> None:
    for record in INDEX:
        if record["format"] != "rss":
            continue
        text = (FEEDS / record["file"]).read_text(encoding="utf-8")
        first = text.split("<pubDate>", 1)[1].split("</pubDate>", 1)[0]
        assert parsedate_to_datetime(first) == _time(record["entries"][0]["published"])
