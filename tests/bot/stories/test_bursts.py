"""A development reported in a burst ends when it goes quiet: the next burst on its subject is new."""

from __future__ import annotations

import pytest

from bot.stories.clusters import DevelopmentState
from bot.stories.engine import StoryEngine
from tests.bot.stories.test_engine import art, run

HEADLINES = [
    "Titanfall review roundup: critics praise the shooter",
    "Titanfall reviews are in: critics praise Respawn's shooter",
    "Critics praise Titanfall in review roundup",
    "Titanfall review roundup: what critics say about the shooter",
    "Respawn's Titanfall wins praise from critics, review roundup",
    "Titanfall review: critics praise the mech shooter",
]
NEXT = "Titanfall review roundup: critics on launch day of the shooter"


def burst(spacing_h: float) -> list:
    return [art(n + 1, n * spacing_h, title, source=f"outlet{n}") for n, title in enumerate(HEADLINES)]


def test_a_burst_that_went_quiet_for_a_day_is_over() -> None:
    engine = StoryEngine()
    first = run(engine, burst(0.1))
    assert len({dev for dev, *_ in first}) == 1
    (later,) = run(engine, [art(20, 0.5 + 30, NEXT, source="late")])
    assert later[2] and later[0] != first[0][0], "a day of silence after minutes-apart reports ends it"


@pytest.mark.parametrize(
    ("spacing_h", "silence_h", "why"),
    [
        (0.1, 12, "half a day of silence is a night, not the end"),
        (4.0, 30, "reports hours apart: a day's silence is within its rhythm"),
    ],
)
def test_a_development_within_its_rhythm_goes_on(spacing_h: float, silence_h: float, why: str) -> None:
    engine = StoryEngine()
    first = run(engine, burst(spacing_h))
    last = 5 * spacing_h
    (later,) = run(engine, [art(20, last + silence_h, NEXT, source="late")])
    assert later[0] == first[0][0] and not later[2], why


def test_too_few_reports_have_no_rhythm() -> None:
    dev = DevelopmentState(1, "all", 1, 0.0, 360.0, "", None, article_count=4)
    assert not dev.gone_quiet(360.0 + 30 * 3600.0, 24 * 3600.0, 20.0)
    dev.article_count = 5
    assert dev.gone_quiet(360.0 + 30 * 3600.0, 24 * 3600.0, 20.0)
    assert not dev.gone_quiet(360.0 + 23 * 3600.0, 24 * 3600.0, 20.0)
