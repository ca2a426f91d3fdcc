"""Entity declarations behind a long prolog: refused as those at the top of a document are.

The sniffing step read only a document's first 8 KB for a DOCTYPE; 9 KB of whitespace, a comment or a
processing instruction before it let billion laughs through to feedparser's expat parser, which
expanded the entities up to its own amplification limit: one poll of a 2 MB feed cost about 30 s of
CPU in a worker thread holding the GIL. XXE declarations passed the same way.
"""

from __future__ import annotations

import pytest

from bot.ingest.feed import FeedError
from bot.ingest.parse import parse_feed

LAUGHS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{n} "{("&lol;" if n == 1 else f"&lol{n - 1};") * 10}">' for n in range(1, 10)
)
XXE = '<!ENTITY x SYSTEM "file:///etc/passwd">'
RSS = '<rss version="2.0"><channel><title>t</title><item><title>&lol9;&x;</title>'
RSS += "<link>https://a.example/1</link></item></channel></rss>"
PADDING = {
    "whitespace": " " * 9_000,
    "comment": "<!--" + "x" * 9_000 + "-->",
    "processing instruction": "<?pad " + "y" * 9_000 + "?>",
    "many comments": "<!-- x -->\n" * 1_000,
}


@pytest.mark.parametrize(("name", "declaration"), [("lol1", LAUGHS), ("x", XXE)], ids=["laughs", "xxe"])
@pytest.mark.parametrize("padding", list(PADDING), ids=str)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_doctype_after_a_long_prolog_is_refused(
    name: str, declaration: str, padding: str, encoding: str
) -> None:
    document = (
        f'<?xml version="1.0" encoding="{encoding}"?>{PADDING[padding]}<!DOCTYPE rss [{declaration}]>{RSS}'
    )
    with pytest.raises(FeedError) as caught:
        parse_feed(document.encode(encoding), url="https://feed.example/rss")
    assert caught.value.kind == "refused"
    assert (
        caught.value.reason
        == f"refused: XML entity '{name}' would expand other entities or load external data"
    )


def test_a_long_prolog_without_entities_still_parses() -> None:
    document = f'<?xml version="1.0"?>{PADDING["comment"]}<!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>{RSS}'
    parsed = parse_feed(document.replace("&lol9;&x;", "A&nbsp;B").encode(), url="https://feed.example/rss")
    assert [entry.title for entry in parsed.entries] == ["A\xa0B"]


# Internal subsets that hid declarations from a scan that stopped at the first "]>" or skipped "%".
TOO_LARGE = "refused: a DOCTYPE internal subset that is malformed or larger than 8 KB"
TRICKS = {
    "']>' in a comment": ("<!-- ]> " + "p" * 9_000 + " -->" + LAUGHS, TOO_LARGE),
    "']>' in a value": ('<!ENTITY a "]>">' + LAUGHS, "lol1"),
    "a parameter entity declaring markup": (
        "<!ENTITY % p \"<!ENTITY x SYSTEM 'file:///etc/passwd'>\"> %p;",
        "p",
    ),
    "a parameter entity expanding another": ('<!ENTITY % a "x"><!ENTITY % b "%a;%a;">', "b"),
}


@pytest.mark.parametrize("trick", list(TRICKS), ids=str)
def test_a_subset_that_hides_its_declarations_is_refused(trick: str) -> None:
    subset, name = TRICKS[trick]
    document = f'<?xml version="1.0"?><!DOCTYPE rss [{subset}]>{RSS}'
    with pytest.raises(FeedError) as caught:
        parse_feed(document.encode(), url="https://feed.example/rss")
    assert caught.value.kind == "refused"
    entity = f"refused: XML entity '{name}' would expand other entities or load external data"
    assert caught.value.reason == (TOO_LARGE if name == TOO_LARGE else entity)
