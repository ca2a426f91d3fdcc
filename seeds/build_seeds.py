"""Build seeds/feeds/: the seed articles and the dev scenario stream as per-outlet RSS, Atom and JSON feeds.

Usage (from the checkout's root; standard library only):

    python seeds/build_seeds.py ../shared/seeds ../shared/eval/scenarios/stream.jsonl [--out seeds/feeds]

The output is deterministic, so the committed files can be checked against a fresh build.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

FORMATS = ("rss", "atom", "json")
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
NAMESPACES = (
    'xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)
# One entry in this many gets a markup quirk (HTML summary, CDATA, character references).
QUIRK_MODULUS = 16


@dataclass(frozen=True)
class SeedSpec:
    """How to lift one seed article out of its page text: which lines are the article, and its metadata."""

    outlet: str
    url: str
    published: str
    title: str
    first: str
    last: str
    author: str = ""
    skip: tuple[str, ...] = ()
    headings: tuple[str, ...] = ()


# Published times: Dong-A's "Posted September. 29, 2025 07:34" is KST; the other two give only a date.
SEED_SPECS = {
    "004_be1047205980e6e8.txt": SeedSpec(
        outlet="DW",
        url="https://www.dw.example/en/us-north-korea-officials-meet-to-salvage-talks/a-44032517?maca=en-rss-en-all-1573-rdf",
        published="2018-05-31T03:47:00Z",
        title="US, North Korea officials meet to salvage talks",
        first="US Secretary of State Mike Pompeo met with Kim Jong Un's right-hand man",
        last="What next?",
        author="ap/rt (AFP, Reuters)",
        skip=("Read more",),
        headings=("What we know about the meeting",),
    ),
    "000_17470713c3846f1c.txt": SeedSpec(
        outlet="The Dong-A Ilbo",
        url="https://www.donga.example/en/article/all/20250929/2544351/1?utm_source=rss&utm_medium=feed",
        published="2025-09-28T22:34:00Z",
        title="South Korea seeks North-U.S. talks during UN Assembly",
        first="Foreign Minister Cho Hyun, visiting the United States",
        last="Meanwhile, North Korea has sent a high-level delegation",
        author="Woo-Sun Lim",
    ),
    "001_4f30339b672c6a11.txt": SeedSpec(
        outlet="Asia News Digest",
        url="https://www.asianewsdigest.example/amp/korea/s-korean-adviser-urges-un-chief-to-visit-pyongyang",
        published="2025-12-19T06:12:00Z",
        title="Breaking the Deadlock? S. Korean Adviser Urges UN Chief to Visit Pyongyang",
        first="South Korean National Security Adviser Wi Sung-lac has reportedly urged",
        last="This content is AI-generated",
        headings=("A Presidential Letter in New York", "Strategic Silence from the U.N."),
    ),
}


@dataclass(frozen=True)
class Entry:
    guid: str
    outlet: str
    url: str
    title: str
    summary: str
    published: datetime
    content_html: str = ""
    author: str = ""

    @property
    def quirk(self) -> str:
        """'html', 'cdata', 'entity' or '': a stable pick, so a few entries carry real-world markup."""
        roll = int(hashlib.sha256(self.guid.encode()).hexdigest(), 16) % QUIRK_MODULUS
        if roll == 0 and self.summary:
            return "html"
        if roll == 1 and self.summary:
            return "cdata"
        if roll == 2 and any(ch in self.title for ch in "'\"&"):
            return "entity"
        return ""


@dataclass
class Feed:
    outlet: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def format(self) -> str:
        return FORMATS[int(hashlib.sha256(self.outlet.encode()).hexdigest(), 16) % len(FORMATS)]

    @property
    def file(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.outlet.lower().replace("&", "and").replace("'", ""))
        return slug.strip("-") + (".json" if self.format == "json" else ".xml")

    @property
    def home_page_url(self) -> str:
        hosts = Counter(urlsplit(entry.url).netloc for entry in self.entries)
        return f"https://{hosts.most_common(1)[0][0]}/"

    @property
    def description(self) -> str:
        return f"Latest stories from {self.outlet}"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_guid(url: str, published: datetime, key: str) -> str:
    """A tag URI (RFC 4151): stable, unique, and it names the stream item it came from."""
    return f"tag:{urlsplit(url).netloc},{published:%Y-%m-%d}:{key}"


def read_stream(path: Path) -> list[Entry]:
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        published = parse_time(item["published"])
        entries.append(
            Entry(
                guid=make_guid(item["url"], published, item["id"]),
                outlet=item["source"],
                url=item["url"],
                title=item["title"],
                summary=item["summary"],
                published=published,
            )
        )
    return entries


def read_seed(path: Path, spec: SeedSpec) -> Entry:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if spec.title not in lines:
        raise SystemExit(f"{path}: title {spec.title!r} not found; update SEED_SPECS")
    start = _index_of(lines, spec.first, path)
    end = _index_of(lines, spec.last, path, after=start)
    kept = [line for line in lines[start : end + 1] if not line.startswith(spec.skip or ("\0",))]
    published = parse_time(spec.published)
    return Entry(
        guid=make_guid(spec.url, published, f"seed-{path.stem}"),
        outlet=spec.outlet,
        url=spec.url,
        title=spec.title,
        summary=kept[0],
        published=published,
        content_html=_to_html(kept, spec.headings),
        author=spec.author,
    )


def _index_of(lines: Sequence[str], prefix: str, path: Path, after: int = 0) -> int:
    for index in range(after, len(lines)):
        if lines[index].startswith(prefix):
            return index
    raise SystemExit(f"{path}: no line starts with {prefix!r}; update SEED_SPECS")


def _to_html(paragraphs: Iterable[str], headings: tuple[str, ...]) -> str:
    blocks: list[str] = []
    bullets: list[str] = []
    for text in paragraphs:
        if text.startswith("•"):
            bullets.append(f"<li>{html.escape(text.lstrip('• '), quote=False)}</li>")
            continue
        if bullets:
            blocks.append("<ul>" + "".join(bullets) + "</ul>")
            bullets = []
        tag = "h3" if text in headings else "p"
        blocks.append(f"<{tag}>{html.escape(text, quote=False)}</{tag}>")
    if bullets:
        blocks.append("<ul>" + "".join(bullets) + "</ul>")
    return "\n".join(blocks)


def group_by_outlet(entries: Iterable[Entry]) -> list[Feed]:
    feeds: dict[str, Feed] = {}
    for entry in entries:
        feeds.setdefault(entry.outlet, Feed(entry.outlet)).entries.append(entry)
    for feed in feeds.values():
        # Newest first, as real feeds list them; the guid breaks ties so the order is stable.
        feed.entries.sort(key=lambda e: (e.published, e.guid), reverse=True)
    return sorted(feeds.values(), key=lambda feed: feed.file)


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _title(entry: Entry) -> str:
    if entry.quirk == "entity":
        return _text(entry.title).replace("'", "&#39;").replace('"', "&#34;")
    return _text(entry.title)


def _summary_markup(entry: Entry) -> tuple[str, bool]:
    """The summary as it goes into XML, and whether it is HTML (rather than plain text)."""
    if entry.quirk == "html":
        return _text(f"<p>{html.escape(entry.summary)}</p>"), True
    if entry.quirk == "cdata":
        inner = f"<p>{html.escape(entry.summary)}</p>"
        if "]]>" in inner:
            raise SystemExit(f"{entry.guid}: summary cannot go into CDATA")
        return f"<![CDATA[{inner}]]>", True
    return _text(entry.summary), False


def render_rss(feed: Feed) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<rss version="2.0" {NAMESPACES}>',
        "  <channel>",
        f"    <title>{_text(feed.outlet)}</title>",
        f"    <link>{_text(feed.home_page_url)}</link>",
        f"    <description>{_text(feed.description)}</description>",
        "    <language>en</language>",
        f"    <lastBuildDate>{format_datetime(feed.entries[0].published, usegmt=True)}</lastBuildDate>",
    ]
    for entry in feed.entries:
        out += [
            "    <item>",
            f"      <title>{_title(entry)}</title>",
            f"      <link>{_text(entry.url)}</link>",
        ]
        if entry.summary:
            out.append(f"      <description>{_summary_markup(entry)[0]}</description>")
        if entry.content_html:
            out.append(f"      <content:encoded><![CDATA[{entry.content_html}]]></content:encoded>")
        if entry.author:
            out.append(f"      <dc:creator>{_text(entry.author)}</dc:creator>")
        out += [
            f'      <guid isPermaLink="false">{_text(entry.guid)}</guid>',
            f"      <pubDate>{format_datetime(entry.published, usegmt=True)}</pubDate>",
            "    </item>",
        ]
    out += ["  </channel>", "</rss>", ""]
    return "\n".join(out)


def render_atom(feed: Feed) -> str:
    home = feed.home_page_url
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
        f"  <title>{_text(feed.outlet)}</title>",
        f"  <subtitle>{_text(feed.description)}</subtitle>",
        f"  <id>{_text(home)}</id>",
        f'  <link rel="alternate" type="text/html" href="{_attr(home)}"/>',
        f"  <updated>{iso(feed.entries[0].published)}</updated>",
        f"  <author><name>{_text(feed.outlet)}</name></author>",
    ]
    for entry in feed.entries:
        out += [
            "  <entry>",
            f"    <title>{_title(entry)}</title>",
            f'    <link rel="alternate" type="text/html" href="{_attr(entry.url)}"/>',
            f"    <id>{_text(entry.guid)}</id>",
            f"    <published>{iso(entry.published)}</published>",
            f"    <updated>{iso(entry.published)}</updated>",
        ]
        if entry.summary:
            markup, is_html = _summary_markup(entry)
            out.append(f'    <summary type="{"html" if is_html else "text"}">{markup}</summary>')
        if entry.content_html:
            out.append(f'    <content type="html">{_text(entry.content_html)}</content>')
        if entry.author:
            out.append(f"    <author><name>{_text(entry.author)}</name></author>")
        out.append("  </entry>")
    out += ["</feed>", ""]
    return "\n".join(out)


def render_json_feed(feed: Feed) -> str:
    items = []
    for entry in feed.entries:
        item: dict[str, object] = {"id": entry.guid, "url": entry.url, "title": entry.title}
        if entry.content_html:
            item["summary"] = entry.summary
            item["content_html"] = entry.content_html
        elif entry.quirk in ("html", "cdata"):
            item["content_html"] = f"<p>{html.escape(entry.summary)}</p>"
        else:
            item["content_text"] = entry.summary
        item["date_published"] = iso(entry.published)
        if entry.author:
            item["authors"] = [{"name": entry.author}]
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.outlet,
        "home_page_url": feed.home_page_url,
        "description": feed.description,
        "language": "en",
        "authors": [{"name": feed.outlet}],
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


RENDERERS = {"rss": render_rss, "atom": render_atom, "json": render_json_feed}


def build(seeds_dir: Path, stream_path: Path) -> dict[str, str]:
    """Every output file's name and text, index.json included."""
    entries = read_stream(stream_path)
    for name, spec in SEED_SPECS.items():
        entries.append(read_seed(seeds_dir / name, spec))
    guids = Counter(entry.guid for entry in entries)
    if duplicates := [guid for guid, count in guids.items() if count > 1]:
        raise SystemExit(f"duplicate guids: {duplicates}")
    feeds = group_by_outlet(entries)
    if len({feed.file for feed in feeds}) != len(feeds):
        raise SystemExit("two outlets map to the same file name")
    files = {feed.file: RENDERERS[feed.format](feed) for feed in feeds}
    index = [
        {
            "file": feed.file,
            "outlet": feed.outlet,
            "format": feed.format,
            "content_type": CONTENT_TYPES[feed.format],
            "home_page_url": feed.home_page_url,
            "entries": [{"guid": e.guid, "published": iso(e.published)} for e in feed.entries],
        }
        for feed in feeds
    ]
    files["index.json"] = json.dumps(index, ensure_ascii=False, indent=2) + "\n"
    return files


def write(files: dict[str, str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if (out / "index.json").exists():
        for stale in [*out.glob("*.xml"), *out.glob("*.json")]:
            if stale.name not in files:
                stale.unlink()
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8", newline="\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("seeds", type=Path, help="folder with the seed article texts (../shared/seeds)")
    parser.add_argument(
        "stream", type=Path, help="the dev scenario stream (../shared/eval/scenarios/stream.jsonl)"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "feeds")
    args = parser.parse_args(argv)
    files = build(args.seeds, args.stream)
    write(files, args.out)
    index = json.loads(files["index.json"])
    formats = Counter(feed["format"] for feed in index)
    entries = sum(len(feed["entries"]) for feed in index)
    print(f"wrote {len(index)} feeds ({dict(formats)}) with {entries} entries to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
