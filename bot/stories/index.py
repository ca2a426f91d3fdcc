"""Centroids, and the indexes that score an article against every cluster sharing a term with it at once.

An article is compared term at a time: each of its terms' postings lists the clusters holding that term,
so one pass over those postings yields every dot product, and clusters sharing nothing cost nothing. The
model's vectors sit as unit rows of one matrix, so a whole candidate list is one gather and one product.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SparseVector = dict[str, float]


def lightest(weights: dict[str, float], keep: int) -> list[str]:
    """The terms outside the heaviest `keep`, ties broken by term: sorting the bare weights runs in C, so
    finding the cut-off is much cheaper than ranking the items."""
    if len(weights) <= keep:
        return []
    cutoff = sorted(weights.values(), reverse=True)[keep - 1]
    dropped = [t for t, w in weights.items() if w < cutoff]
    tied = [t for t, w in weights.items() if w == cutoff]
    room = keep - (len(weights) - len(dropped) - len(tied))
    if room < len(tied):
        dropped.extend(sorted(tied)[room:])
    return dropped


@dataclass(slots=True)
class Centroid:
    """A sum of unit vectors, with its squared norm kept up to date as vectors are added."""

    terms: SparseVector = field(default_factory=dict)
    norm2: float = 0.0

    def add(self, vec: SparseVector) -> None:
        terms = self.terms
        get = terms.get
        cross = 0.0
        self_sq = 0.0
        for t, w in vec.items():
            old = get(t)
            if old is None:
                terms[t] = w
            else:
                cross += old * w
                terms[t] = old + w
            self_sq += w * w
        self.norm2 += 2.0 * cross + self_sq

    def cosine(self, vec: SparseVector) -> float:
        if self.norm2 <= 0.0:
            return 0.0
        get = self.terms.get
        return sum([w * get(t, 0.0) for t, w in vec.items()]) / math.sqrt(self.norm2)

    def prune(self, keep: int) -> list[str]:
        """Keep the heaviest `keep` terms; returns the dropped ones."""
        terms = self.terms
        dropped = lightest(terms, keep)
        if dropped:
            for t in dropped:
                del terms[t]
            self.norm2 = sum([w * w for w in terms.values()])
        return dropped

    def top(self, n: int) -> list[tuple[str, float]]:
        return sorted(self.terms.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


class TermIndex:
    """term -> the clusters holding it, with the term's weight in each centroid.

    The weights are a copy of the centroids' (added in the same order, so equal to the bit): scoring an
    article then reads only these small postings, not every candidate's whole centroid.
    """

    def __init__(self) -> None:
        self.postings: dict[str, dict[int, float]] = {}

    def add(self, cid: int, vec: SparseVector) -> None:
        postings = self.postings
        for term, w in vec.items():
            ids = postings.get(term)
            if ids is None:
                postings[term] = {cid: w}
            else:
                old = ids.get(cid)
                ids[cid] = w if old is None else old + w

    def remove(self, cid: int, terms: Iterable[str]) -> None:
        postings = self.postings
        for term in terms:
            ids = postings.get(term)
            if ids is not None:
                ids.pop(cid, None)
                if not ids:
                    del postings[term]

    def dots(self, vec: SparseVector) -> dict[int, float]:
        """Dot products of the vector with every cluster sharing a term with it (centroids unnormalised)."""
        acc: dict[int, float] = {}
        get = acc.get
        postings = self.postings
        for term, w in vec.items():
            ids = postings.get(term)
            if ids is not None:
                for cid, weight in ids.items():
                    acc[cid] = get(cid, 0.0) + w * weight
        return acc


class DenseRows:
    """The clusters' model vectors as unit rows of one matrix (numpy, imported only when a model runs)."""

    def __init__(self) -> None:
        self._slot: dict[int, int] = {}
        self._free: list[int] = []
        self._used = 0
        self._matrix: Any = None

    def set(self, cid: int, vector: Any) -> None:
        import numpy as np

        slot = self._slot.get(cid)
        if slot is None:
            if self._matrix is None:
                self._matrix = np.zeros((64, vector.shape[0]), dtype=np.float32)
            if self._free:
                slot = heapq.heappop(self._free)
            else:
                slot = self._used
                self._used += 1
                if slot >= self._matrix.shape[0]:
                    grown = np.zeros((2 * self._matrix.shape[0], self._matrix.shape[1]), dtype=np.float32)
                    grown[: self._matrix.shape[0]] = self._matrix
                    self._matrix = grown
            self._slot[cid] = slot
        norm = float(np.sqrt(vector @ vector))
        self._matrix[slot] = vector / norm if norm > 0.0 else 0.0

    def remove(self, cid: int) -> None:
        slot = self._slot.pop(cid, None)
        if slot is not None:
            heapq.heappush(self._free, slot)

    def cosines(self, ids: list[int], unit: Any) -> list[float | None]:
        """Cosine of a unit vector with each listed cluster's vector (None where there is none)."""
        if self._matrix is None or unit is None:
            return [None] * len(ids)
        slot = self._slot.get
        rows = [slot(cid, -1) for cid in ids]
        found = [r for r in rows if r >= 0]
        if not found:
            return [None] * len(ids)
        values = iter((self._matrix[found] @ unit).tolist())
        return [next(values) if r >= 0 else None for r in rows]

    def cosine_array(self, ids: list[int], unit: Any) -> Any:
        """The same cosines as one numpy array, or None unless every listed cluster has a vector."""
        if self._matrix is None or unit is None or not ids:
            return None
        slot = self._slot
        try:
            rows = [slot[cid] for cid in ids]
        except KeyError:
            return None
        return self._matrix[rows] @ unit
