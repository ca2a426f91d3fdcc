"""A new turn of a story, told by an outlet that already reported the development it would join.

An outlet files one report on an event and updates it in place. When the same outlet files again on a
development half a day or more after its last report there, and the new report's text names what the
development has not, the story has moved on: the report starts a development of its own. A headline
alone is no such evidence (rewritten headlines name new things too): the report's own text must be.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.stories.clusters import DevelopmentState
from bot.stories.lifecycle import Lifecycle
from bot.stories.vectors import ArticleText

# Dates in a report's text are no new happening: a day-later report names its day.
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september")
_CALENDAR = frozenset((*_WEEKDAYS, *_MONTHS, "october", "november", "december"))


def new_names(text: ArticleText, terms: Mapping[str, float]) -> set[str]:
    """Names (capitalised mid-sentence, acronyms) in the report's text that the terms lack."""
    return {
        t.stem
        for t in text.body
        if t.kind == 1 and t.alpha and t.folded not in _CALENDAR and t.stem not in terms
    }


def is_new_turn(dev: DevelopmentState, text: ArticleText, source: str, now: float, gap_h: float) -> bool:
    """Whether the report is its outlet's new turn of the story rather than another report of `dev`."""
    last = dev.sources.get(source)
    if last is None or now - last < gap_h * 3600.0 or not text.body:
        return False
    return bool(new_names(text, dev.centroid.terms))


def joinable(
    engine: Lifecycle, ranked: list[tuple[float, int]], text: ArticleText, source: str, now: float
) -> tuple[list[tuple[float, int]], int | None]:
    """The candidates an article may join, best first (those at the join threshold it is not a new turn
    of), and the story of the best development it turned from, if any: the story its turn continues.

    A development the article turns away from is closed, as one idle past the window is.
    """
    cfg = engine.config
    fit: list[tuple[float, int]] = []
    turned: int | None = None
    for score, dev_id in ranked:
        if score < cfg.join_threshold:
            break
        dev = engine.developments[dev_id]
        if is_new_turn(dev, text, source, now, cfg.turn_gap_h):
            engine.close(dev)
            turned = dev.story_id if turned is None else turned
        else:
            fit.append((score, dev_id))
    return fit, turned
