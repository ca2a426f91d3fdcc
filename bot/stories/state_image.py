"""The bytes of a partition's engine state: the engine's objects as MessagePack maps, and the image a
snapshot and journal entries rebuild before an engine adopts it (partition_state.restore).

MessagePack, never pickle (the store is not trusted code): it packs the engine's many term weights and
model vectors several times faster than JSON, exactly (floats as doubles, vectors as raw float32 bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgpack

from bot.models import Topic
from bot.stories.clusters import DevelopmentState, StoryState
from bot.stories.embedding import Embedder
from bot.stories.tracking import TrackedVocabulary, apply_patch
from bot.stories.vectors import Vocabulary

# 2: developments, stories and topics may come as patches. Entries of format 1 (whole objects) still load.
FORMAT = 2
READABLE = (1, 2)


def dense_out(value: Any) -> bytes | None:
    if value is None:
        return None
    import numpy as np

    return bytes(np.asarray(value, dtype=np.float32).tobytes())


def dense_in(value: bytes | None, embedder: Embedder | None) -> Any:
    if value is None or embedder is None:
        return None
    import numpy as np

    return np.frombuffer(value, dtype=np.float32).copy()


def dev_out(dev: DevelopmentState) -> dict[str, Any]:
    item = dev.to_state()
    item["dense"] = dense_out(dev.embedding)
    return item


def dev_in(item: dict[str, Any], embedder: Embedder | None) -> DevelopmentState:
    dev = DevelopmentState.from_state(item)
    dev.embedding = dense_in(item.get("dense"), embedder)
    return dev


def story_out(story: StoryState) -> dict[str, Any]:
    item = story.to_state()
    item["dense"] = dense_out(story.embedding)
    return item


def story_in(item: dict[str, Any], embedder: Embedder | None) -> StoryState:
    story = StoryState.from_state(item)
    story.embedding = dense_in(item.get("dense"), embedder)
    return story


def topic_out(state: Any) -> dict[str, Any]:
    return {
        "terms": dict(state.profile.terms),
        "norm2": state.profile.norm2,
        "n": state.accepted,
        "dense": dense_out(state.dense),
    }


def vocab_out(vocab: Vocabulary, df_terms: Any, case_terms: Any, full: bool) -> dict[str, Any]:
    if full:
        return {"n": vocab.n_docs, "full": True, "df": vocab.df, "case": vocab.case}
    # Looked up in C (map): a batch counts thousands of terms. A term pruned since is sent as None.
    df_keys, case_keys = list(df_terms), list(case_terms)
    return {
        "n": vocab.n_docs,
        "full": False,
        "df": dict(zip(df_keys, map(vocab.df.get, df_keys), strict=True)),
        "case": dict(zip(case_keys, map(vocab.case.get, case_keys), strict=True)),
    }


def encode(doc: dict[str, Any]) -> bytes:
    packed: bytes = msgpack.packb(doc, use_bin_type=True, unicode_errors="surrogatepass")
    return packed


def decode(data: bytes) -> dict[str, Any]:
    try:
        doc = msgpack.unpackb(data, raw=False, strict_map_key=False, unicode_errors="surrogatepass")
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise ValueError(f"engine state: unreadable entry ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") not in READABLE:
        raise ValueError(
            f"unknown engine state format {doc.get('format') if isinstance(doc, dict) else None!r}"
        )
    return doc


def saved_topics(header: dict[str, Any]) -> tuple[Topic, ...] | None:
    defs = header.get("topic_defs")
    if defs is None:
        return None
    return tuple(
        Topic(str(i), str(n), str(q), tuple(str(x) for x in src), str(d)) for i, n, q, src, d in defs
    )


def patch_item(item: dict[str, Any], patch: dict[str, Any], maps: Sequence[str]) -> None:
    """Apply a development's, story's or topic's patch to its stored item (the to_state layout)."""
    for key, value in patch.items():
        if key in maps:
            item[key] = apply_patch(item[key], value)
        elif key == "members":
            drop, added = value
            item["members"] = item["members"][drop:] + added
        else:
            item[key] = value


class Image:
    """The state being rebuilt from a snapshot and journal entries, before an engine adopts it."""

    def __init__(self) -> None:
        self.header: dict[str, Any] = {}
        self.vocab = TrackedVocabulary()
        self.devs: dict[int, dict[str, Any]] = {}
        self.stories: dict[int, dict[str, Any]] = {}
        self.merged: dict[int, int] = {}
        self.topics: dict[str, dict[str, Any]] = {}
        self.unsaved: list[tuple[list[int], str]] = []

    def apply(self, data: bytes) -> None:
        doc = decode(data)
        if doc["kind"] == "batch":
            self.unsaved.append(([int(i) for i in doc["articles"]], str(doc["digest"])))
            return
        self.unsaved.clear()
        self.header = doc
        vocab = doc["vocab"]
        if vocab["full"]:
            self.vocab.df.clear()
            self.vocab.case.clear()
        self.vocab.n_docs = int(vocab["n"])
        for name, target in (("df", self.vocab.df), ("case", self.vocab.case)):
            values: dict[str, Any] = vocab[name]
            target.update(values)
            for term in [t for t, v in values.items() if v is None]:
                del target[term]
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
        for patch in doc.get("dev_patches", ()):
            patch_item(self.devs[patch["id"]], patch, ("centroid", "salience", "words"))
        for patch in doc.get("story_patches", ()):
            patch_item(self.stories[patch["id"]], patch, ("centroid",))
        for key in doc.get("unmerged", ()):
            self.merged.pop(key, None)
        self.merged.update((int(k), int(v)) for k, v in doc["merged"])
        self.topics.update(doc["topics"])
        for tid, patch in doc.get("topic_patches", {}).items():
            # A topic with nothing stored yet is as a fresh engine has it.
            item = self.topics.setdefault(tid, {"terms": {}, "norm2": 0.0, "n": 0, "dense": None})
            patch_item(item, patch, ("terms",))
