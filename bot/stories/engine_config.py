"""The few numbers that shape the story engine: with the model, and without it (words only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """The few numbers that shape the engine; the defaults are the same for every stream."""

    # Cosine (after time decay) at which an article joins a development.
    join_threshold: float = 0.07
    # Cosine to one earlier member at which an article is a copy of it, whatever the time gap.
    near_duplicate: float = 0.80
    # Similarity decays with the gap to a development's latest article (hours for it to halve).
    half_life_h: float = 18.0
    # A development idle for longer stops taking articles...
    window_h: float = 96.0
    # ...and so does one older than this: an event is reported over hours to days, not weeks.
    max_span_h: float = 168.0
    # Evidence (see similarity.link_evidence) at which a new development continues a story...
    story_threshold: float = 0.04
    # ...where the model's cosine counts only above this level (what other stories of a topic reach).
    story_floor: float = 0.44
    # Centroid cosine at which two developments bridged by one article are merged.
    merge_threshold: float = 0.3
    # Time constant of a story's burst: soon after a development's last article, story similarity suffices.
    burst_h: float = 24.0
    # How strongly an article's preference for another story vetoes joining this story's development.
    story_consistency: float = 0.5
    # Share of the model's similarity in the blend, and the model cosine that counts as unrelated.
    dense_weight: float = 0.3
    dense_floor: float = 0.2
    # A story idle this long is summarised by its heaviest terms (it stays linkable for years).
    story_dormant_h: float = 720.0
    # Stories kept per topic (threads first): what an article is compared with stays bounded.
    max_stories: int = 32
    # New-story caution: below story_threshold, a development still continues the nearest story when the
    # words and the model together (link evidence) reach this share of the threshold.
    story_caution: float = 0.5
    # An outlet reporting again on a development this long after its last report there, naming in its
    # text what the development has not, starts a new development (see turns.py).
    turn_gap_h: float = 12.0
    # A development reported in a burst is over once silent this long and for lull_rhythm times its usual
    # gap between reports: the next burst on its subject is a new development.
    lull_h: float = 24.0
    lull_rhythm: float = 20.0


# Without the model, similarities run lower (no dense share), so the cut-offs sit lower too; and with the
# words as the only evidence, nothing backs a story below its threshold (no caution zone).
LEXICAL_CONFIG = EngineConfig(join_threshold=0.055, story_threshold=0.20, story_caution=1.0)
