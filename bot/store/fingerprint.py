"""Simhash fingerprints of article text, for spotting syndicated copies (same text, other outlet).

Pure functions, no I/O. A fingerprint is 64 bits; the database stores it as a signed BIGINT.
"""

from __future__ import annotations

import re
import sys
from array import array
from functools import lru_cache
from hashlib import blake2b
from itertools import pairwise

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
_MIX = 0x9E3779B97F4A7C15
_WORD = re.compile(r"\w+")
# _BIT_SELECT[j] maps a byte to 1 if its bit j is set, else 0: bytes.translate then counts in C.
_BIT_SELECT = [bytes((value >> j) & 1 for value in range(256)) for j in range(8)]


@lru_cache(maxsize=65536)
def _word_hash(word: str) -> int:
    return int.from_bytes(blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def simhash64(text: str) -> int:
    """The 64-bit simhash (unsigned) of `text`'s word bigrams; 0 for text without words."""
    hashes = [_word_hash(word) for word in _WORD.findall(text.lower())[:MAX_WORDS]]
    if not hashes:
        return 0
    # A linear mix of two independent random words is itself uniform: cheap and good enough here.
    features = [(a * _MIX + b) & _MASK64 for a, b in pairwise(hashes)] or hashes
    packed = array("Q", features)
    if sys.byteorder == "big":
        packed.byteswap()
    blob = packed.tobytes()
    half = len(features) / 2
    value = 0
    for position in range(8):
        column = blob[position::8]
        for j in range(8):
            if column.translate(_BIT_SELECT[j]).count(1) > half:
                value |= 1 << (position * 8 + j)
    return value


def article_fingerprint(title: str, text: str) -> int | None:
    """The fingerprint stored for an article (signed), or None when its text is too short to judge."""
    body = text if len(_WORD.findall(text)) >= MIN_WORDS else f"{title} {text}"
    if len(_WORD.findall(body)) < MIN_WORDS:
        return None
    return to_signed(simhash64(body))


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
