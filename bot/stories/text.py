"""Text features shared by the query language and the story engine: folding, tokens, stems, entities."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from bot.stories.stopwords import STOPWORDS

# Words (with inner apostrophes, dots of abbreviations, hyphens) and numbers (with separators).
# The second group is the punctuation right after a word (one space allowed): a sentence ends there.
_TOKEN_RE = re.compile(r"([^\W_]+(?:[.'’&][^\W_]+)*\.?|\d+(?:[.,]\d+)*%?)(\s?[.!?:;])?", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case and strip accents, so 'Señor' matches 'senor'."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light suffix stripper: plural, possessive, -ing/-ed/-ly and a final -e, so inflections meet."""
    w = word.replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'.")
    if len(w) <= 3 or not w.isalpha():
        return w
    # Demonyms of places ending in -a meet their place: Korean/Korea, Russian/Russia, Indian/India.
    if w.endswith(("ian", "ean", "ians", "eans")) and len(w) > 5:
        return w[: w.rindex("n")]
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "xes", "ches", "shes", "zzes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ingly", "edly", "ing", "ed", "ly"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    if w.endswith("y") and len(w) > 3:
        w = w[:-1] + "i"
    return w


class Token(NamedTuple):
    """One word of a text: its surface form, folded form, stem and whether it reads as a name."""

    surface: str
    folded: str
    stem: str
    # Capitalised away from a sentence start, an acronym, or a number: the words that name things.
    entity: bool
    # Capitalisation carries no signal (sentence start, or a Title Case / ALL CAPS headline).
    case_blind: bool
    # Carries meaning: not a stopword, not a single letter (what the engine weighs).
    content: bool = True
    # Written with a capital first letter; starts with a letter.
    capital: bool = False
    alpha: bool = True
    # What this occurrence says of the word's case (-1 nothing, 0 capitalised, 1 lower case), and how it
    # weighs (0 not at all, 1 as a name, 2 as a name if the stream writes it so, 3 as a word): worked out
    # once per form and place, since every article asks.
    evidence: int = -1
    kind: int = 3


class _Word(NamedTuple):
    """What a surface form always is, whatever its place: analysed once, then shared by every text."""

    acronym: bool
    # Counts toward the Title Case test (1: a letter first, longer than three characters)...
    long_alpha: int
    # ...and is capitalised (1).
    long_upper: int
    sighted: Token
    blind: Token
    # Ends a sentence by itself ('wow!').
    exclaims: bool


# surface -> its analysis (None: nothing to match, e.g. only combining marks); news reuses its words.
_WORDS: dict[str, _Word | None] = {}
_MAX_WORDS = 200_000


def _analyse(surface: str) -> _Word | None:
    folded = fold(surface).rstrip(".")
    word = None
    if folded:
        number = folded[0].isdigit()
        acronym = len(surface) >= 2 and surface.replace(".", "").isupper() and surface[0].isalpha()
        stemmed = stem(folded)
        content = folded not in STOPWORDS and len(stemmed) > 1
        named = number or (acronym and len(surface) <= 6)
        capital = surface[0].isupper()
        alpha = folded[0].isalpha()
        evidence = (0 if capital else 1) if alpha else -1
        kind = (1 if named or capital else 3) if content else 0
        sighted = Token(
            surface, folded, stemmed, named or capital, False, content, capital, alpha, evidence, kind
        )
        kind = (1 if named else 2 if capital else 3) if content else 0
        blind = Token(surface, folded, stemmed, named, True, content, capital, alpha, -1, kind)
        long_alpha = surface[0].isalpha() and len(surface) > 3
        long_upper = long_alpha and surface[0].isupper()
        word = _Word(acronym, int(long_alpha), int(long_upper), sighted, blind, surface[-1] in "!?")
    if len(_WORDS) >= _MAX_WORDS:
        _WORDS.clear()
    _WORDS[surface] = word
    return word


def tokenize(text: str) -> list[Token]:
    """Split text into tokens, recording for each one whether its capitalisation marks a name."""
    cache = _WORDS
    words: list[_Word] = []
    ends: list[bool | str] = []
    long_alpha = upper = 0
    for surface, stop in _TOKEN_RE.findall(text):
        word = cache.get(surface)
        if word is None:
            # Not seen yet, or seen and found to hold nothing to match.
            word = None if surface in cache else _analyse(surface)
            if word is None:
                continue
        words.append(word)
        ends.append(stop or word.exclaims)
        long_alpha += word.long_alpha
        upper += word.long_upper
    # Headlines in Title Case or ALL CAPS capitalise every word, so case says nothing there.
    title_case = long_alpha >= 3 and 10 * upper >= 7 * long_alpha
    tokens: list[Token] = []
    append = tokens.append
    sentence_start: bool | str = True
    for word, end in zip(words, ends, strict=True):
        append(word.blind if sentence_start or (title_case and not word.acronym) else word.sighted)
        sentence_start = end
    return tokens


def content_stems(tokens: list[Token]) -> list[str]:
    """The stems that carry meaning: no stopwords, no single letters."""
    return [t.stem for t in tokens if t.content]
