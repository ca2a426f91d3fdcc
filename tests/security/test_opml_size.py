"""An OPML list of 100,000 outlines imports its first 10,000 feeds and says where it stopped.

It was read whole and each outline became a source: about five minutes of single-row writes on SQLite,
then a poll schedule of 100,000 sources no instance is sized for. Real subscription lists hold a few
thousand feeds at most.
"""

from __future__ import annotations

from bot.ingest.opml import MAX_FEEDS, parse_opml


def opml(count: int) -> bytes:
    outlines = "\n".join(f'<outline text="n{i}" xmlUrl="https://a{i}.example/rss"/>' for i in range(count))
    return f'<opml version="2.0"><body>\n{outlines}\n</body></opml>'.encode()


def test_a_list_past_the_cap_keeps_its_first_feeds_and_reports_the_rest() -> None:
    parsed = parse_opml(opml(100_000))
    assert MAX_FEEDS == 10_000
    assert len(parsed.feeds) == MAX_FEEDS
    assert parsed.feeds[-1].url == f"https://a{MAX_FEEDS - 1}.example/rss"
    assert parsed.problems == [
        f"line {MAX_FEEDS + 2}: stopped at 10,000 feeds; this outline and those after it were not imported"
    ]


def test_a_list_at_the_cap_imports_whole() -> None:
    parsed = parse_opml(opml(MAX_FEEDS))
    assert (len(parsed.feeds), parsed.problems) == (MAX_FEEDS, [])
