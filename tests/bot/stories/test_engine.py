"""Join/new decisions on small hand-made streams, events, determinism and restart from a snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.models import Article, Topic
from bot.stories.engine import StoryEngine
from bot.stories.state import dump_engine, load_engine

T0 = datetime(2024, 10, 18, 3, 0, tzinfo=UTC)


def art(n: int, hours: float, title: str, text: str = "", source: str = "") -> Article:
    return Article(
        url=f"https://news.invalid/{n}",
        title=title,
        text=text,
        published=T0 + timedelta(hours=hours),
        source_id=n,
        item_key=str(n),
        source_name=source or f"outlet{n}",
        id=n,
    )


STREAM = [
    art(
        1,
        0,
        "North Korea sends troops to Russia, Seoul spy agency says",
        "The NIS said 1,500 special forces left.",
    ),
    art(
        2,
        1,
        "Seoul says North Korea has sent 1,500 troops to Russia",
        "South Korea's spy agency NIS said on Friday.",
    ),
    art(
        3, 1.5, "Apple unveils new iPhone with bigger screen", "The company showed the device in California."
    ),
    art(
        4,
        2,
        "North Korea sends troops to Russia, Seoul spy agency says",
        "The NIS said 1,500 special forces left.",
    ),
    art(5, 3, "Apple shows off larger iPhone at California event", "Apple's new phone has a bigger screen."),
    art(
        6,
        120,
        "US confirms North Korean troops are in Russia",
        "Austin said there is evidence of North Korean troops in Russia.",
    ),
    art(
        7,
        121,
        "Pentagon: North Korean troops now in Russia",
        "The US defence secretary Austin confirmed the troops.",
    ),
    art(8, 800, "Volcano erupts in Iceland, flights grounded", "Lava flows near Grindavik."),
]


def run(engine: StoryEngine, articles: list[Article]) -> list[tuple[int, int, bool, bool]]:
    out = []
    for decision in engine.process_batch(articles):
        (a,) = decision.assignments
        out.append((a.development_id, a.story_id, a.new_development, a.new_story))
    return out


def test_joins_and_new_developments() -> None:
    got = run(StoryEngine(), STREAM)
    dev = [g[0] for g in got]
    story = [g[1] for g in got]
    assert dev[0] == dev[1] == dev[3], (
        "same event from three outlets (one a verbatim copy) is one development"
    )
    assert dev[2] == dev[4] and dev[2] != dev[0], "another event is another development"
    assert dev[5] == dev[6] and dev[5] not in (dev[0], dev[2]), "five days later the US confirmation is new"
    assert story[5] == story[0], "...but it continues the troops story"
    assert story[2] != story[0]
    assert dev[7] not in dev[:7] and story[7] not in story[:7]
    assert [g[2] for g in got] == [True, False, True, False, False, True, False, True]
    assert [g[3] for g in got] == [True, False, True, False, False, False, False, True]


def test_events_carry_what_alerts_need() -> None:
    engine = StoryEngine()
    decisions = engine.process_batch([*STREAM[:2], art(9, 1.2, STREAM[1].title, STREAM[1].text, "outlet2")])
    first = decisions[0].events[0]
    assert first.first
    assert first.source_count == 1 and first.story_is_new and first.headline == STREAM[0].title
    assert first.what_is_new
    grew = decisions[1].events[0]
    assert not grew.first and grew.source_count == 2
    assert decisions[2].events == (), "the same outlet again adds no source"
    engine.process_batch(STREAM[2:5])
    later = engine.process_batch(STREAM[5:6])[0].events[0]
    assert later.first and not later.story_is_new
    assert "Austin" in later.what_is_new or "confirm" in later.what_is_new.lower()


def test_topics_decide_membership() -> None:
    topics = [
        Topic(
            "korea",
            "Korea",
            '"north korea" OR pyongyang OR dmz',
            description="North Korea's diplomacy and weapons",
        ),
        Topic("banks", "Central banks", "fed OR ecb", description="Central bank interest rate decisions"),
    ]
    engine = StoryEngine(topics)
    got = [
        d.topics
        for d in engine.process_batch(
            [
                art(1, 0, "North Korea fires a ballistic missile toward Japan"),
                art(2, 1, "Fed raises interest rates by a quarter point"),
                art(3, 2, "Fans fed up with ticket prices at the concert"),
                art(4, 3, "Climbers reach the summit of Everest", "Later they visited a DMZ museum."),
                art(5, 4, "Pyongyang's missile flew over Japan, Tokyo says"),
            ]
        )
    ]
    assert got == [("korea",), ("banks",), (), (), ("korea",)]


def test_same_stream_same_output() -> None:
    assert run(StoryEngine(), STREAM) == run(StoryEngine(), STREAM)


@pytest.mark.parametrize("cut", [1, 3, 5, 7])
def test_restart_from_snapshot_changes_nothing(cut: int) -> None:
    whole = run(StoryEngine(), STREAM)
    first = StoryEngine()
    head = run(first, STREAM[:cut])
    restored = load_engine(dump_engine(first))
    assert head + run(restored, STREAM[cut:]) == whole


def test_a_bare_headline_joins_the_development_it_fits_whatever_story_its_words_lean_to() -> None:
    # 'sales slump revealed in monthly figures' are a dormant McDonald's story's words; the headline is about
    # the Chromecast development in progress. A headline alone is too thin to be vetoed by that lean.
    stream = [
        art(1, 0, "McDonald's sales fall as snow keeps diners at home", "McDonald's said sales fell."),
        art(2, 1, "Snow hurts McDonald's sales in February", "McDonald's sales fell in February."),
        art(3, 120, "McDonald's sales slump deepens, revealed in monthly figures", "Sales fell again."),
        art(4, 200, "Google brings Chromecast to more countries within weeks", "Google will sell it abroad."),
        art(5, 200.2, "Chromecast heads to UK and Australia, Google says", "The stick goes abroad."),
        art(6, 200.4, "Google Chromecast coming to many more countries", "Google said the stick expands."),
        art(7, 200.6, "Another hint Google Chromecast is coming to Australia", "Australia may get it."),
        art(8, 201, "Chromecast sales slump revealed in monthly figures"),
    ]
    engine = StoryEngine()
    decisions = [engine.process(a) for a in stream]
    chromecast, headline = decisions[3].assignments[0], decisions[-1].assignments[0]
    assert not decisions[-1].new_development
    assert (headline.development_id, headline.story_id) == (chromecast.development_id, chromecast.story_id)
