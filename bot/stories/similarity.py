"""Blending the lexical similarity with the optional model's."""

from __future__ import annotations

from typing import Any, Protocol


class BlendSettings(Protocol):
    @property
    def dense_weight(self) -> float: ...

    @property
    def dense_floor(self) -> float: ...

    @property
    def story_floor(self) -> float: ...


def blend(lexical: float, embedding: Any, centroid: Any, cfg: BlendSettings) -> float:
    """Mix in the model's cosine, rescaled so that its floor (unrelated texts) maps to zero."""
    norm = float(centroid @ centroid) ** 0.5
    return mix(lexical, float(embedding @ centroid) / norm if norm > 0 else 0.0, cfg)


def mix(lexical: float, dense: float, cfg: BlendSettings) -> float:
    """The same blend, from a model cosine already computed."""
    dense = max(0.0, (dense - cfg.dense_floor) / (1.0 - cfg.dense_floor))
    return (1.0 - cfg.dense_weight) * lexical + cfg.dense_weight * dense


def link_evidence(lexical: float, dense: float | None, cfg: BlendSettings) -> float:
    """How strongly an article continues a story: the words and the model must both say so.

    The product needs both: a story of the same topic shares the topic's words, or reads alike to the
    model, but rarely both at once; and it spreads the two cases further apart than either does alone.
    """
    if dense is None:
        return lexical
    return lexical * max(0.0, (dense - cfg.story_floor) / (1.0 - cfg.story_floor))


def mix_many(lexical: Any, dense: Any, cfg: BlendSettings) -> tuple[Any, Any]:
    """mix and link_evidence over numpy arrays of candidates at once."""
    import numpy as np

    blended = (1.0 - cfg.dense_weight) * lexical + cfg.dense_weight * np.maximum(
        0.0, (dense - cfg.dense_floor) / (1.0 - cfg.dense_floor)
    )
    links = lexical * np.maximum(0.0, (dense - cfg.story_floor) / (1.0 - cfg.story_floor))
    return blended, links
