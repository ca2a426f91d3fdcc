"""The fast path: well-formed RSS 0.9x/1.0/2.0 and Atom 1.0 read with lxml, following feedparser's rules.

It answers None for anything unusual (DOCTYPEs, broken XML, Atom 0.3, nested items, unknown roots) and
parse.py then hands the document to feedparser, the reference. The rules mirrored from feedparser:
the title is the first non-empty title-like element at the shallowest depth; the link is the last
<link> (text, or an alternate HTML href); a permalink guid/id is the link only when no link came first.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field, replace
from itertools import islice
from urllib.parse import urljoin

from feedparser.datetimes import _parse_date
from feedparser.mixin import _FeedParserMixin
from lxml import etree

from bot.ingest.feed import MAX_ENTRIES, ParsedEntry, ParsedFeed, escape_text, struct_to_datetime

_NAMESPACES: dict[str, str] = {
    **{uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()},
    "http://www.w3.org/xml/1998/namespace": "xml",
}
_ATOM10 = "http://www.w3.org/2005/Atom"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_TEXT_KINDS = frozenset({"text", "html", "xhtml"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})

_TITLE = frozenset({"title", "dc:title", "media:title"})
_DATES = {
    **dict.fromkeys(("pubdate", "published", "issued", "dcterms:issued"), "published"),
    **dict.fromkeys(("updated", "modified", "dc:date", "dcterms:modified", "lastbuilddate"), "updated"),
    **dict.fromkeys(("created", "dcterms:created"), "created"),
}
_SUMMARY = frozenset({"description", "summary", "dc:description", "abstract", "itunes:summary"})
_CONTENT = frozenset({"content:encoded", "content", "body", "xhtml:body", "fullitem"})
_LANGUAGE = frozenset({"language", "dc:language"})
# Subtrees whose fields belong to something other than the entry.
_SKIP = frozenset({"source", "textinput", "author", "contributor"})
# Element names repeat endlessly within and across documents; the mapping is pure, so memoise it.
_KEYS: dict[tuple[str, str | None], str] = {}
_LINK_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    remove_comments=True,
    remove_pis=True,
    huge_tree=False,
    load_dtd=False,
)
_PULL_CHUNK = 256 * 1024


def parse_xml_fast(data: bytes, base_url: str = "", max_entries: int = MAX_ENTRIES) -> ParsedFeed | None:
    """The feed in `data` (its first `max_entries` entries), or None when this path declines and
    feedparser should read it."""
    head = data[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        return None
    try:
        root, capped = _read_tree(data, base_url, max_entries)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if not isinstance(root.tag, str):
        return None
    namespace, local = _split(root.tag)
    parsed: ParsedFeed | None = None
    if local == "rss" and _prefix(namespace) == "":
        version = f"rss{(root.get('version') or '20').replace('.', '')[:3]}"
        parsed = _rss(root, base_url, version, max_entries)
    elif local == "RDF" and namespace == _RDF:
        parsed = _rss(root, base_url, "rss10", max_entries)
    elif local == "feed" and namespace == _ATOM10:
        parsed = _atom(root, base_url, max_entries)
    return replace(parsed, capped=True) if parsed is not None and capped else parsed


def _read_tree(data: bytes, base_url: str, max_entries: int) -> tuple[etree._Element, bool]:
    """The document's root, and whether reading stopped after `max_entries` + 1 entries.

    Only a document that may hold more entries than that is read piece by piece (slower per byte),
    so a 100,000-item document costs no more than its first entries.
    """
    if data.count(b"item") + data.count(b"entry") <= max_entries:
        return etree.fromstring(data, _PARSER, base_url=base_url or None), False
    # The same options as _PARSER.
    pull = etree.XMLPullParser(
        events=("end",),
        tag=("{*}item", "{*}entry"),
        base_url=base_url or None,
        resolve_entities=False,
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        huge_tree=False,
        load_dtd=False,
    )
    ended = 0
    for start in range(0, len(data), _PULL_CHUNK):
        pull.feed(data[start : start + _PULL_CHUNK])
        for _event, element in pull.read_events():
            ended += 1
            if ended > max_entries:
                return element.getroottree().getroot(), True
    return pull.close(), False


def _rss(root: etree._Element, base_url: str, version: str, max_entries: int) -> ParsedFeed | None:
    channel = next((child for child in root if _key(child) == "channel"), None)
    items = list(islice((el for el in root.iter("{*}item") if _key(el) == "item"), max_entries))
    # feedparser flattens illegally nested items in its own way; let it.
    if any(_key(el) == "item" for item in items for el in item.iterdescendants("{*}item")):
        return None
    feed_lang = _own_language(channel) if channel is not None else ""
    feed_lang = feed_lang or root.get(_XML_LANG, "")
    entries = [_entry(item, feed_lang, atom=False) for item in items]
    title = link = ""
    if channel is not None:
        title = _feed_field(channel, "title")
        link_el = next((el for el in channel if _key(el) == "link" and not el.get("href")), None)
        link = _resolve(link_el, _text(link_el)) if link_el is not None else ""
    return ParsedFeed(title, link, entries, feed_lang, version, base_url=base_url)


def _atom(root: etree._Element, base_url: str, max_entries: int) -> ParsedFeed:
    feed_lang = root.get(_XML_LANG, "") or _own_language(root)
    elements = islice((el for el in root if _key(el) == "entry"), max_entries)
    entries = [_entry(el, feed_lang, atom=True) for el in elements]
    link = feed_id = ""
    for el in root:
        key = _key(el)
        if key == "link":
            link = _atom_link(el) or link
        elif key == "id" and not feed_id:
            feed_id = _resolve(el, _text(el))
    # feedparser's rule for feeds too: with no alternate link, the id stands in for it.
    link = link or feed_id
    return ParsedFeed(_feed_field(root, "title"), link, entries, feed_lang, "atom10", base_url=base_url)


@dataclass
class _Fields:
    """One entry's fields while its subtree is walked, with feedparser's precedence bookkeeping."""

    title: str = ""
    title_depth: int = -1
    title_slot_depth: int | None = None
    link: str | None = None
    guid: str = ""
    guid_depth: int | None = None
    summary: str | None = None
    contents: list[str] = field(default_factory=list)
    has_content: bool = False
    dates: dict[str, time.struct_time] = field(default_factory=dict)
    language: str = ""

    def offer_title(self, value: str, depth: int, fallback: bool) -> None:
        if -1 < self.title_depth <= depth:
            return
        if self.title_slot_depth is None or depth <= self.title_slot_depth:
            self.title, self.title_slot_depth = value, depth
        # media:title is only a fallback: it never blocks a later <title>.
        if value and not fallback:
            self.title_depth = depth


def _entry(item: etree._Element, feed_lang: str, *, atom: bool) -> ParsedEntry:
    fields = _Fields(guid=item.get(f"{{{_RDF}}}about", ""), language=item.get(_XML_LANG, ""))
    stack = [(child, 1, False) for child in reversed(item)]
    while stack:
        el, depth, in_image = stack.pop()
        key = _key(el)
        if key in _SKIP:
            continue
        descend = True
        if key in _TITLE:
            fields.offer_title(_markup(el, atom), depth, fallback=key == "media:title")
            descend = False
        elif key == "link" and not in_image:
            href = _atom_link(el)
            if href is None:
                fields.link = _LINK_ENTITY.sub(r"&\1", _resolve(el, _text(el)).replace("&amp;", "&"))
            elif href:
                fields.link = href
        elif key in ("guid", "id"):
            permalink = _attributes(el).get("ispermalink", "true") == "true"
            value = _resolve(el, _text(el)) if permalink else _text(el)
            if fields.guid_depth is None or depth <= fields.guid_depth:
                fields.guid, fields.guid_depth = value, depth
            if permalink and fields.link is None:
                fields.link = value
        elif key in _DATES:
            parsed = _parse_date(_text(el))
            if parsed is not None:
                fields.dates[_DATES[key]] = parsed
        elif key in _CONTENT:
            fields.has_content = True
            fields.contents.append(_markup(el, atom, default_html=not atom or key != "content"))
            descend = False
        elif key in _SUMMARY:
            value = _markup(el, atom, default_html=not atom and key in ("description", "dc:description"))
            # feedparser: a second summary-like element, before any content, is the content.
            if fields.summary is not None and not fields.has_content:
                fields.contents.append(value)
            else:
                fields.summary = value
            descend = False
        elif key in _LANGUAGE and not fields.language:
            fields.language = _text(el)
        elif key == "image":
            in_image = True
        if descend and len(el):
            stack.extend((child, depth + 1, in_image) for child in reversed(el))
    dates = fields.dates
    when = struct_to_datetime(dates.get("published") or dates.get("updated") or dates.get("created"))
    content = max(fields.contents, key=len, default="")
    language = fields.language or feed_lang
    return ParsedEntry(
        fields.title, fields.link or "", fields.guid, fields.summary or "", content, when, language
    )


def _attributes(el: etree._Element) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in el.attrib.items()}


def _atom_link(el: etree._Element) -> str | None:
    """The href of an alternate HTML link, "" for any other href link, None when it has no href."""
    href = el.get("href") or el.get("url") or el.get("uri")
    if href is None:
        return None
    rel = el.get("rel", "alternate")
    kind = el.get("type", "application/atom+xml" if rel == "self" else "text/html").lower()
    if rel == "alternate" and kind in _HTML_TYPES:
        return _resolve(el, href)
    return ""


def _markup(el: etree._Element, atom: bool, default_html: bool = False) -> str:
    """Element content in the HTML convention: plain text escaped, HTML kept, XHTML serialised."""
    kind = (el.get("type") or ("html" if default_html else "text")).lower()
    if kind in ("xhtml", "application/xhtml+xml") or len(el):
        return _inner_xml(el).strip()
    text = (el.text or "").strip()
    base64_type = (
        kind not in _TEXT_KINDS and not kind.startswith("text/") and not kind.endswith(("+xml", "/xml"))
    )
    if el.get("mode") == "base64" or base64_type:
        # feedparser's rule: any other media type is base64-encoded content.
        try:
            return base64.b64decode(text, validate=False).decode("utf-8")
        except ValueError:
            return text
    if kind in ("html", "text/html") or (not atom and _FeedParserMixin.looks_like_html(text)):
        return text
    return escape_text(text)


def _inner_xml(el: etree._Element) -> str:
    parts = [escape_text(el.text or "")]
    children = list(el)
    if len(children) == 1 and isinstance(children[0].tag, str) and _split(children[0].tag)[1] == "div":
        return _inner_xml(children[0]) + escape_text(children[0].tail or "")
    parts.extend(etree.tostring(child, encoding="unicode", with_tail=True) for child in children)
    return "".join(parts)


def _feed_field(parent: etree._Element, key: str) -> str:
    el = next((child for child in parent if _key(child) == key), None)
    return _markup(el, parent.tag == f"{{{_ATOM10}}}feed") if el is not None else ""


def _own_language(parent: etree._Element) -> str:
    el = next((child for child in parent if _key(child) in _LANGUAGE), None)
    return _text(el) if el is not None else ""


def _resolve(el: etree._Element, uri: str) -> str:
    uri = uri.strip()
    base = el.base
    if not uri or not base:
        return uri
    try:
        return urljoin(base, uri)
    except ValueError:
        return uri


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    return "".join(el.itertext()).strip()


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _key(el: etree._Element) -> str:
    """feedparser's name for an element: its known-namespace prefix (or its own prefix) and local name."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    own = el.prefix if tag.startswith("{") else None
    key = _KEYS.get((tag, own))
    if key is None:
        namespace, local = _split(tag)
        prefix = _prefix(namespace)
        if prefix is None:
            prefix = own or ""
        key = _KEYS[(tag, own)] = f"{prefix}:{local.lower()}" if prefix else local.lower()
    return key


def _prefix(namespace: str) -> str | None:
    lowered = namespace.lower()
    if "backend.userland.com/rss" in lowered:
        lowered = "http://backend.userland.com/rss"
    return _NAMESPACES.get(lowered)
