"""The engine's state as bytes (zlib-compressed JSON, never pickle: the store is not trusted code)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

from bot.models import Topic
from bot.stories.clusters import DevelopmentState, StoryState
from bot.stories.embedding import Embedder
from bot.stories.engine import StoryEngine
from bot.stories.engine_config import EngineConfig
from bot.stories.vectors import Vocabulary

FORMAT = 1


def _dense_out(value: Any) -> list[float] | None:
    return None if value is None else [float(x) for x in value]


def _dense_in(value: list[float] | None, embedder: Embedder | None) -> Any:
    if value is None or embedder is None:
        return None
    import numpy as np

    return np.asarray(value, dtype=np.float32)


def dump_engine(engine: StoryEngine) -> bytes:
    """Everything needed to continue exactly where the engine stopped."""
    developments = []
    for dev in sorted(engine.developments.values(), key=lambda d: d.id):
        item = dev.to_state()
        item["dense"] = _dense_out(dev.embedding)
        developments.append(item)
    stories = []
    for story in sorted(engine.stories.values(), key=lambda s: s.id):
        item = story.to_state()
        item["dense"] = _dense_out(story.embedding)
        stories.append(item)
    matcher = engine.matcher.to_state()
    for tid, state in engine.matcher.states.items():
        matcher[tid]["dense"] = _dense_out(state.dense)
    doc = {
        "format": FORMAT,
        "model": engine.embedder is not None,
        "vocab": engine.vocab.to_state(),
        "developments": developments,
        "stories": stories,
        "next_development_id": engine.next_development_id,
        "next_story_id": engine.next_story_id,
        "merged_into": sorted(engine.merged_into.items()),
        "matcher": matcher,
    }
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode("utf-8"), 6)


def load_engine(
    blob: bytes,
    topics: Sequence[Topic] = (),
    config: EngineConfig | None = None,
    embedder: Embedder | None = None,
) -> StoryEngine:
    """Rebuild an engine from dump_engine's bytes; the inverted indexes are rebuilt from the centroids."""
    doc = json.loads(zlib.decompress(blob).decode("utf-8"))
    if doc.get("format") != FORMAT:
        raise ValueError(f"unknown engine state format {doc.get('format')!r}")
    engine = StoryEngine(topics, config, embedder)
    engine.vocab = Vocabulary.from_state(doc["vocab"])
    engine.next_development_id = int(doc["next_development_id"])
    engine.next_story_id = int(doc["next_story_id"])
    engine.merged_into = {int(k): int(v) for k, v in doc["merged_into"]}
    for item in doc["stories"]:
        story = StoryState.from_state(item)
        story.embedding = _dense_in(item.get("dense"), embedder)
        engine.adopt_story(story)
    for item in doc["developments"]:
        dev = DevelopmentState.from_state(item)
        dev.embedding = _dense_in(item.get("dense"), embedder)
        engine.adopt_development(dev)
    engine.matcher.load_state(doc["matcher"])
    for tid, item in doc["matcher"].items():
        if tid in engine.matcher.states:
            engine.matcher.states[tid].dense = _dense_in(item.get("dense"), embedder)
    return engine
