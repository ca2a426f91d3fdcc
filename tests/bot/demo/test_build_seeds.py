"""seeds/build_seeds.py against ../shared: the committed feeds are up to date and hold every stream item."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from bot.demo import default_seeds_dir

pytestmark = pytest.mark.shared

SEEDS = default_seeds_dir()
FEEDS = SEEDS / "feeds"


def _build(shared_dir: Path, out: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        str(SEEDS / "build_seeds.py"),
        str(shared_dir / "seeds"),
        str(shared_dir / "eval" / "scenarios" / "stream.jsonl"),
        "--out",
        str(out),
    ]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _read_entries() -> dict[str, dict[str, Any]]:
    """Every committed entry as {title, link, summary, published, outlet}, keyed by its stream id."""
    index = json.loads((FEEDS / "index.json").read_text(encoding="utf-8"))
    found: dict[str, dict[str, Any]] = {}
    for record in index:
        path = FEEDS / record["file"]
        if record["format"] == "json":
            rows = [
                {
                    "id": item["id"],
                    "title": item["title"],
                    "link": item["url"],
                    "summary": item.get("summary") or item.get("content_html") or item["content_text"],
                }
                for item in json.loads(path.read_text(encoding="utf-8"))["items"]
            ]
        else:
            rows = [
                {"id": e.id, "title": e.title, "link": e.link, "summary": e.get("summary", "")}
                for e in feedparser.parse(path.read_bytes()).entries
            ]
        published = {entry["guid"]: entry["published"] for entry in record["entries"]}
        for row in rows:
            key = row["id"].rsplit(":", 1)[1]
            assert key not in found, f"{key} appears twice"
            found[key] = {**row, "published": published[row["id"]], "outlet": record["outlet"]}
    return found


def test_committed_feeds_are_up_to_date(shared_dir: Path, tmp_path: Path) -> None:
    result = _build(shared_dir, tmp_path)
    assert "259 entries" in result.stdout
    fresh = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    committed = {path.name: path.read_bytes() for path in FEEDS.iterdir()}
    assert sorted(fresh) == sorted(committed), "regenerate: python seeds/build_seeds.py ../shared/seeds ..."
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"out of date, regenerate with seeds/build_seeds.py: {stale}"


def test_build_is_deterministic_and_clears_stale_files(shared_dir: Path, tmp_path: Path) -> None:
    _build(shared_dir, tmp_path)
    (tmp_path / "gone-outlet.xml").write_text("<rss/>", encoding="utf-8")
    first = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.name != "gone-outlet.xml"}
    _build(shared_dir, tmp_path)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == first


def test_every_scenario_item_appears_once_with_its_fields(shared_dir: Path) -> None:
    stream_path = shared_dir / "eval" / "scenarios" / "stream.jsonl"
    stream = [json.loads(line) for line in stream_path.read_text(encoding="utf-8").splitlines() if line]
    found = _read_entries()
    assert {item["id"] for item in stream} | {k for k in found if k.startswith("seed-")} == set(found)
    for item in stream:
        entry = found[item["id"]]
        assert entry["outlet"] == item["source"]
        assert entry["title"] == item["title"]
        assert entry["link"] == item["url"], "tracking parameters and AMP paths must be kept for the ingest"
        assert entry["published"] == item["published"]
        assert _plain(entry["summary"]) == item["summary"]


def test_seed_articles_come_from_the_shared_texts(shared_dir: Path) -> None:
    found = _read_entries()
    for text_path in sorted((shared_dir / "seeds").glob("*.txt")):
        entry = found[f"seed-{text_path.stem}"]
        text = text_path.read_text(encoding="utf-8")
        assert entry["title"] in text
        assert _plain(entry["summary"]) in text
        datetime.fromisoformat(entry["published"].replace("Z", "+00:00"))
