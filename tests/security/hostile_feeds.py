"""Feed documents as an attacker or a broken publisher serves them, for the poll-isolation and fuzz suites.

Each builder returns bytes; the acceptance test serves them from the local feed server.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

WHEN = datetime(2025, 9, 29, 7, 0, tzinfo=UTC)
JSON_VERSION = "https://jsonfeed.org/version/1.1"

# Characters no stored title or name may keep: C0/C1 controls and bidi overrides, isolates and marks.
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
FORBIDDEN = frozenset(
    [chr(c) for c in range(0x20) if chr(c) not in "\n\t"] + [chr(c) for c in range(0x7F, 0xA0)] + list(BIDI)
)


def forbidden_in(text: str) -> list[str]:
    """The forbidden characters (and surrogates) in `text`, as escapes, for readable failures."""
    return [f"U+{ord(c):04X}" for c in text if c in FORBIDDEN or 0xD800 <= ord(c) <= 0xDFFF]


def rss(title: str, items: list[tuple[str, str]], *, description: str = "in detail.") -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(WHEN)}</pubDate><description>{t} {description}</description></item>"
        for t, link in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://example.org/</link>{body}</channel></rss>"
    ).encode()


def json_feed(title: object, items: object, **extra: object) -> bytes:
    return json.dumps({"version": JSON_VERSION, "title": title, "items": items, **extra}).encode()


def huge_integer_json_feed(digits: int = 5000) -> bytes:
    """A valid JSON Feed whose item id is a 5,000-digit number (Python's int() refuses past 4,300)."""
    item = '{"id": ID, "url": "https://huge.example/1", "title": "A very long id", "content_text": "Long."}'
    document = json_feed("Numbers", ["ITEM"]).replace(b'"ITEM"', item.encode())
    return document.replace(b"ID", b"9" * digits)


def lone_surrogate_json_feed() -> bytes:
    """JSON escapes may spell lone surrogates; they decode to str values no database can store."""
    item = {"id": "s1", "url": "https://surrogate.example/1", "title": "Talks \udc00resume\ud800"}
    # json.dumps writes lone surrogates as \\uXXXX escapes, as a hostile publisher would.
    return json_feed("Half \ud800 pairs", [{**item, "content_text": "Text \ud83d with a broken pair"}])


def control_and_bidi_rss() -> bytes:
    """Terminal escapes, C1 controls and bidi overrides, as raw characters and as character references."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Evil\u202e\u2066 News\u200f</title><link>https://bidi.example/</link>"
        "<item><title>Summit \u202egnirts desrever\u202c ends\u0085\u009b</title>"
        "<link>https://bidi.example/1</link><guid>https://bidi.example/1</guid>"
        "<description><![CDATA[<p>Clear &#x1b;]52;c;aGk=&#x07; screen &#x1b;[2J and &#x9b;31m "
        "&#x202e;flip&#x2069; done</p>]]></description></item>"
        "</channel></rss>"
    ).encode()


def control_and_bidi_json_feed() -> bytes:
    return json_feed(
        "Json\u202d\u0000 Wire\u001b[0m",
        [
            {
                "id": "c1",
                "url": "https://bidi-json.example/1",
                "title": "Vote\u0007 count\u2067ed\u0090 today\u001b]0;pwned\u0007",
                "content_text": "Line one\u0085\nLine\ttwo\u009d\u202a end",
            }
        ],
    )


def entity_titles_rss() -> bytes:
    """Source and item titles escaped once more than XML needs, as many CMSs do."""
    return (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        b"<title>U.S. News &amp;amp; World Report</title><link>https://usnews.example/</link>"
        b"<item><title>Q&amp;amp;A: Trade &amp;amp;amp; tariffs &amp;#8217;25</title>"
        b"<link>https://usnews.example/1</link><guid>https://usnews.example/1</guid>"
        b"<description>Ask &amp;amp; answer</description></item>"
        b"</channel></rss>"
    )


def entity_title_json_feed() -> bytes:
    return json_feed(
        "Smith &amp; Sons &#8211; Gazette",
        [{"id": "e1", "url": "https://smith.example/1", "title": "Rock &amp;amp; roll", "content_text": "x"}],
    )


def many_entries_rss(count: int) -> bytes:
    """`count` items, newest first as feeds list them (item 0 is the newest)."""
    head = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Firehose</title>'
        "<link>https://many.example/</link>"
    )
    item = (
        "<item><title>Firehose item {0} about something</title><link>https://many.example/{0}</link>"
        "<description>Item {0} in a few words.</description></item>"
    )
    return (head + "".join(item.format(i) for i in range(count)) + "</channel></rss>").encode()


def malformed_xml() -> bytes:
    """Broken past recovery: no entry survives even feedparser's lenient reading."""
    return b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</ti <<>> &&& </rss>'


def garbage_bytes() -> bytes:
    """Not UTF-8, not XML, not JSON: bytes from nowhere."""
    return bytes((i * 197 + 89) % 256 for i in range(4096)).replace(b"<", b"").replace(b"{", b"")


def billion_laughs() -> bytes:
    lines = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?><!DOCTYPE rss [' + "".join(lines) + "]>"
        '<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title></item></channel></rss>'
    ).encode()


def external_entity() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>&xxe;</title><item><title>&xxe;</title>'
        b"<link>https://xxe.example/1</link></item></channel></rss>"
    )


def wrong_types_json_feed() -> bytes:
    """Valid JSON, a JSON Feed version, but fields of every wrong type; one item is usable."""
    return json_feed(
        ["not", "a", "string"],
        [
            {"id": {"a": 1}, "url": 5, "title": None, "date_published": 12345, "content_html": ["x"]},
            7,
            "string item",
            None,
            {"id": True, "url": ["https://x"], "title": {"t": 1}, "summary": 1.5, "language": 3},
            {"id": "ok-1", "url": "https://types.example/1", "title": "The one good item",
             "date_published": "not a date", "tags": "not a list", "authors": 5},
        ],
        home_page_url=42,
        feed_url={"x": 1},
        language=["en"],
    )  # fmt: skip


def items_not_a_list_json_feed() -> bytes:
    return json_feed("No list", {"0": {"id": "x"}})
