"""Developments that turn out to be one: late joining of an early lone item, and one poll's twin developments.

An online engine decides each article as it comes. A terse first flash may fit nothing yet and start a
development of its own; once the fuller reports have formed a development, that flash plainly belongs to
it. Likewise two articles of one poll may each start a development before later ones show they report
the same event. Both are merged here, with the same evidence an article needs to join a development.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from bot.stories.clusters import DevelopmentState
from bot.stories.regroup import Regrouping
from bot.stories.similarity import link_evidence, mix
from bot.stories.vectors import cosine

# A formed development's heaviest terms are what it is looked up by.
_LOOKUP_TERMS = 20


def likeness(engine: Regrouping, a: DevelopmentState, b: DevelopmentState) -> float:
    """How well two developments' articles agree: the join score's blend, centroid to centroid."""
    lexical = cosine(a.centroid.terms, b.centroid.terms)
    if a.embedding is None or b.embedding is None:
        return lexical
    norms = math.sqrt(float(a.embedding @ a.embedding) * float(b.embedding @ b.embedding))
    dense = float(a.embedding @ b.embedding) / norms if norms > 0.0 else 0.0
    return mix(lexical, dense, engine.config)


def same_story(engine: Regrouping, keep: DevelopmentState, other: DevelopmentState) -> bool:
    """A lone development may leave the story it started, never one that has other developments."""
    if other.story_id == keep.story_id:
        return True
    story = engine.stories.get(other.story_id)
    return story is not None and story.development_count <= 1


def take_in_early(engine: Regrouping, dev: DevelopmentState) -> list[int]:
    """A development that has just formed takes in the earlier single-article developments it explains.

    Returns the ids it absorbed. Only lone items that came before the development's first article and
    are still within the window are looked at: later ones had their own chance to join it.
    """
    cfg = engine.config
    index = engine.topic_index(dev.topic_id)
    if index is None:
        return []
    heavy = dict(dev.centroid.top(_LOOKUP_TERMS))
    decay = -math.log(2.0) / (cfg.half_life_h * 3600.0)
    absorbed: list[int] = []
    for other_id in sorted(index.dots(heavy)):
        other = engine.developments.get(other_id)
        if other is None or other.id == dev.id or other.article_count != 1:
            continue
        if other.first_seen > dev.first_seen or not same_story(engine, dev, other):
            continue
        gap = max(0.0, dev.first_seen - other.last_seen)
        if likeness(engine, dev, other) * math.exp(decay * gap) >= cfg.join_threshold:
            engine.absorb(dev, other)
            absorbed.append(other.id)
    return absorbed


def story_link(engine: Regrouping, dev: DevelopmentState, story_id: int) -> float:
    """Link evidence (words and model together) between a development and a story, the development's own
    reports left out of the story."""
    story = engine.stories[story_id]
    terms = story.centroid.terms
    if dev.story_id == story_id:
        own = dev.centroid.terms
        terms = {t: w - own.get(t, 0.0) for t, w in terms.items() if w - own.get(t, 0.0) > 1e-9}
    lexical = cosine(dev.centroid.terms, terms)
    dense = None
    if dev.embedding is not None and story.embedding is not None:
        rest = story.embedding - dev.embedding if dev.story_id == story_id else story.embedding
        norms = math.sqrt(float(dev.embedding @ dev.embedding) * float(rest @ rest))
        dense = float(dev.embedding @ rest) / norms if norms > 1e-9 else 0.0
    return link_evidence(lexical, dense, engine.config)


def restory(engine: Regrouping, dev: DevelopmentState, poll_end: bool = False) -> None:
    """A young development moves to the story its reports so far link it to, when that beats its own.

    Its first article chose the story alone; the next reports may say otherwise. The comparison leaves the
    development's own reports out of its story. A story it started alone (nothing else in it to weigh
    against) is left only at the end of the poll that started it, for a story the poll's reports link it
    to: later, a grown development's centroid links more widely than an article's does.
    """
    lone = engine.stories[dev.story_id].development_count <= 1
    if lone and not poll_end:
        return
    threshold = engine.config.story_threshold
    best, best_id = threshold, None
    for story_id in sorted(engine.topic_story_ids(dev.topic_id)):
        if story_id != dev.story_id and (link := story_link(engine, dev, story_id)) >= best:
            best, best_id = link, story_id
    if best_id is not None and best > story_link(engine, dev, dev.story_id):
        engine.move_to_story(dev, best_id)


def merge_twins(engine: Regrouping, created: Iterable[int]) -> None:
    """Developments started in one poll whose articles agree as well as merged neighbours must become one
    (the earlier id stays)."""
    threshold = engine.config.merge_threshold
    alive = [d for d in (engine.developments.get(i) for i in sorted(set(created))) if d is not None]
    for i, first in enumerate(alive):
        if first.id not in engine.developments:
            continue
        for second in alive[i + 1 :]:
            if second.id not in engine.developments or second.topic_id != first.topic_id:
                continue
            if not same_story(engine, first, second):
                continue
            if likeness(engine, first, second) >= threshold:
                engine.absorb(first, second)
