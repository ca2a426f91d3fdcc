"""One partition's engine state as bytes: a snapshot, or the changes since the last save (a journal entry).

A `StateTracker` remembers what the last save covered, so a journal entry holds only what the
batch changed: new developments and stories whole; for the others and the topics, the keys their
centroids, profiles and salience gained, changed or lost (tracking.TrackedDict), their members added and
their scalars; the vocabulary terms the batch counted; the ids dropped. Nothing is compressed here:
compressing costs more time than the bytes it saves would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.models import Topic
from bot.stories.clusters import DevelopmentState, StoryState
from bot.stories.embedding import Embedder
from bot.stories.engine import StoryEngine
from bot.stories.engine_config import EngineConfig
from bot.stories.index import Centroid
from bot.stories.state_image import (
    FORMAT,
    Image,
    dense_in,
    dense_out,
    dev_in,
    dev_out,
    encode,
    saved_topics,
    story_in,
    story_out,
    topic_out,
    vocab_out,
)
from bot.stories.tracking import TrackedDict, TrackedVocabulary, patch_of

__all__ = ["FORMAT", "StateTracker", "TrackedVocabulary", "adopt_legacy", "restore"]


def _members_patch(current: list[Any], saved: list[Any]) -> list[Any]:
    """[how many of the saved members to drop from the front, the members appended since]."""
    for drop in range(len(saved)):
        kept = len(saved) - drop
        if len(current) >= kept and all(a is b for a, b in zip(current[:kept], saved[drop:], strict=True)):
            return [drop, current[kept:]]
    return [len(saved), list(current)]


class _Saved:
    """What the last save recorded of one development, story or topic: the maps it tracks, and the objects
    a change replaces rather than changes (members, the model vector)."""

    __slots__ = ("dense", "members", "n", "salience", "terms", "words")

    def __init__(
        self,
        terms: TrackedDict,
        dense: Any,
        *,
        salience: TrackedDict | None = None,
        words: TrackedDict | None = None,
        members: list[Any] | None = None,
        n: int = 0,
    ) -> None:
        self.terms, self.dense, self.salience, self.words = terms, dense, salience, words
        self.members = members if members is not None else []
        self.n = n


def _dev_patch(dev: DevelopmentState, was: _Saved) -> dict[str, Any]:
    names = sorted(dev.sources)
    patch: dict[str, Any] = {
        "id": dev.id,
        "topic": dev.topic_id,
        "story": dev.story_id,
        "first": dev.first_seen,
        "last": dev.last_seen,
        "headline": dev.headline,
        "rep": dev.representative_article_id,
        "count": dev.article_count,
        "what_is_new": dev.what_is_new,
        "story_is_new": dev.story_is_new,
        "sources": names,
        "source_last": [dev.sources[name] for name in names],
        "norm2": dev.centroid.norm2,
        "centroid": patch_of(dev.centroid.terms, was.terms),
        "salience": patch_of(dev.salience, was.salience),
        "words": patch_of(dev.words, was.words),
        "members": _members_patch(dev.members, was.members),
    }
    if dev.embedding is not was.dense:
        patch["dense"] = dense_out(dev.embedding)
    return patch


def _story_patch(story: StoryState, was: _Saved) -> dict[str, Any]:
    patch: dict[str, Any] = {
        "id": story.id,
        "topic": story.topic_id,
        "title": story.title,
        "first": story.first_seen,
        "last": story.last_seen,
        "devs": story.development_count,
        "norm2": story.centroid.norm2,
        "centroid": patch_of(story.centroid.terms, was.terms),
    }
    if story.embedding is not was.dense:
        patch["dense"] = dense_out(story.embedding)
    return patch


class StateTracker:
    """What the last save of one partition's engine covered; `delta` writes what changed since."""

    def __init__(self) -> None:
        # Owners (("d", id), ("s", id), ("t", topic id)) whose tracked maps were written since the last save.
        self.changed: set[Any] = set()
        self.devs: dict[int, _Saved] = {}
        self.stories: dict[int, _Saved] = {}
        self.merged: dict[int, int] = {}
        self.topics: dict[str, _Saved] = {}
        # Developments and stories the batches since the last save marked dirty (the rows' writer clears
        # the engine's own sets after every batch).
        self.dirty_devs: set[int] = set()
        self.dirty_stories: set[int] = set()
        # Batches decided after the state stored last, as restore found them: (article ids, digest).
        self.unsaved: list[tuple[list[int], str]] = []
        self.decided_with: tuple[Topic, ...] = ()

    def note(self, engine: StoryEngine) -> None:
        """Remember what a batch marked dirty; call after each batch, before its rows are written."""
        self.dirty_devs.update(engine.dirty_developments)
        self.dirty_stories.update(engine.dirty_stories)

    def _tracked(self, data: dict[Any, Any], owner: Any) -> TrackedDict:
        if isinstance(data, TrackedDict) and data.changed is self.changed and data.owner == owner:
            data.clear_marks()
            return data
        return TrackedDict(data, owner, self.changed)

    def _track_dev(self, dev: DevelopmentState) -> None:
        owner = ("d", dev.id)
        terms = dev.centroid.terms = self._tracked(dev.centroid.terms, owner)
        salience = dev.salience = self._tracked(dev.salience, owner)
        words = dev.words = self._tracked(dev.words, owner)
        self.devs[dev.id] = _Saved(
            terms, dev.embedding, salience=salience, words=words, members=list(dev.members)
        )

    def _track_story(self, story: StoryState) -> None:
        terms = story.centroid.terms = self._tracked(story.centroid.terms, ("s", story.id))
        self.stories[story.id] = _Saved(terms, story.embedding)

    def _track_topic(self, tid: str, state: Any) -> None:
        terms = state.profile.terms = self._tracked(state.profile.terms, ("t", tid))
        self.topics[tid] = _Saved(terms, state.dense, n=state.accepted)

    def _remember(self, engine: StoryEngine) -> None:
        self.changed.clear()
        self.dirty_devs.clear()
        self.dirty_stories.clear()
        self.devs, self.stories, self.topics = {}, {}, {}
        for dev in engine.developments.values():
            self._track_dev(dev)
        for story in engine.stories.values():
            self._track_story(story)
        for tid, state in engine.matcher.states.items():
            self._track_topic(tid, state)
        self.merged = dict(engine.merged_into)
        if isinstance(engine.vocab, TrackedVocabulary):
            engine.vocab.clear_marks()

    def snapshot(self, engine: StoryEngine) -> bytes:
        """The whole engine (written when the journal outweighs the last one; read on every takeover)."""
        vocab = engine.vocab
        doc = _header(engine, "snapshot")
        doc["vocab"] = vocab_out(vocab, vocab.df, vocab.case, True)
        doc["devs"] = [dev_out(d) for _, d in sorted(engine.developments.items())]
        doc["stories"] = [story_out(s) for _, s in sorted(engine.stories.items())]
        doc["merged"] = list(engine.merged_into.items())
        doc["topics"] = {tid: topic_out(s) for tid, s in engine.matcher.states.items()}
        self._remember(engine)
        return encode(doc)

    def delta(self, engine: StoryEngine) -> bytes:
        """What changed since the last save. Call before the rows are written: it reads the dirty sets."""
        vocab = engine.vocab
        doc = _header(engine, "delta")
        if isinstance(vocab, TrackedVocabulary) and not vocab.pruned:
            doc["vocab"] = vocab_out(vocab, vocab.touched_df, vocab.touched_case, False)
        else:
            doc["vocab"] = vocab_out(vocab, vocab.df, vocab.case, True)
        written: dict[str, set[Any]] = {"d": set(), "s": set(), "t": set()}
        for kind, key in self.changed:
            written[kind].add(key)
        self.note(engine)
        self._devs_delta(engine, doc, written["d"] | self.dirty_devs)
        self._stories_delta(engine, doc, written["s"] | self.dirty_stories)
        self.dirty_devs.clear()
        self.dirty_stories.clear()
        self._topics_delta(engine, doc)
        merged = engine.merged_into
        doc["merged"] = [(k, v) for k, v in merged.items() if self.merged.get(k) != v]
        doc["unmerged"] = [k for k in self.merged if k not in merged]
        self.merged = dict(merged)
        self.changed.clear()
        if isinstance(vocab, TrackedVocabulary):
            vocab.clear_marks()
        return encode(doc)

    def _devs_delta(self, engine: StoryEngine, doc: dict[str, Any], changed: set[int]) -> None:
        devs, saved = engine.developments, self.devs
        gone = saved.keys() - devs.keys()
        doc["drop_devs"] = sorted(gone)
        for dev_id in gone:
            del saved[dev_id]
        full, patches = [], []
        for dev_id in sorted((changed | (devs.keys() - saved.keys())) & devs.keys()):
            dev, was = devs[dev_id], saved.get(dev_id)
            if was is None:
                full.append(dev_out(dev))
            else:
                patches.append(_dev_patch(dev, was))
            self._track_dev(dev)
        doc["devs"], doc["dev_patches"] = full, patches

    def _stories_delta(self, engine: StoryEngine, doc: dict[str, Any], changed: set[int]) -> None:
        stories, saved = engine.stories, self.stories
        gone = saved.keys() - stories.keys()
        doc["drop_stories"] = sorted(gone)
        for story_id in gone:
            del saved[story_id]
        full, patches = [], []
        for story_id in sorted((changed | (stories.keys() - saved.keys())) & stories.keys()):
            story, was = stories[story_id], saved.get(story_id)
            if was is None:
                full.append(story_out(story))
            else:
                patches.append(_story_patch(story, was))
            self._track_story(story)
        doc["stories"], doc["story_patches"] = full, patches

    def _topics_delta(self, engine: StoryEngine, doc: dict[str, Any]) -> None:
        full, patches = {}, {}
        for tid, state in engine.matcher.states.items():
            was = self.topics.get(tid)
            if was is None or state.profile.terms is not was.terms:
                full[tid] = topic_out(state)
            elif (
                was.terms.touched
                or was.terms.deleted
                or state.accepted != was.n
                or state.dense is not was.dense
            ):
                patch = {"terms": patch_of(was.terms, was.terms), "norm2": state.profile.norm2}
                patch["n"] = state.accepted
                if state.dense is not was.dense:
                    patch["dense"] = dense_out(state.dense)
                patches[tid] = patch
            else:
                continue
            self._track_topic(tid, state)
        doc["topics"], doc["topic_patches"] = full, patches


def batch_entry(article_ids: Sequence[int], digest: str) -> bytes:
    """A journal entry for a batch decided without saving the state: its articles, in the order decided,
    and a digest of the decisions, so a worker that loads the state saved before it can decide it again
    and tell whether it decided the same."""
    return encode({"format": FORMAT, "kind": "batch", "articles": list(article_ids), "digest": digest})


def _header(engine: StoryEngine, kind: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kind": kind,
        "next_development_id": engine.next_development_id,
        "next_story_id": engine.next_story_id,
        # The topics the engine decided with: the batches after this save are decided again with them.
        "topic_defs": [
            [t.id, t.name, t.query, list(t.sources), t.description] for t in engine.matcher.topics
        ],
    }


def restore(
    snapshot: bytes | None,
    journal: Sequence[bytes],
    topics: Sequence[Topic],
    config: EngineConfig | None = None,
    embedder: Embedder | None = None,
    *,
    partition: int = 0,
    count: int = 1,
) -> tuple[StoryEngine, StateTracker]:
    """The engine as the snapshot and the journal entries after it leave it, and a tracker that knows it.

    A fresh engine of partition `partition` (of `count`) numbers its developments and stories
    partition + 1, partition + 1 + count, ...: unique across partitions. When batches were decided after
    the last state saved, the engine has the topics it had then, to decide them again as they were
    decided (`tracker.decided_with` says which it has).
    """
    image = Image()
    for data in ([snapshot] if snapshot is not None else []) + list(journal):
        image.apply(data)
    used = tuple(topics)
    if image.unsaved and (saved := saved_topics(image.header)) is not None:
        used = saved
    engine = StoryEngine(used, config, embedder)
    engine.vocab = TrackedVocabulary()
    engine.id_step = count
    tracker = StateTracker()
    tracker.unsaved, tracker.decided_with = image.unsaved, used
    if not image.header:
        # Nothing saved yet (batch entries alone are decided again from a fresh engine).
        engine.next_development_id = engine.next_story_id = partition + 1
        tracker._remember(engine)
        return engine, tracker
    engine.vocab = image.vocab
    engine.next_development_id = int(image.header["next_development_id"])
    engine.next_story_id = int(image.header["next_story_id"])
    engine.merged_into = dict(image.merged)
    for _, item in sorted(image.stories.items()):
        engine.adopt_story(story_in(item, embedder))
    for _, item in sorted(image.devs.items()):
        engine.adopt_development(dev_in(item, embedder))
    for tid, item in image.topics.items():
        state = engine.matcher.states.get(tid)
        if state is not None:
            state.profile = Centroid(dict(item["terms"]), item["norm2"])
            state.accepted = int(item["n"])
            state.dense = dense_in(item.get("dense"), embedder)
    tracker._remember(engine)
    return engine, tracker


def adopt_legacy(engine: StoryEngine) -> StoryEngine:
    """An engine loaded from the single-blob snapshot of earlier versions, made trackable."""
    vocab = engine.vocab
    engine.vocab = TrackedVocabulary(vocab.n_docs, vocab.df, vocab.case)
    return engine
