"""Feed autodiscovery: the feed URLs an HTML page announces with <link rel="alternate" type="...">.

Used when a user adds a site's page instead of its feed: fetch the page, call `discover_feeds`, poll
the first URL. A page that announces none gets a clear FeedError, never an empty source.
"""

from __future__ import annotations

from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from bot.ingest.feed import FeedError
from bot.ingest.normalise import first_tags
from bot.ingest.urls import is_http_url

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
        "application/x-rss+xml",
        "text/xml",
    }
)


def discover_feeds(html: bytes | str, base_url: str) -> list[str]:
    """Absolute feed URLs announced by the page, in page order, without duplicates.

    Raises FeedError("no feed found at URL (an HTML page without a feed link)") when there are none.
    """
    text = html.decode("utf-8", errors="replace") if isinstance(html, bytes) else html
    tree = LexborHTMLParser(first_tags(text))
    base = base_url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = _join(base_url, base_node.attributes.get("href") or "") or base_url
    found: dict[str, None] = {}
    for node in tree.css("link[rel][href]"):
        rels = (node.attributes.get("rel") or "").lower().split()
        kind = (node.attributes.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or kind not in FEED_TYPES:
            continue
        url = _join(base, node.attributes.get("href") or "")
        if url and is_http_url(url):
            found.setdefault(url, None)
    if not found:
        raise FeedError(f"no feed found at {base_url} (an HTML page without a feed link)", unsupported=True)
    return list(found)


def _join(base: str, href: str) -> str:
    try:
        return urljoin(base, href.strip())
    except ValueError:
        return ""
