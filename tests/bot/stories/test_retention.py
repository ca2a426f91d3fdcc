"""What the engine lets go of as history grows: idle developments, dormant stories summarised, one-offs past
the per-topic cap retired; and none of it changes an assignment across a restart."""

from __future__ import annotations

import dataclasses

import pytest

from bot.stories.clusters import DORMANT_STORY_TERMS
from bot.stories.engine import StoryEngine
from bot.stories.engine_config import LEXICAL_CONFIG
from bot.stories.state import dump_engine, load_engine
from tests.bot.stories.test_engine import art, run

CONFIG = dataclasses.replace(LEXICAL_CONFIG, max_stories=3, story_dormant_h=240.0)

ONE_OFFS = [
    "Apple unveils a bigger iPhone at its California event",
    "Storm knocks out power across Texas",
    "Chess champion wins the world title in Dubai",
    "Central bank of Chile cuts its policy rate",
    "Marathon record broken in Berlin by Kenyan runner",
    "Museum in Madrid returns looted painting",
]

STREAM = [
    art(1, 0, "Volcano erupts in Iceland near Grindavik, town evacuated", "Lava flows toward Grindavik."),
    art(2, 2, "Iceland volcano: lava reaches the edge of Grindavik", "Grindavik was evacuated."),
    *[art(10 + k, 10 + 10 * k, title, "") for k, title in enumerate(ONE_OFFS[:3])],
    art(3, 150, "Iceland volcano erupts near Grindavik again", "Lava flows toward Grindavik."),
    *[art(13 + k, 250 + 100 * k, title, "") for k, title in enumerate(ONE_OFFS[3:])],
    art(30, 1000, "Iceland volcano erupts again near Grindavik, lava flows", "Grindavik is evacuated again."),
    art(31, 1001, "Grindavik evacuated as Iceland volcano erupts again", ""),
]


def test_history_is_let_go_but_a_thread_survives() -> None:
    engine = StoryEngine(config=CONFIG)
    got = run(engine, STREAM)
    thread = got[0][1]
    assert got[1][:2] == got[0][:2], "the second report joins the eruption"
    assert got[5][1] == thread and got[5][2], "days later a new eruption is a new development of the story"
    assert got[-2][1] == thread and got[-2][2], "months later another eruption continues the thread"
    assert len({g[1] for g in got[2:5] + got[6:-2]}) == len(ONE_OFFS), "every one-off is a story of its own"
    assert len(engine.stories) <= CONFIG.max_stories + 1, "one-offs past the cap were retired"
    assert thread in engine.stories, "a thread of developments outlives the one-offs"
    assert set(engine.developments) == {got[-1][0]}, "idle developments were dropped"


def test_dormant_stories_are_summarised() -> None:
    engine = StoryEngine(config=dataclasses.replace(CONFIG, max_stories=100))
    long_text = " ".join(f"word{k} detail{k}" for k in range(120))
    run(engine, [art(1, 0, "Iceland volcano erupts near Grindavik", long_text)])
    (story,) = engine.stories.values()
    assert len(story.centroid.terms) > DORMANT_STORY_TERMS
    run(engine, [art(2, 500, "Chess champion wins the world title in Dubai")])
    assert len(engine.stories[story.id].centroid.terms) <= DORMANT_STORY_TERMS


@pytest.mark.parametrize("cut", [2, 4, 6, 8, 10, 11])
def test_restart_after_retirement_changes_nothing(cut: int) -> None:
    whole = run(StoryEngine(config=CONFIG), STREAM)
    first = StoryEngine(config=CONFIG)
    head = run(first, STREAM[:cut])
    restored = load_engine(dump_engine(first), config=CONFIG)
    assert set(restored.stories) == set(first.stories)
    assert head + run(restored, STREAM[cut:]) == whole


@pytest.mark.parametrize("cut", [3, 7, 10])
def test_restart_with_the_model_changes_nothing(cut: int) -> None:
    pytest.importorskip("wordllama", reason="the model extra is not installed")
    from bot.stories.embedding import load_embedder

    embedder = load_embedder("wordllama")
    config = dataclasses.replace(CONFIG, join_threshold=0.07, story_threshold=0.04)
    whole = run(StoryEngine(config=config, embedder=embedder), STREAM)
    first = StoryEngine(config=config, embedder=embedder)
    head = run(first, STREAM[:cut])
    restored = load_engine(dump_engine(first), config=config, embedder=embedder)
    assert head + run(restored, STREAM[cut:]) == whole
