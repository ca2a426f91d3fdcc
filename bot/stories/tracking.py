"""Dictionaries and a vocabulary that note what changed in them since the last save, for journal entries.

A partition's journal entry holds only what a batch changed. The engine's large maps (centroids, topic
profiles, salience, the vocabulary) are swapped for these tracked versions, so a save sends the keys
written or deleted since the last one rather than whole maps, whichever code path wrote them. A map the
engine replaces (a new object) is not tracked and is sent whole. A patch also keeps the map's key order
(new keys after the kept ones, in the order they came), so a rebuilt map iterates exactly as the live one.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from bot.stories.vectors import ArticleText, SparseVector, Vocabulary


class TrackedDict(dict[Any, Any]):
    """A dict noting the keys written and deleted since `clear_marks`, and telling `changed` its owner."""

    __slots__ = ("changed", "deleted", "owner", "touched")

    def __init__(
        self, data: Mapping[Any, Any] | Iterable[tuple[Any, Any]], owner: Hashable, changed: set[Any]
    ):
        super().__init__(data)
        self.owner, self.changed = owner, changed
        self.touched: dict[Any, None] = {}
        self.deleted: set[Any] = set()

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, value)
        self.touched[key] = None
        self.changed.add(self.owner)

    def __delitem__(self, key: Any) -> None:
        dict.__delitem__(self, key)
        self.touched.pop(key, None)
        self.deleted.add(key)
        self.changed.add(self.owner)

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            self.touched.pop(key, None)
            self.deleted.add(key)
            self.changed.add(self.owner)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[Any, Any]:
        key, value = dict.popitem(self)
        self.touched.pop(key, None)
        self.deleted.add(key)
        self.changed.add(self.owner)
        return key, value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> TrackedDict:  # type: ignore[misc]
        self.update(other)
        return self

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def clear_marks(self) -> None:
        self.touched.clear()
        self.deleted.clear()


def tracked(data: dict[Any, Any], owner: Hashable, changed: set[Any]) -> TrackedDict:
    return TrackedDict(data, owner, changed)


def patch_of(current: dict[Any, Any], saved: object) -> Any:
    """What a map became since the last save: [deleted keys, {written key: value}] when `current` is the
    tracked map saved then, else the whole map. Clears the marks."""
    if current is saved and isinstance(current, TrackedDict):
        patch = [list(current.deleted), {k: current[k] for k in current.touched}]
        current.clear_marks()
        return patch
    return dict(current)


def apply_patch(target: dict[Any, Any], patch: Any) -> dict[Any, Any]:
    """The map `patch` (from `patch_of`) makes of `target` (changed in place when it is a patch)."""
    if isinstance(patch, dict):
        return patch
    deleted, written = patch
    for key in deleted:
        target.pop(key, None)
    # A key written again after a delete goes to the end, as it did in the live map.
    for key, value in written.items():
        target[key] = value
    return target


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
