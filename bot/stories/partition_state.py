"""One partition's engine state as bytes: a full snapshot, or the changes of one batch (a journal entry).

MessagePack, never pickle (the store is not trusted code): it packs the engine's many term weights and
model vectors several times faster than JSON, exactly (floats as doubles, vectors as raw float32
bytes). A `StateTracker` remembers what the last save covered, so a journal entry holds only the
developments, stories, topic profiles and vocabulary terms the batch touched, and the ids it dropped.
Nothing is compressed here: compressing costs more time than the bytes it saves would (PostgreSQL
compresses large values on its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgpack

from bot.models import Topic
from bot.stories.clusters import DevelopmentState, StoryState
from bot.stories.embedding import Embedder
from bot.stories.engine import StoryEngine
from bot.stories.engine_config import EngineConfig
from bot.stories.index import Centroid
from bot.stories.vectors import ArticleText, SparseVector, Vocabulary

FORMAT = 1


class TrackedVocabulary(Vocabulary):
    """The vocabulary, noting which terms each article changed, so a save writes only those."""

    def __init__(
        self, n_docs: int = 0, df: dict[str, int] | None = None, case: dict[str, list[int]] | None = None
    ):
        super().__init__(n_docs, df if df is not None else {}, case if case is not None else {})
        self.touched_df: set[str] = set()
        self.touched_case: set[str] = set()
        self.pruned = False

    def observe(self, text: ArticleText) -> tuple[SparseVector, dict[str, float]]:
        vec, raw = super().observe(text)
        # The terms Vocabulary.observe counts: the raw weights (title, text, bigrams) and the slug's words.
        touched = self.touched_df
        touched.update(raw)
        touched.update(tok.stem for tok in text.slug if tok.content)
        self.touched_case.update(
            tok.stem for part in (text.title, text.body) for tok in part if tok.evidence >= 0
        )
        return vec, raw

    def prune(self) -> None:
        super().prune()
        self.pruned = True

    def clear_marks(self) -> None:
        self.touched_df.clear()
        self.touched_case.clear()
        self.pruned = False


def _dense_out(value: Any) -> bytes | None:
    if value is None:
        return None
    import numpy as np

    return bytes(np.asarray(value, dtype=np.float32).tobytes())


def _dense_in(value: bytes | None, embedder: Embedder | None) -> Any:
    if value is None or embedder is None:
        return None
    import numpy as np

    return np.frombuffer(value, dtype=np.float32).copy()


def _dev_out(dev: DevelopmentState) -> dict[str, Any]:
    item = dev.to_state()
    item["dense"] = _dense_out(dev.embedding)
    return item


def _dev_in(item: dict[str, Any], embedder: Embedder | None) -> DevelopmentState:
    dev = DevelopmentState.from_state(item)
    dev.embedding = _dense_in(item.get("dense"), embedder)
    return dev


def _story_out(story: StoryState) -> dict[str, Any]:
    item = story.to_state()
    item["dense"] = _dense_out(story.embedding)
    return item


def _story_in(item: dict[str, Any], embedder: Embedder | None) -> StoryState:
    story = StoryState.from_state(item)
    story.embedding = _dense_in(item.get("dense"), embedder)
    return story


def _vocab_out(
    vocab: Vocabulary, df_terms: Iterable[str], case_terms: Iterable[str], full: bool
) -> dict[str, Any]:
    df, case = vocab.df, vocab.case
    return {
        "n": vocab.n_docs,
        "full": full,
        "df": vocab.df if full else {t: df[t] for t in df_terms if t in df},
        "case": vocab.case if full else {t: case[t] for t in case_terms if t in case},
    }


def _encode(doc: dict[str, Any]) -> bytes:
    packed: bytes = msgpack.packb(doc, use_bin_type=True, unicode_errors="surrogatepass")
    return packed


def _decode(data: bytes) -> dict[str, Any]:
    try:
        doc = msgpack.unpackb(data, raw=False, strict_map_key=False, unicode_errors="surrogatepass")
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise ValueError(f"engine state: unreadable entry ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(
            f"unknown engine state format {doc.get('format') if isinstance(doc, dict) else None!r}"
        )
    return doc


class StateTracker:
    """What the last save of one partition's engine covered; `delta` writes what changed since."""

    def __init__(self) -> None:
        self.devs: set[int] = set()
        self.stories: dict[int, tuple[int, float]] = {}
        self.merged: dict[int, int] = {}
        self.topics: dict[str, tuple[int, Any]] = {}

    def _remember(self, engine: StoryEngine) -> None:
        self.devs = set(engine.developments)
        self.stories = {s.id: (len(s.centroid.terms), s.centroid.norm2) for s in engine.stories.values()}
        self.merged = dict(engine.merged_into)
        self.topics = {tid: (s.accepted, s.dense) for tid, s in engine.matcher.states.items()}
        if isinstance(engine.vocab, TrackedVocabulary):
            engine.vocab.clear_marks()

    def _topic_changed(self, tid: str, state: Any) -> bool:
        # The model vector is replaced, never changed in place, when a topic learns: identity tells.
        saved = self.topics.get(tid)
        return saved is None or saved[0] != state.accepted or saved[1] is not state.dense

    def snapshot(self, engine: StoryEngine) -> bytes:
        """The whole engine (written when the journal outweighs the last one; read on every takeover)."""
        vocab = engine.vocab
        doc = _header(engine, "snapshot")
        doc["vocab"] = _vocab_out(vocab, vocab.df, vocab.case, True)
        doc["devs"] = [_dev_out(d) for _, d in sorted(engine.developments.items())]
        doc["stories"] = [_story_out(s) for _, s in sorted(engine.stories.items())]
        doc["merged"] = list(engine.merged_into.items())
        doc["topics"] = {tid: _topic_out(s) for tid, s in engine.matcher.states.items()}
        self._remember(engine)
        return _encode(doc)

    def delta(self, engine: StoryEngine) -> bytes:
        """What changed since the last save. Call before the rows are written: it reads the dirty sets."""
        vocab = engine.vocab
        doc = _header(engine, "delta")
        if isinstance(vocab, TrackedVocabulary) and not vocab.pruned:
            doc["vocab"] = _vocab_out(vocab, vocab.touched_df, vocab.touched_case, False)
        else:
            doc["vocab"] = _vocab_out(vocab, vocab.df, vocab.case, True)
        stories = engine.stories
        changed = set(engine.dirty_stories)
        shapes = self.stories
        for sid, story in stories.items():
            # A story summarised once dormant changes without being marked dirty.
            if sid not in changed and shapes.get(sid) != (len(story.centroid.terms), story.centroid.norm2):
                changed.add(sid)
        devs = engine.developments
        doc["devs"] = [_dev_out(devs[i]) for i in sorted(engine.dirty_developments) if i in devs]
        doc["stories"] = [_story_out(stories[i]) for i in sorted(changed) if i in stories]
        doc["drop_devs"] = sorted(self.devs.difference(devs))
        doc["drop_stories"] = sorted(set(shapes).difference(stories))
        merged = engine.merged_into
        doc["merged"] = [(k, v) for k, v in merged.items() if k not in self.merged]
        doc["unmerged"] = [k for k in self.merged if k not in merged]
        doc["topics"] = {
            tid: _topic_out(s) for tid, s in engine.matcher.states.items() if self._topic_changed(tid, s)
        }
        self._remember(engine)
        return _encode(doc)


def _header(engine: StoryEngine, kind: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "kind": kind,
        "next_development_id": engine.next_development_id,
        "next_story_id": engine.next_story_id,
    }


def _topic_out(state: Any) -> dict[str, Any]:
    return {
        "terms": state.profile.terms,
        "norm2": state.profile.norm2,
        "n": state.accepted,
        "dense": _dense_out(state.dense),
    }


class _Image:
    """The state being rebuilt from a snapshot and journal entries, before an engine adopts it."""

    def __init__(self) -> None:
        self.header: dict[str, Any] = {}
        self.vocab = TrackedVocabulary()
        self.devs: dict[int, dict[str, Any]] = {}
        self.stories: dict[int, dict[str, Any]] = {}
        self.merged: dict[int, int] = {}
        self.topics: dict[str, dict[str, Any]] = {}

    def apply(self, data: bytes) -> None:
        doc = _decode(data)
        self.header = doc
        vocab = doc["vocab"]
        if vocab["full"]:
            self.vocab.df.clear()
            self.vocab.case.clear()
        self.vocab.n_docs = int(vocab["n"])
        self.vocab.df.update(vocab["df"])
        self.vocab.case.update(vocab["case"])
        if doc["kind"] == "snapshot":
            self.devs.clear()
            self.stories.clear()
            self.merged.clear()
        for dev_id in doc.get("drop_devs", ()):
            self.devs.pop(dev_id, None)
        for story_id in doc.get("drop_stories", ()):
            self.stories.pop(story_id, None)
        self.devs.update((item["id"], item) for item in doc["devs"])
        self.stories.update((item["id"], item) for item in doc["stories"])
        for key in doc.get("unmerged", ()):
            self.merged.pop(key, None)
        self.merged.update((int(k), int(v)) for k, v in doc["merged"])
        self.topics.update(doc["topics"])


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
    partition + 1, partition + 1 + count, ...: unique across partitions.
    """
    engine = StoryEngine(topics, config, embedder)
    engine.vocab = TrackedVocabulary()
    engine.id_step = count
    tracker = StateTracker()
    if snapshot is None and not journal:
        engine.next_development_id = engine.next_story_id = partition + 1
        tracker._remember(engine)
        return engine, tracker
    image = _Image()
    for data in ([snapshot] if snapshot is not None else []) + list(journal):
        image.apply(data)
    engine.vocab = image.vocab
    engine.next_development_id = int(image.header["next_development_id"])
    engine.next_story_id = int(image.header["next_story_id"])
    engine.merged_into = dict(image.merged)
    for _, item in sorted(image.stories.items()):
        engine.adopt_story(_story_in(item, embedder))
    for _, item in sorted(image.devs.items()):
        engine.adopt_development(_dev_in(item, embedder))
    for tid, item in image.topics.items():
        state = engine.matcher.states.get(tid)
        if state is not None:
            state.profile = Centroid(dict(item["terms"]), item["norm2"])
            state.accepted = int(item["n"])
            state.dense = _dense_in(item.get("dense"), embedder)
    tracker._remember(engine)
    return engine, tracker


def adopt_legacy(engine: StoryEngine) -> StoryEngine:
    """An engine loaded from the single-blob snapshot of earlier versions, made trackable."""
    vocab = engine.vocab
    engine.vocab = TrackedVocabulary(vocab.n_docs, vocab.df, vocab.case)
    return engine
