"""The 'what is new' line: the salient words of a development that its story had not said before."""

from __future__ import annotations

from bot.stories.vectors import Vocabulary

_MAX_WORDS = 6


def what_is_new(
    salience: dict[str, float], words: dict[str, str], story_terms: dict[str, float], vocab: Vocabulary
) -> str:
    """Terms of this development, weighted by salience and rarity, that earlier developments lacked."""
    ranked = sorted(
        (
            (weight * vocab.idf(term), term)
            for term, weight in salience.items()
            if term not in story_terms and "_" not in term
        ),
        key=lambda pair: (-pair[0], pair[1]),
    )
    return ", ".join(words.get(term, term) for _, term in ranked[:_MAX_WORDS])
