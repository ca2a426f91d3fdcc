"""Headlines as a reader should see them: wire tags and datelines off, and the plainest one of a development.

A development's articles are many outlets' headlines for one event. The one shown is the most
informative: it shares the most words with the other reports (the event, not one outlet's angle),
comes from a wire or is carried by several outlets, and is no question, teaser or shout when a plain
report exists. Everything here is feed text: it is cleaned and chosen, never turned into markup.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from bot.models import Article
from bot.stories.text import fold, tokenize

# Agency flags at the head: '(URGENT)', '(LEAD)', '(2nd LD)', '(News Focus)', '(UPDATE 2)', '(EDITORIAL ...)'.
_TAG_WORDS = (
    r"urgent|lead|flash|breaking|update(?:d)?(?:\s*\d+)?|\d+(?:st|nd|rd|th)\s+ld(?:[-\s]writethru)?|ld"
    r"|news\s+(?:focus|analysis|feature)|focus|feature|interview|yonhap\s+\w+|editorial[^)]{0,40}"
    r"|correction|corrected|refile|repeat|rpt|wrapup(?:\s*\d+)?|exclusive|advisory|photo|video|live"
)
_PAREN_TAG = re.compile(rf"^\s*[\(\[](?:{_TAG_WORDS})(?:\s*,\s*[^)\]]{{0,40}})?[\)\]]\s*", re.IGNORECASE)
# 'URGENT:', 'FLASH -', 'BREAKING NEWS:', 'UPDATE 1-', 'EXCLUSIVE-', 'RPT-': capitals then a colon or dash.
_WORD_TAG = re.compile(
    r"^\s*(?:URGENT|FLASH|BREAKING(?:\s+NEWS)?|UPDATE(?:\s*\d+)?|UPDATED|EXCLUSIVE|WRAPUP(?:\s*\d+)?|RPT"
    r"|REFILE|CORRECTED|CORRECTION|LEAD|ALERT|LIVE|JUST\s+IN|WATCH|VIDEO|PHOTOS?)\s*(?::|-+|—|–)\s*",
    re.IGNORECASE,
)
_TRAILING_TAG = re.compile(
    r"\s*[\(\[](?:urgent|lead|update(?:d)?(?:\s*\d+)?|corrected|\d+(?:st|nd|rd|th)\s+ld)"
    r"[\)\]]\s*$",
    re.IGNORECASE,
)
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
# 'SEOUL, Oct. 5 (Yonhap) -- ', 'WASHINGTON (Reuters) - ', 'TOKYO, March 24 (AFP) —', 'GENEVA — '.
_DATELINE = re.compile(
    r"^\s*[A-Z][A-Z'’.\-]{2,}(?:\s+[A-Z][A-Z'’.\-]+){0,3}"
    r"(?:\s*,\s*[A-Z][A-Za-z.]+(?:\s+[A-Z][A-Za-z.]+){0,2})?"
    rf"(?:\s*,?\s*{_MONTH}\s+\d{{1,2}}(?:\s*,\s*\d{{4}})?)?"
    r"(?:\s*\([A-Za-z][\w .&'’-]{0,30}\))?"
    r"\s*(?:--|-|—|–)\s+"
)
_SPACES = re.compile(r"\s+")

WIRES = frozenset(
    {
        "reuters",
        "associated press",
        "ap",
        "afp",
        "agence france-presse",
        "yonhap",
        "kyodo news",
        "kyodo",
        "bloomberg",
        "dpa",
        "upi",
        "pa media",
        "ansa",
        "efe",
    }
)
# Openings of explainers, opinion and teasers: reports of something else than the event itself.
_TEASER_START = re.compile(
    r"^(?:why|how|what|who|when|where|watch|video|opinion|analysis|explainer|explained|comment|live"
    r"|here'?s|here is|this is|these are|inside|in pictures|photos?|quiz|you|the real)\b",
    re.IGNORECASE,
)
_BAIT_WORDS = frozenset(
    {
        "shocking",
        "stunning",
        "bizarre",
        "jaw",
        "insane",
        "incredible",
        "unbelievable",
        "epic",
        "meltdown",
        "wow",
        "omg",
        "struts",
        "slams",
        "blasts",
        "you",
        "your",
    }
)
_SHOUT = re.compile(r"\b[A-Z]{3,}(?:\s+[A-Z]{3,})+\b")


def clean_headline(title: str, source: str = "") -> str:
    """The headline without wire flags, a leading dateline, or a trailing ' - Outlet' / ' | Outlet'."""
    text = _SPACES.sub(" ", title).strip()
    text = strip_wire_tags(text)
    text = _TRAILING_TAG.sub("", text)
    if source:
        for separator in (" - ", " | ", " — ", " – "):
            suffix = separator + source.strip()
            if len(text) > len(suffix) and fold(text).endswith(fold(suffix)):
                text = text[: -len(suffix)].rstrip()
                break
    return text


def strip_wire_tags(text: str) -> str:
    """Leading agency flags and datelines off ('(LEAD)', 'URGENT:', 'SEOUL, Oct. 5 (Yonhap) --')."""
    while True:
        before = text
        text = _PAREN_TAG.sub("", text)
        text = _WORD_TAG.sub("", text)
        text = _DATELINE.sub("", text)
        if text == before:
            return text.strip()


def is_wire(source: str) -> bool:
    return fold(source).strip() in WIRES


def bait_penalty(headline: str) -> float:
    """How far a headline is from a plain report: questions, teasers, shouting, exclamation, bait words."""
    penalty = 0.0
    if "?" in headline:
        penalty += 3.0
    if "!" in headline:
        penalty += 2.0
    if _SHOUT.search(headline):
        penalty += 2.0
    if _TEASER_START.match(headline):
        penalty += 1.5
    if headline[:1] in "'\"‘“":
        # A quote for a headline: a voice, not the event.
        penalty += 0.7
    words = {fold(word) for word in re.findall(r"[\w']+", headline)}
    if words & _BAIT_WORDS:
        penalty += 1.5
    return penalty


def choose_headline(articles: Sequence[Article]) -> Article | None:
    """The article whose headline best reports the development (see the module's docstring)."""
    if not articles:
        return None
    cleaned = [clean_headline(a.title, a.source_name) for a in articles]
    stems = [{t.stem for t in tokenize(title) if t.content} for title in cleaned]
    shared = Counter(stem for group in stems for stem in group)
    copies = Counter(fold(title) for title in cleaned)
    others = max(len(articles) - 1, 1)
    best: tuple[float, int] | None = None
    for index, article in enumerate(articles):
        words = stems[index]
        if not words:
            continue
        centrality = sum(shared[s] - 1 for s in words) / others / math.sqrt(len(words))
        score = centrality + 0.12 * min(len(words), 10) - bait_penalty(cleaned[index])
        score += 0.5 * (copies[fold(cleaned[index])] - 1) + (0.4 if is_wire(article.source_name) else 0.0)
        if len(words) < 3:
            score -= 1.0
        if best is None or score > best[0]:
            best = (score, index)
    return articles[best[1] if best is not None else 0]
