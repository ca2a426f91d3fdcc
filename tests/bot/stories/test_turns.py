"""A story's new turn, told by an outlet that already reported the development it would join."""

from __future__ import annotations

import pytest

from bot.models import Article
from bot.stories.clusters import DevelopmentState
from bot.stories.engine import StoryEngine
from bot.stories.state import dump_engine, load_engine
from bot.stories.turns import is_new_turn, new_names
from bot.stories.vectors import ArticleText
from tests.bot.stories.test_engine import art, run

# An envoy's talks over two days, then, a day after the wire's first report, the summit is back on.
TALKS = [
    art(
        1,
        0,
        "Kim Yong Chol lands in New York for talks with Pompeo",
        "The envoy arrived in New York on Wednesday for talks with Pompeo about the summit.",
        "Wire",
    ),
    art(
        2,
        6,
        "Pompeo and Kim Yong Chol hold talks in New York on the summit",
        "Pompeo and the envoy met in New York to rescue the summit.",
        "Daily",
    ),
    art(
        3,
        20,
        "Pompeo says New York talks with Kim Yong Chol made progress toward the summit",
        "Pompeo said on Thursday the talks in New York made real progress on the summit.",
        "Herald",
    ),
]
BACK_ON = art(
    4,
    30,
    "Trump says the summit with Kim is back on after New York talks with Kim Yong Chol and Pompeo",
    "Trump said on Friday in the Oval Office that the Singapore summit is back on.",
    "Wire",
)
AFTER = art(
    5,
    31,
    "Trump confirms the Singapore summit is back on after Oval Office meeting",
    "The Singapore summit with Kim is back on, Trump said at the Oval Office.",
    "Gazette",
)


def test_the_same_outlet_a_day_later_naming_new_things_starts_a_development() -> None:
    engine = StoryEngine()
    talks = run(engine, TALKS)
    assert len({dev for dev, *_ in talks}) == 1
    back_on, after = run(engine, [BACK_ON, AFTER])
    assert back_on[2] and back_on[0] != talks[0][0], "the wire's new turn is a development of its own"
    # The turn continues the story of the development it closes; the turn's next report joins the turn.
    assert back_on[1] == talks[0][1] and not back_on[3] and talks[0][0] not in engine.developments
    assert after[0] == back_on[0] and not after[2]


@pytest.mark.parametrize(
    ("article", "why"),
    [
        (art(4, 30, BACK_ON.title, "", "Wire"), "a headline alone is no evidence of a new event"),
        (art(4, 8, BACK_ON.title, BACK_ON.text, "Wire"), "an outlet's update within hours is the same event"),
        (art(4, 30, BACK_ON.title, BACK_ON.text, "Post"), "another outlet's day-later report is a follow-up"),
        (
            art(4, 30, "Pompeo wraps up New York talks with Kim Yong Chol", "Pompeo said on Friday.", "Wire"),
            "a text naming nothing new but its day is no new turn",
        ),
    ],
)
def test_no_new_turn_without_every_piece_of_evidence(article: Article, why: str) -> None:
    engine = StoryEngine()
    talks = run(engine, TALKS)
    (joined,) = run(engine, [article])
    assert joined[0] == talks[0][0] and not joined[2], why


def test_new_names_leave_out_days_months_and_what_the_development_has() -> None:
    text = ArticleText.of(
        "Summit back on",
        "Then he met the envoy Kim Yong Chol from the north in the Oval Office on a sunny Friday afternoon"
        " in June.",
    )
    assert new_names(text, {"kim": 1.0, "yong": 1.0, "chol": 1.0}) == {"oval", "offic"}


def test_a_development_without_that_outlet_is_never_turned_from() -> None:
    dev = DevelopmentState(1, "all", 1, 0.0, 0.0, "", None, sources={"Wire": 0.0})
    text = ArticleText.of("Summit back on", "The president met the envoy in the Oval Office.")
    assert is_new_turn(dev, text, "Wire", 13 * 3600.0, 12.0)
    assert not is_new_turn(dev, text, "Post", 13 * 3600.0, 12.0)
    assert not is_new_turn(dev, text, "Wire", 11 * 3600.0, 12.0)


@pytest.mark.parametrize("cut", [2, 3, 4])
def test_restart_keeps_each_outlets_report_times(cut: int) -> None:
    stream = [*TALKS, BACK_ON, AFTER]
    steady = StoryEngine()
    whole = run(steady, stream[:cut]) + run(steady, stream[cut:])
    first = StoryEngine()
    head = run(first, stream[:cut])
    restored = load_engine(dump_engine(first))
    assert {d.id: d.sources for d in restored.developments.values()} == {
        d.id: d.sources for d in first.developments.values()
    }
    assert head + run(restored, stream[cut:]) == whole


def test_a_snapshot_without_report_times_dates_them_at_the_last_report() -> None:
    engine = StoryEngine()
    run(engine, TALKS)
    (dev,) = engine.developments.values()
    state = dev.to_state()
    del state["source_last"]
    old = DevelopmentState.from_state(state)
    assert old.sources == dict.fromkeys(dev.sources, dev.last_seen)
