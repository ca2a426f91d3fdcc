"""Every file in ../shared/feeds goes through parse + normalise: articles, or a FeedError with a reason.

Real feeds are checked against their manifest (sha256 first), and the well-formed ones must give the
same normalised titles and links as feedparser.parse with its defaults (sanitising on) through the
same normalisation. The feedparser suite runs one test per folder, for speed.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import pytest

from bot.ingest.fallback import feed_from_result
from bot.ingest.feed import FeedError, ParsedFeed
from bot.ingest.identity import entry_url, to_articles
from bot.ingest.normalise import clean_title
from bot.ingest.parse import parse_feed
from bot.models import Article
from tests.bot.ingest.conftest import FETCHED_AT
from tests.conftest import SHARED

pytestmark = pytest.mark.shared

FEEDS = SHARED / "feeds"
WELL_FORMED_KINDS = {"rss2", "atom", "rdf", "jsonfeed"}
# feedparser's sanitiser keeps the text of <script>/<iframe> that we drop, so untitled entries whose
# title comes from their text differ there by design; JSON Feed is not read by feedparser 6 at all.
NO_REFERENCE_FOLDERS = {"wellformed/sanitize", "json"}
_EXPECT = re.compile(r"Description:\s*(.*?)\s*Expect:\s*(.*?)\s*-->", re.DOTALL)
_HEADER = re.compile(r"^Header:\s*([^:]+):\s*(.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class ManifestRow:
    file: str
    sha256: str
    kind: str
    notes: str

    @property
    def well_formed(self) -> bool:
        return self.kind in WELL_FORMED_KINDS and "BROKEN" not in self.notes


def _manifest() -> list[ManifestRow]:
    path = FEEDS / "real" / "MANIFEST.tsv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return [ManifestRow(row["file"], row["sha256"], row["kind"], row["notes"]) for row in rows]


MANIFEST = _manifest()


def outcome(data: bytes, url: str = "", headers: dict[str, str] | None = None) -> list[Article] | FeedError:
    """What the poller would get: articles, or the per-source error."""
    try:
        parsed = parse_feed(data, url=url, headers=headers)
    except FeedError as exc:
        return exc
    return to_articles(parsed, source_id=1, source_name="corpus", fetched_at=FETCHED_AT)


def reference(data: bytes, url: str = "", headers: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Titles and links from feedparser.parse with its defaults, through the same normalisation;
    the feed's own title and link come first."""
    response_headers = {key.lower(): value for key, value in (headers or {}).items()}
    if url:
        response_headers.setdefault("content-location", url)
    result: Any = feedparser.parse(data, response_headers=response_headers)
    try:
        parsed = feed_from_result(result, url)
    except FeedError:
        return []
    return [(clean_title(parsed.title), parsed.link), *titles_and_links(parsed)]


def titles_and_links(parsed: ParsedFeed) -> list[tuple[str, str]]:
    return [(a.title, a.url) for a in to_articles(parsed, 1, "corpus", FETCHED_AT)]


def test_manifest_checksums(shared_dir: Path) -> None:
    assert len(MANIFEST) == 79
    changed = [
        row.file
        for row in MANIFEST
        if hashlib.sha256((shared_dir / "feeds" / "real" / row.file).read_bytes()).hexdigest() != row.sha256
    ]
    assert changed == [], f"fixtures changed on disk: {changed}"


@pytest.mark.parametrize("row", MANIFEST, ids=[row.file.split("__")[0] for row in MANIFEST])
def test_real_feed(shared_dir: Path, row: ManifestRow) -> None:
    data = (shared_dir / "feeds" / "real" / row.file).read_bytes()
    result = outcome(data)
    if row.kind in ("html", "json-other"):
        assert isinstance(result, FeedError)
        assert result.unsupported
        assert "not a" in result.reason
        return
    if not row.well_formed:
        assert isinstance(result, list) or result.reason
        return
    assert isinstance(result, list), f"{row.file}: {result}"
    assert result, f"{row.file}: no articles"
    assert all(article.title or article.url for article in result)
    assert all(article.published.tzinfo is not None for article in result)
    if row.kind == "jsonfeed":
        assert [(article.title, article.url) for article in result] == _json_feed_reference(data)
    else:
        parsed = parse_feed(data)
        assert [(clean_title(parsed.title), parsed.link), *titles_and_links(parsed)] == reference(data)


def _json_feed_reference(data: bytes) -> list[tuple[str, str]]:
    document = json.loads(data)
    parsed = ParsedFeed(title="", link=document.get("home_page_url", ""))
    pairs = []
    for item in document["items"]:
        link = entry_url(_Link(item.get("url") or item.get("external_url") or ""), parsed)  # type: ignore[arg-type]
        pairs.append((clean_title(item.get("title", "")), link))
    return [(title, link) for title, link in pairs if title or link]


@dataclass(frozen=True)
class _Link:
    link: str


def test_japan_times_entries_have_no_dates_and_fall_back_to_fetch_time(shared_dir: Path) -> None:
    data = (shared_dir / "feeds" / "real" / "japantimes__codehollow__FeedReader.xml").read_bytes()
    articles = outcome(data)
    assert isinstance(articles, list)
    assert len(articles) == 118
    assert {article.published for article in articles} == {FETCHED_AT}


def test_oren_ru_default_namespace_items_are_found(shared_dir: Path) -> None:
    data = (shared_dir / "feeds" / "real" / "oren-ru-win1251__danmactough__node-feedparser.xml").read_bytes()
    articles = outcome(data)
    assert isinstance(articles, list)
    assert len(articles) == 10
    assert all(article.language == "ru" for article in articles)
    assert all(re.search("[а-я]", article.title) for article in articles)


def test_nyt_mojibake_is_repaired(shared_dir: Path) -> None:
    data = (shared_dir / "feeds" / "real" / "nyt-us__synzen__MonitoRSS.xml").read_bytes()
    articles = outcome(data)
    assert isinstance(articles, list)
    assert any("Kennedy’s" in article.title for article in articles)
    assert not any("â€" in article.title + article.text for article in articles)


def _decode_header(data: bytes) -> str:
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace")
    for prefix, name in (
        (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00\x00\x00<", "utf-32-be"),
        (b"<\x00", "utf-16-le"),
        (b"\x00<", "utf-16-be"),
    ):
        if data.startswith(prefix):
            return data.decode(name, errors="replace")
    return data.decode("utf-8", errors="replace")


def _feedparser_folders() -> list[str]:
    root = FEEDS / "feedparser-tests"
    if not root.is_dir():
        return []
    files = [path for path in root.rglob("*") if path.suffix in (".xml", ".json")]
    return sorted({str(path.parent.relative_to(root)) for path in files})


@pytest.mark.parametrize("folder", _feedparser_folders())
def test_feedparser_suite_folder(shared_dir: Path, folder: str) -> None:
    root = shared_dir / "feeds" / "feedparser-tests"
    failures: list[str] = []
    files = sorted(path for path in (root / folder).iterdir() if path.suffix in (".xml", ".json"))
    for path in files:
        relative = str(path.relative_to(root))
        data = path.read_bytes()
        text = _decode_header(data)
        expect = _EXPECT.search(text)
        not_bozo = bool(expect and expect.group(2).startswith("not bozo"))
        headers: dict[str, str] = {}
        url = ""
        if "http" in relative:
            url = f"http://127.0.0.1:8097/{relative}"
            headers = {"Content-Type": "text/xml"}
            headers.update({name.strip(): value for name, value in _HEADER.findall(text)})
        result = outcome(data, url, headers)
        if isinstance(result, FeedError):
            if not result.reason:
                failures.append(f"{relative}: error without a reason")
            elif not_bozo:
                failures.append(f"{relative}: not bozo, but {result.reason}")
            continue
        if not all(article.title or article.url for article in result):
            failures.append(f"{relative}: an article with neither title nor link")
        if not_bozo and folder not in NO_REFERENCE_FOLDERS:
            mine = [(article.title, article.url) for article in result]
            expected = reference(data, url, headers)[1:]
            if mine != expected:
                failures.append(f"{relative}: {mine[:2]} != feedparser {expected[:2]}")
    assert failures == []
