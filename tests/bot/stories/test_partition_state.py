"""A partition's engine saved as a snapshot plus one journal entry per batch, and rebuilt from them."""

from __future__ import annotations

import json
import zlib
from dataclasses import replace
from itertools import islice

import msgpack
import pytest

from bot.stories.engine import StoryEngine
from bot.stories.engine_config import LEXICAL_CONFIG
from bot.stories.partition_state import TrackedVocabulary, restore
from bot.stories.state import dump_engine
from tests.bot.stories.synthetic import synthetic_stream

# Short windows and few stories per topic, so expiry, dormancy, retirement and merges all happen.
CONFIG = replace(LEXICAL_CONFIG, window_h=12.0, max_span_h=24.0, story_dormant_h=48.0, max_stories=4)


def _decided(engine: StoryEngine, batch: list) -> list[tuple]:
    return [
        (a.topic_id, a.development_id, a.story_id, a.new_development, a.new_story)
        for d in engine.process_batch(batch)
        for a in d.assignments
    ]


def _state(engine: StoryEngine) -> object:
    """Everything the engine keeps, as data (dict order aside: no decision depends on it)."""
    return json.loads(zlib.decompress(dump_engine(engine)))


def _merge_two(engine: StoryEngine) -> None:
    """Merge two developments of one topic, as a bridging article would."""
    by_topic: dict[str, list] = {}
    for dev in engine.developments.values():
        by_topic.setdefault(dev.topic_id, []).append(dev)
    keep, gone = next(devs for devs in by_topic.values() if len(devs) > 1)[:2]
    engine.absorb(keep, gone)


def test_snapshot_and_journal_rebuild_the_engine_exactly() -> None:
    topics, stream = synthetic_stream()
    engine, tracker = restore(None, [], topics, CONFIG)
    saved = [tracker.snapshot(engine)]
    # 5,400 articles in batches of 90: the vocabulary prunes at 5,000 (a full vocabulary in that entry).
    for i in range(60):
        _decided(engine, list(islice(stream, 90)))
        if i % 10 == 5:
            _merge_two(engine)
        saved.append(tracker.delta(engine))
        engine.take_dirty()
    assert engine.vocab.n_docs == 5400 and engine.merged_into and engine.developments
    rebuilt, _ = restore(saved[0], saved[1:], topics, CONFIG)
    assert _state(rebuilt) == _state(engine)
    rest = list(islice(stream, 600))
    assert [_decided(rebuilt, rest[i : i + 100]) for i in range(0, 600, 100)] == [
        _decided(engine, rest[i : i + 100]) for i in range(0, 600, 100)
    ]


def test_a_snapshot_folds_in_the_journal() -> None:
    topics, stream = synthetic_stream(seed=5)
    engine, tracker = restore(None, [], topics, CONFIG)
    journal = []
    for _ in range(10):
        _decided(engine, list(islice(stream, 50)))
        journal.append(tracker.delta(engine))
        engine.take_dirty()
    snapshot = tracker.snapshot(engine)
    _decided(engine, list(islice(stream, 50)))
    after = tracker.delta(engine)
    # Loading from the journal alone, or from the snapshot and the one entry after it, is the same engine.
    from_journal, _ = restore(None, [*journal, after], topics, CONFIG)
    from_snapshot, _ = restore(snapshot, [after], topics, CONFIG)
    assert _state(from_journal) == _state(from_snapshot) == _state(engine)
    assert len(after) < len(snapshot) * 4


def test_partitions_number_their_developments_apart() -> None:
    topics, stream = synthetic_stream(seed=9)
    batch = list(islice(stream, 200))
    ids = []
    for partition in range(3):
        engine, _ = restore(None, [], topics[partition::3], CONFIG, partition=partition, count=3)
        ids.append({dev_id for _, dev_id, *_ in _decided(engine, batch)})
        assert all(dev_id % 3 == (partition + 1) % 3 for dev_id in ids[-1])
        assert isinstance(engine.vocab, TrackedVocabulary)
    assert all(ids) and not (ids[0] & ids[1]) and not (ids[1] & ids[2])


def test_a_damaged_entry_is_refused() -> None:
    topics, stream = synthetic_stream()
    engine, tracker = restore(None, [], topics, CONFIG)
    _decided(engine, list(islice(stream, 50)))
    entry = msgpack.unpackb(tracker.delta(engine))
    with pytest.raises(ValueError, match="format 7"):
        restore(None, [msgpack.packb(entry | {"format": 7})], topics, CONFIG)
    with pytest.raises(ValueError, match="unreadable"):
        restore(None, [b"\xc1 not an entry"], topics, CONFIG)


def _in_order(engine: StoryEngine) -> object:
    """The maps a decision reads, with their key order (a sum or a tie-break may follow it)."""
    devs = [
        (d.id, list(d.centroid.terms.items()), list(d.salience.items()), list(d.words.items()), d.members)
        for _, d in sorted(engine.developments.items())
    ]
    stories = [(s.id, list(s.centroid.terms.items())) for _, s in sorted(engine.stories.items())]
    topics = [(tid, list(s.profile.terms.items())) for tid, s in engine.matcher.states.items()]
    return devs, stories, topics, list(engine.merged_into.items())


def test_patched_entries_rebuild_every_map_in_its_order() -> None:
    topics, stream = synthetic_stream(seed=3)
    engine, tracker = restore(None, [], topics, CONFIG)
    saved = [tracker.snapshot(engine)]
    for i in range(40):
        _decided(engine, list(islice(stream, 60)))
        if i % 8 == 3:
            _merge_two(engine)
        if i % 3 == 0:
            # Entries that cover several batches (a state saved every few batches) patch as well.
            saved.append(tracker.delta(engine))
        engine.take_dirty()
    saved.append(tracker.delta(engine))
    entries = [msgpack.unpackb(entry, strict_map_key=False) for entry in saved[1:]]
    # Known developments and topics came as patches, not whole: what the entries exist to save.
    assert sum(len(e["dev_patches"]) for e in entries) and sum(len(e["topic_patches"]) for e in entries)
    rebuilt, _ = restore(saved[0], saved[1:], topics, CONFIG)
    assert _in_order(rebuilt) == _in_order(engine)
    assert _state(rebuilt) == _state(engine)
