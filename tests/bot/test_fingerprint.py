from __future__ import annotations

import random

from bot.fingerprint import (
    SYNDICATION_MAX_DISTANCE,
    article_fingerprint,
    bands,
    hamming,
    simhash64,
    to_signed,
    to_unsigned,
)
from tests.bot.store.test_articles import LONG_STORY, OTHER_STORY, STORY


def test_simhash_is_stable_and_64_bit() -> None:
    value = simhash64(STORY)
    assert value == simhash64(STORY) and 0 <= value < 2**64
    assert simhash64("") == 0 and simhash64("!!!") == 0
    # Case and punctuation do not matter; words do.
    assert simhash64(STORY.upper().replace(",", "")) == value


def test_copies_are_close_and_different_texts_far() -> None:
    base = simhash64(LONG_STORY)
    assert (
        hamming(base, simhash64("By AP staff. " + LONG_STORY + " Copyright AP.")) <= SYNDICATION_MAX_DISTANCE
    )
    assert (
        hamming(base, simhash64(LONG_STORY.replace("Sept. 26", "September 26"))) <= SYNDICATION_MAX_DISTANCE
    )
    assert hamming(base, simhash64(OTHER_STORY)) > 10
    # Two different articles on the same story are not copies.
    assert hamming(simhash64(STORY), simhash64(LONG_STORY[len(STORY) :])) > 10


def test_signed_round_trip_and_bands() -> None:
    rng = random.Random(7)
    for _ in range(200):
        value = rng.getrandbits(64)
        signed = to_signed(value)
        assert -(2**63) <= signed < 2**63 and to_unsigned(signed) == value
        assert bands(signed) == bands(value)
        flipped = value ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64))
        # Pigeonhole: three flipped bits leave at least one 16-bit band untouched.
        assert any(x == y for x, y in zip(bands(value), bands(flipped), strict=True))
        assert hamming(signed, flipped) <= 3


def test_short_texts_get_no_fingerprint() -> None:
    assert article_fingerprint("Breaking", "Quake hits") is None
    assert article_fingerprint("A title with five words", "and a few more") is not None
    assert article_fingerprint("", STORY) == to_signed(simhash64(STORY))
