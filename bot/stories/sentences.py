"""Sentences of a feed summary, cleaned to stand alone in an alert: no wire tags, datelines or weekdays.

'Wednesday' in a summary is only true the week it was written, and a reader of a digest or a timeline
sees it days later; the date is on the alert already. Abbreviations ('U.S.', 'N. Korea', 'Oct. 5',
'Gen.') do not end a sentence.
"""

from __future__ import annotations

import re

from bot.stories.headlines import strip_wire_tags

# Where a sentence may end: . ! ? (and a closing quote), then space and an opening capital, digit or quote.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'’”)]?\s+(?=[\"'‘“(]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "gen",
        "lt",
        "col",
        "maj",
        "capt",
        "cmdr",
        "adm",
        "sgt",
        "sen",
        "rep",
        "gov",
        "pres",
        "prof",
        "rev",
        "st",
        "jr",
        "sr",
        "inc",
        "corp",
        "co",
        "ltd",
        "no",
        "vs",
        "etc",
        "approx",
        "est",
        "dept",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.n",
        "u.k",
        "e.u",
        "d.c",
        "a.m",
        "p.m",
    }
)
_DAYS = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_PART = r"(?:\s+(?:morning|afternoon|evening|night))?(?:\s+\(local time\)|\s+local time)?"
# 'On Wednesday, ' at the start of a sentence.
_LEADING_DAY = re.compile(rf"^(?:Early |Late )?(?:On |Last |This )?{_DAYS}{_PART}\s*,\s*", re.IGNORECASE)
# ' early on Wednesday', ' said Thursday', ' Saturday,' inside one (not 'Wednesday's': that one stays).
_INNER_DAY = re.compile(
    rf"(?:\s+(?:early|late))?(?:\s+(?:on|last|this))?\s+{_DAYS}\b(?!['’]s){_PART}", re.IGNORECASE
)
# Time stamps and bylines some feeds put before the text: 'Updated 10:32 a.m. ET', 'By Jane Doe |'.
_STAMP = re.compile(
    r"^\s*(?:(?:updated|posted|published)\s*:?\s*)?\d{1,2}:\d{2}\s*(?:[ap]\.?m\.?)?\s*(?:[A-Z]{2,4}\b)?\s*[|:—–-]?\s*",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"(?:click here|read more|continue reading|sign up|subscribe|appeared first on|all rights reserved"
    r"|cookies|javascript|\bphoto:|\bfile photo\b)",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_DOUBLE_COMMA = re.compile(r",\s*,")
MIN_WORDS = 5


def split_sentences(text: str) -> list[str]:
    """The sentences of a plain text, in order (abbreviations and initials do not split)."""
    text = _SPACES.sub(" ", text).strip()
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start()].rstrip("\"'’”)")
        last = before.rsplit(" ", 1)[-1].rstrip(".").lower()
        # 'N. Korea', 'John F. Kennedy': one capital letter and a dot is an initial, not an ending.
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        out.append(text[start : match.start()].strip())
        start = match.end()
    if start < len(text):
        out.append(text[start:].strip())
    return [sentence for sentence in out if sentence]


def clean_sentence(sentence: str) -> str:
    """A sentence fit to stand alone: wire flags, datelines, stamps and weekday phrases off."""
    text = _STAMP.sub("", strip_wire_tags(sentence))
    text = _LEADING_DAY.sub("", text)
    text = _INNER_DAY.sub("", text)
    text = _DOUBLE_COMMA.sub(",", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text)).strip(" ,;:-—–")
    if text[:1].islower():
        text = text[0].upper() + text[1:]
    return text


def is_usable(sentence: str) -> bool:
    """A whole sentence worth showing: long enough, not cut off, no page furniture."""
    if len(sentence.split()) < MIN_WORDS:
        return False
    if sentence.endswith(("…", "...", ",", ":")) or _BOILERPLATE.search(sentence):
        return False
    return sentence[:1].isupper() or sentence[:1].isdigit() or sentence[:1] in "\"'‘“"


def shorten(sentence: str, limit: int) -> str:
    """At most `limit` characters, cut after a whole clause when it is longer (a comma, semicolon or dash)."""
    if len(sentence) <= limit:
        return sentence
    cut = max(sentence.rfind(mark, 0, limit) for mark in (", ", "; ", " — ", " – "))
    if cut < limit // 3:
        cut = sentence.rfind(" ", 0, limit)
    return sentence[: max(cut, 1)].rstrip(" ,;—–") + "…"
