"""The committed seed feeds (seeds/feeds/), loaded once and rendered as they would have looked at any moment.

Each feed file is parsed at load; its entries are kept as serialised fragments (CDATA, entities and HTML
exactly as committed) and the document around them as a template, so a rendering is the committed feed
cut down to the entries published by then.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal
from xml.dom import minidom

FeedFormat = Literal["rss", "atom", "json"]
ATOM_NS = "http://www.w3.org/2005/Atom"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Where the entries go in a template; a comment cannot occur in a parsed document's element text.
_PLACEHOLDER = "storywatch:entries"


class SeedError(ValueError):
    """The seed folder is missing, or a feed file disagrees with index.json."""


@dataclass(frozen=True, slots=True)
class SeedEntry:
    guid: str
    published: datetime


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """One rendering of a feed; `etag` and `last_modified` change exactly when the entry set does."""

    body: bytes
    etag: str
    last_modified: datetime | None
    entries: tuple[SeedEntry, ...]


class _XmlTemplate:
    """An RSS 2.0 or Atom document with its entries taken out, ready to take any subset of them back."""

    def __init__(self, data: bytes, feed_format: FeedFormat, content_type: str) -> None:
        self._format = feed_format
        self._doc = minidom.parseString(data)
        root = self._doc.documentElement
        if root is None:
            raise SeedError("empty XML document")
        self._root = root
        if feed_format == "rss":
            channel = _child(root, "channel")
            if channel is None:
                raise SeedError("RSS document without a <channel>")
            self._container = channel
            entry_tag, date_tag, id_tag = "item", "lastBuildDate", "guid"
        else:
            self._container = root
            entry_tag, date_tag, id_tag = "entry", "updated", "id"
        self.fragments: dict[str, str] = {}
        indent = "\n"
        for node in list(self._container.childNodes):
            if isinstance(node, minidom.Element) and node.localName == entry_tag:
                guid_node = _child(node, id_tag)
                if guid_node is None:
                    raise SeedError(f"an <{entry_tag}> has no <{id_tag}>")
                guid = _text_of(guid_node)
                if guid in self.fragments:
                    raise SeedError(f"guid {guid!r} appears twice")
                indent = _remove_with_indent(self._container, node) or indent
                self.fragments[guid] = node.toxml()
        self._indent = indent
        anchor = self._doc.createComment(_PLACEHOLDER)
        closing = self._container.lastChild
        if isinstance(closing, minidom.Text) and not closing.data.strip():
            self._container.insertBefore(anchor, closing)
        else:
            self._container.appendChild(anchor)
        self._date = self._ensure_child(date_tag, anchor)
        self._self_link = self._add_self_link(content_type.split(";")[0].strip(), anchor)

    def render(self, fragments: Sequence[str], updated: datetime | None, self_url: str) -> bytes:
        when = updated or EPOCH
        stamp = format_datetime(when, usegmt=True) if self._format == "rss" else f"{when:%Y-%m-%dT%H:%M:%SZ}"
        for node in list(self._date.childNodes):
            self._date.removeChild(node)
        self._date.appendChild(self._doc.createTextNode(stamp))
        self._self_link.setAttribute("href", self_url)
        # The shared template is edited in place: rendering never awaits, so no two renderings interleave.
        head, tail = self._root.toxml().split(f"<!--{_PLACEHOLDER}-->")
        body = "".join(self._indent + fragment for fragment in fragments)
        return f'<?xml version="1.0" encoding="utf-8"?>\n{head.rstrip()}{body}{tail}\n'.encode()

    def _ensure_child(self, tag: str, anchor: minidom.Comment) -> minidom.Element:
        existing = _child(self._container, tag)
        if existing is not None:
            return existing
        created = self._doc.createElementNS(ATOM_NS if self._format == "atom" else None, tag)
        self._container.insertBefore(self._doc.createTextNode(self._indent), anchor)
        self._container.insertBefore(created, anchor)
        return created

    def _add_self_link(self, media_type: str, anchor: minidom.Comment) -> minidom.Element:
        if self._format == "rss" and not self._root.hasAttribute("xmlns:atom"):
            self._root.setAttribute("xmlns:atom", ATOM_NS)
        link = self._doc.createElementNS(ATOM_NS, "atom:link" if self._format == "rss" else "link")
        link.setAttribute("href", "")
        link.setAttribute("rel", "self")
        link.setAttribute("type", media_type)
        self._container.insertBefore(self._doc.createTextNode(self._indent), anchor)
        self._container.insertBefore(link, anchor)
        return link


class _JsonTemplate:
    """A JSON Feed 1.1 document with its items taken out."""

    def __init__(self, data: bytes) -> None:
        document = json.loads(data)
        if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
            "https://jsonfeed.org/version/"
        ):
            raise SeedError("not a JSON Feed document")
        self._document: dict[str, Any] = document
        items = document.get("items", [])
        self.fragments: dict[str, Any] = {str(item["id"]): item for item in items}

    def render(self, fragments: Sequence[Any], self_url: str) -> bytes:
        document: dict[str, Any] = {}
        for key, value in self._document.items():
            if key == "items":
                continue
            document[key] = value
            if key == "home_page_url":
                document["feed_url"] = self_url
        document.setdefault("feed_url", self_url)
        document["items"] = list(fragments)
        return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


@dataclass(slots=True)
class SeedFeed:
    """One outlet's committed feed: its entries in time order and what it looked like at any moment."""

    file: str
    outlet: str
    format: FeedFormat
    content_type: str
    home_page_url: str
    entries: tuple[SeedEntry, ...]
    _template: _XmlTemplate | _JsonTemplate = field(repr=False)
    _times: list[datetime] = field(init=False, repr=False)
    _cache: dict[tuple[int, int, str], RenderedFeed] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.entries = tuple(sorted(self.entries, key=lambda e: (e.published, e.guid)))
        self._times = [entry.published for entry in self.entries]

    @property
    def media_type(self) -> str:
        return self.content_type.split(";")[0].strip()

    def visible(self, now: datetime, limit: int) -> tuple[SeedEntry, ...]:
        """The newest `limit` entries published at or before `now`, newest first."""
        published = bisect.bisect_right(self._times, now)
        return tuple(reversed(self.entries[max(0, published - limit) : published]))

    def render(self, now: datetime, self_url: str, limit: int) -> RenderedFeed:
        published = bisect.bisect_right(self._times, now)
        key = (published, limit, self_url)
        if (cached := self._cache.get(key)) is not None:
            return cached
        shown = self.visible(now, limit)
        newest = shown[0].published if shown else None
        if isinstance(self._template, _XmlTemplate):
            body = self._template.render([self._template.fragments[e.guid] for e in shown], newest, self_url)
        else:
            body = self._template.render([self._template.fragments[e.guid] for e in shown], self_url)
        rendered = RenderedFeed(
            body=body,
            etag='"' + hashlib.sha256(body).hexdigest()[:24] + '"',
            last_modified=newest,
            entries=shown,
        )
        self._cache[key] = rendered
        return rendered


def load_seed_feeds(feeds_dir: Path) -> tuple[SeedFeed, ...]:
    """Read index.json and every feed file it names; blocking, so call it off the event loop."""
    index_path = feeds_dir / "index.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeedError(f"{index_path}: no seed index (regenerate with seeds/build_seeds.py)") from None
    feeds = []
    for record in index:
        path = feeds_dir / record["file"]
        try:
            feeds.append(_load_feed(path, record))
        except (OSError, ValueError, KeyError, IndexError) as exc:
            raise SeedError(f"{path}: {exc}") from exc
    if not feeds:
        raise SeedError(f"{index_path}: lists no feeds")
    return tuple(feeds)


def _load_feed(path: Path, record: dict[str, Any]) -> SeedFeed:
    feed_format: FeedFormat = record["format"]
    if feed_format not in ("rss", "atom", "json"):
        raise SeedError(f"unknown format {feed_format!r}")
    data = path.read_bytes()
    template: _XmlTemplate | _JsonTemplate
    if feed_format == "json":
        template = _JsonTemplate(data)
    else:
        template = _XmlTemplate(data, feed_format, record["content_type"])
    entries = tuple(
        SeedEntry(guid=item["guid"], published=_parse_time(item["published"])) for item in record["entries"]
    )
    indexed = {entry.guid for entry in entries}
    if indexed != set(template.fragments) or len(indexed) != len(entries):
        raise SeedError("the entries in the file and in index.json differ")
    return SeedFeed(
        file=record["file"],
        outlet=record["outlet"],
        format=feed_format,
        content_type=record["content_type"],
        home_page_url=record.get("home_page_url", ""),
        entries=entries,
        _template=template,
    )


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise SeedError(f"published time {text!r} has no time zone")
    return parsed.astimezone(UTC)


def _child(parent: minidom.Element, local_name: str) -> minidom.Element | None:
    for node in parent.childNodes:
        if isinstance(node, minidom.Element) and node.localName == local_name:
            return node
    return None


def _text_of(element: minidom.Element) -> str:
    return "".join(n.data for n in element.childNodes if isinstance(n, minidom.Text))


def _remove_with_indent(parent: minidom.Element, node: minidom.Element) -> str | None:
    """Remove `node` and the whitespace before it; return that whitespace, to indent re-inserted entries."""
    before = node.previousSibling
    parent.removeChild(node)
    if isinstance(before, minidom.Text) and not before.data.strip():
        parent.removeChild(before)
        return before.data
    return None
