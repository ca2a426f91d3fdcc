"""Late joining of an early lone item, one poll's twin developments, and new-story caution."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.models import Article
from bot.stories.engine import StoryEngine
from bot.stories.engine_config import LEXICAL_CONFIG
from bot.stories.state import dump_engine, load_engine
from tests.bot.stories.test_engine import art, run

# A terse flash shares nothing with the first full report, but the second report names what it named.
FLASH = art(1, 0, "URGENT: blast heard near harbour", source="Wire")
LATE = [
    art(2, 1, "Beirut port warehouse fire kills dozens", "Officials in Lebanon count the dead.", "Reuters"),
    art(
        3,
        2,
        "Beirut port blast: dozens dead after harbour warehouse fire",
        "The blast at the harbour flattened the port. Lebanon mourns.",
        "AP",
    ),
    art(4, 30, "Lebanon mourns Beirut port dead as harbour blast inquiry opens", source="BBC"),
]


def test_a_development_that_forms_takes_in_the_early_flash() -> None:
    engine = StoryEngine()
    flash = engine.process_batch([FLASH])[0].assignments[0]
    report = engine.process_batch(LATE[:1])[0].assignments[0]
    assert report.new_development and report.development_id != flash.development_id
    second = engine.process_batch(LATE[1:2])[0]
    assert second.assignments[0].development_id == report.development_id
    dev = engine.developments[report.development_id]
    assert flash.development_id not in engine.developments, "the flash's own development is gone"
    assert engine.merged_into[flash.development_id] == dev.id
    assert set(dev.sources) == {"Wire", "Reuters", "AP"} and dev.article_count == 3
    # The grown development reports every outlet, the flash's included.
    assert second.events[0].source_count == 3


def test_no_late_joining_of_an_unrelated_lone_item() -> None:
    engine = StoryEngine()
    other = engine.process_batch([art(9, 0, "Volcano erupts in Iceland, flights grounded")])[0]
    engine.process_batch(LATE[:2])
    assert other.assignments[0].development_id in engine.developments


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_restart_across_late_joining_changes_nothing(cut: int) -> None:
    stream = [FLASH, *LATE]
    # The same polls without a restart: poll-end merges make the polls, not only the order, matter.
    steady = StoryEngine()
    whole = run(steady, stream[:cut]) + run(steady, stream[cut:])
    first = StoryEngine()
    head = run(first, stream[:cut])
    restored = load_engine(dump_engine(first))
    assert head + run(restored, stream[cut:]) == whole


def test_twin_developments_of_one_poll_become_one_alert() -> None:
    # Articles that do not join each other on arrival (a strict join) but agree as developments do.
    config = replace(LEXICAL_CONFIG, join_threshold=0.9, merge_threshold=0.2)
    poll = [
        art(1, 0, "Earthquake of magnitude 7 strikes off Japan's coast", source="Kyodo"),
        art(2, 0.5, "Strong earthquake strikes off the coast of Japan, tsunami warning", source="Reuters"),
    ]
    engine = StoryEngine(config=config)
    decisions = engine.process_batch(poll)
    # Each article keeps the decision it got on arrival...
    assert [d.assignments[0].new_development for d in decisions] == [True, True]
    first, second = (d.assignments[0].development_id for d in decisions)
    assert first != second
    # ...but the poll raises one alert, for the development that survives with both outlets.
    events = [e for d in decisions for e in d.events if e.first]
    assert {e.development_id for e in events} == {first}
    assert engine.merged_into[second] == first
    assert set(engine.developments[first].sources) == {"Kyodo", "Reuters"}


def test_different_events_of_one_poll_stay_apart() -> None:
    config = replace(LEXICAL_CONFIG, join_threshold=0.9, merge_threshold=0.2)
    engine = StoryEngine(config=config)
    decisions = engine.process_batch(
        [
            art(1, 0, "Earthquake of magnitude 7 strikes off Japan's coast", source="Kyodo"),
            art(2, 0.5, "Apple unveils new iPhone with bigger screen", source="Reuters"),
        ]
    )
    events = [e for d in decisions for e in d.events if e.first]
    assert len({e.development_id for e in events}) == 2


def test_new_story_caution_continues_the_nearest_story() -> None:
    # A development the words and the model link to a story below the story threshold: cautious (the
    # default) continues that story, while no caution starts a new one.
    stream = [
        art(1, 0, "North Korea fires ballistic missile toward Japan", "Seoul's joint chiefs said."),
        art(2, 200, "Kim Jong Un oversees North Korea artillery drill", "State media showed the drill."),
    ]
    eager = run(StoryEngine(config=replace(LEXICAL_CONFIG, story_caution=1.0)), stream)
    cautious = run(StoryEngine(config=replace(LEXICAL_CONFIG, story_caution=0.1)), stream)
    assert eager[1][3] and eager[1][1] != eager[0][1]
    assert not cautious[1][3] and cautious[1][1] == cautious[0][1]


def test_a_story_started_in_a_poll_joins_the_story_its_poll_mates_link_it_to() -> None:
    config = replace(LEXICAL_CONFIG, story_caution=1.0)
    engine = StoryEngine(config=config)
    earlier = [
        art(1, 0, "North Korea fires ballistic missile toward Japan", "Seoul's military said.", "Yonhap"),
        art(2, 1, "North Korean ballistic missile lands off Japan", "Tokyo protested.", "NHK"),
    ]
    story = engine.process_batch(earlier)[0].assignments[0].story_id
    poll = [
        art(3, 300, "Tokyo condemns launch, protests through Beijing embassy", source="Kyodo"),
        art(4, 301, "Japan condemns North Korea ballistic missile launch", "Tokyo protested.", "AP"),
        art(
            5,
            302,
            "North Korea missile launch: Japan protests",
            "The ballistic missile fell off Japan.",
            "AFP",
        ),
    ]
    decisions = engine.process_batch(poll)
    first = decisions[0].assignments[0]
    assert first.new_story and first.story_id != story, "on arrival, the first report found no story close"
    (event,) = decisions[0].events
    dev = engine.developments[event.development_id]
    assert {a.assignments[0].development_id for a in decisions} == {dev.id}
    # By the poll's end its poll-mates have linked it to the earlier story: the alert continues that one.
    assert dev.story_id == story and not dev.story_is_new
    assert (event.story_id, event.story_is_new) == (story, False)
    assert first.story_id not in engine.stories


def test_a_young_development_moves_to_the_story_its_next_reports_link_it_to() -> None:
    engine = StoryEngine()
    missiles = [
        art(1, 0, "North Korea fires ballistic missile toward Japan", "Seoul's military said.", "Yonhap"),
        art(2, 1, "North Korean ballistic missile lands off Japan", "Tokyo protested.", "NHK"),
    ]
    talks = [
        art(3, 50, "US and North Korea hold nuclear talks in Stockholm", "Envoys met in Sweden.", "AP"),
        art(4, 51, "Nuclear talks between US and North Korea open in Sweden", "The envoys met.", "AFP"),
    ]
    missile_story = engine.process_batch(missiles)[0].assignments[0].story_id
    talks_story = engine.process_batch(talks)[0].assignments[0].story_id
    assert missile_story != talks_story
    # The first report of the breakdown names the missile test; the next ones are about the talks.
    breakdown = [
        art(
            5,
            120,
            "North Korea says nuclear talks broke down, days after ballistic missile launch toward Japan",
            source="Reuters",
        ),
        art(
            6,
            121,
            "North Korea says nuclear talks with US in Sweden broke down",
            "US envoys left Stockholm.",
            "DW",
        ),
        art(
            7, 122, "Nuclear talks in Stockholm broke down, North Korea says", "US envoys left Sweden.", "BBC"
        ),
    ]
    decisions = engine.process_batch(breakdown)
    first, *rest = (d.assignments[0] for d in decisions)
    assert first.story_id == missile_story, "on arrival the first report went with the missile story"
    dev = engine.developments[first.development_id]
    assert all(a.development_id == dev.id for a in rest)
    assert dev.story_id == talks_story and rest[-1].story_id == talks_story
    assert engine.stories[missile_story].development_count == 1


def _story_stream() -> list[Article]:
    return [
        art(1, 0, "North Korea fires ballistic missile toward Japan", "Seoul's military said.", "Yonhap"),
        art(2, 1, "North Korean ballistic missile lands off Japan", "Tokyo protested.", "NHK"),
        art(3, 50, "US and North Korea hold nuclear talks in Stockholm", "Envoys met in Sweden.", "AP"),
        art(4, 51, "Nuclear talks between US and North Korea open in Sweden", "The envoys met.", "AFP"),
        art(
            5,
            120,
            "North Korea says nuclear talks broke down, days after ballistic missile launch toward Japan",
            source="Reuters",
        ),
        art(
            6,
            121,
            "North Korea says nuclear talks with US in Sweden broke down",
            "US envoys left Stockholm.",
            "DW",
        ),
        art(
            7, 122, "Nuclear talks in Stockholm broke down, North Korea says", "US envoys left Sweden.", "BBC"
        ),
        art(
            8,
            200,
            "North Korea fires another ballistic missile toward Japan",
            "Tokyo protested again.",
            "NHK",
        ),
    ]


@pytest.mark.parametrize("cut", [5, 6, 7])
def test_restart_across_a_story_move_changes_nothing(cut: int) -> None:
    stream = _story_stream()
    steady = StoryEngine()
    whole = run(steady, stream[:cut]) + run(steady, stream[cut:])
    first = StoryEngine()
    head = run(first, stream[:cut])
    restored = load_engine(dump_engine(first))
    assert head + run(restored, stream[cut:]) == whole
    # The move happened: the breakdown's later reports sit in the talks story.
    assert whole[5][1] == whole[2][1] != whole[0][1]
