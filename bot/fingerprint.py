"""Simhash fingerprints of article text, for spotting syndicated copies (same text, other outlet).

Pure functions, no I/O. A fingerprint is 64 bits; the database stores it as a signed BIGINT.
"""

from __future__ import annotations

import re
from functools import lru_cache
from hashlib import blake2b

BITS = 64
# Copies with a changed byline, dateline or footer stay within 3 bits; unrelated texts almost never do.
SYNDICATION_MAX_DISTANCE = 3
# Fewer words than this fingerprint too coarsely to call two texts copies of each other.
MIN_WORDS = 8
# Copies are recognisable from their first thousand words; the cap bounds cost on the ingest hot path.
MAX_WORDS = 1000
BAND_BITS = 16
BANDS = BITS // BAND_BITS
_MASK64 = (1 << BITS) - 1
_PUNCTUATION = re.compile(r"[^\w\s]+")


class _WordHashes(dict[str, bytes]):
    """16 hash bytes per word, cached: news vocabulary repeats and blake2b is not free."""

    def __missing__(self, word: str) -> bytes:
        if len(self) >= _CACHE_WORDS:
            self.clear()
        digest = blake2b(word.encode("utf-8"), digest_size=16).digest()
        self[word] = digest
        return digest


_CACHE_WORDS = 200_000
_WORD_HASHES = _WordHashes()
# At most 255 hashes per pass, so a byte lane counting votes never overflows into the next.
_LANE_LIMIT = 255


def words_of(text: str) -> list[str]:
    """The lower-cased words (letters, digits) of `text`, at most MAX_WORDS of them."""
    # Blanking punctuation then splitting finds the same words as \w+ in half the time.
    return _PUNCTUATION.sub(" ", text.lower()).split()[:MAX_WORDS]


def _bigram_hashes(words: list[str]) -> bytes:
    """8 bytes per bigram (a, b): the first half of a's hash XOR the second half of b's."""
    digests = b"".join(map(_WORD_HASHES.__getitem__, words))
    if len(words) == 1:
        return digests[:8]
    # One big-integer XOR pairs every word's first half with the next word's second half, in C.
    packed = int.from_bytes(digests, "little")
    mixed = (packed ^ (packed >> 192)).to_bytes(len(digests), "little")
    return memoryview(mixed).cast("Q")[: 2 * (len(words) - 1) : 2].tobytes()


@lru_cache(maxsize=1024)
def _low_bits(nbytes: int) -> int:
    """An integer whose `nbytes` bytes are each 0x01."""
    return int.from_bytes(b"\x01" * nbytes, "little")


def _lane_sums(flags: int, words: int) -> bytes:
    """Sum of the `words` 64-bit words of `flags`, whose byte lanes hold small counts that never carry."""
    while words > 1:
        low = (words + 1) // 2
        flags = (flags & ((1 << (64 * low)) - 1)) + (flags >> (64 * low))
        words = low
    return flags.to_bytes(8, "little")


def simhash_words(words: list[str]) -> int:
    """The 64-bit simhash (unsigned) of a word list's bigrams; 0 for no words.

    Bit j * 8 + p of the result is the majority vote over the bigram hashes of bit j of their byte p.
    """
    if not words:
        return 0
    features = _bigram_hashes(words)
    count = len(features) // 8
    totals = [[0] * 8 for _ in range(8)]
    for start in range(0, count, _LANE_LIMIT):
        chunk = features[start * 8 : (start + _LANE_LIMIT) * 8]
        packed, mask, words_in_chunk = int.from_bytes(chunk, "little"), _low_bits(len(chunk)), len(chunk) // 8
        for j in range(8):
            # Bit j of every byte, summed across the hashes: each byte lane counts one position's votes.
            lanes = _lane_sums((packed >> j) & mask, words_in_chunk)
            if count <= _LANE_LIMIT:
                totals[j] = list(lanes)
            else:
                totals[j] = [a + b for a, b in zip(totals[j], lanes, strict=True)]
    digits = b"".join(bytes(49 if 2 * total > count else 48 for total in lane) for lane in totals)
    return int(digits[::-1], 2)


def simhash64(text: str) -> int:
    """The 64-bit simhash (unsigned) of `text`'s word bigrams; 0 for text without words."""
    return simhash_words(words_of(text))


def article_fingerprint(title: str, text: str) -> int | None:
    """The fingerprint stored for an article (signed), or None when its text is too short to judge."""
    words = words_of(text)
    if len(words) < MIN_WORDS:
        words = words_of(title) + words
        if len(words) < MIN_WORDS:
            return None
    return to_signed(simhash_words(words))


def hamming(a: int, b: int) -> int:
    """Bits that differ between two fingerprints, signed or unsigned."""
    return ((a & _MASK64) ^ (b & _MASK64)).bit_count()


def to_signed(value: int) -> int:
    """An unsigned 64-bit value as the signed integer a BIGINT column holds."""
    value &= _MASK64
    return value - (1 << BITS) if value >= 1 << (BITS - 1) else value


def to_unsigned(value: int) -> int:
    return value & _MASK64


def bands(value: int) -> tuple[int, ...]:
    """The four 16-bit slices, lowest first: fingerprints within 3 bits share at least one slice."""
    unsigned = value & _MASK64
    return tuple((unsigned >> (i * BAND_BITS)) & 0xFFFF for i in range(BANDS))
