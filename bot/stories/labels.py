"""Story labels that stay true: the names and terms a story's developments share, re-derived as it grows.

A story's stored title is its first headline, which a year later may name an event the story has long
left behind. Its label is made from all its developments' headlines instead (each development counts
once, however many outlets wrote it): the terms most of them share, names first, less weight for the
words every story of the topic has ('North Korea' in a Korea topic says nothing of which story this is).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.stories.stopwords import STOPWORDS
from bot.stories.text import Token, stem, tokenize

MAX_TERMS = 3
SEPARATOR = " · "
# Who a wire credits at the end ('...: JCS', '...: reports'): not what the story is about.
_ATTRIBUTION = re.compile(r":\s*[\w.'’-]+(?:\s+(?:says|said|reports?))?\s*$")
# Punctuation that ends a phrase: a name does not run across it ('Japan's EEZ, Abe', 'Trump-Kim').
_PHRASES = re.compile(r"[,:;!?()\[\]\"“”]|\s[-–—]\s|(?<=\w)-(?=[A-Z])")
# A term below this share of the best term's score is left out, however few terms there are.
_MIN_SHARE = 0.3
_NAME_BOOST = 1.5
_COMMON_DISCOUNT = 0.3
_BIGRAM_BOOST = 1.1
# A name of several words takes the place of a chosen word it holds at this share of its score.
_REPLACE = 0.6
# Words that say what a source did, or how, not what the story is about.
_GENERIC = frozenset(
    stem(word)
    for word in (
        "tells",
        "warns",
        "urges",
        "calls",
        "claims",
        "confirms",
        "agrees",
        "holds",
        "makes",
        "takes",
        "sets",
        "seeks",
        "vows",
        "gives",
        "shows",
        "sees",
        "goes",
        "comes",
        "puts",
        "becomes",
        "arrives",
        "believed",
        "crosses",
        "heads",
        "heading",
        "begins",
        "begun",
        "sends",
        "sending",
        "fires",
        "fired",
        "lands",
        "ends",
        "says",
        "thanks",
        "wants",
        "asks",
        "attempt",
        "coming",
        "historic",
        "step",
        "steps",
        "apparent",
        "broken",
        "long",
        "range",
        "sitting",
        "issued",
        "cover",
        "hopes",
        "lead",
        "big",
        "major",
        "key",
        "top",
        "possible",
        "latest",
        "early",
        "appears",
        "appear",
        "dies",
        "purported",
        "suspected",
        "according",
        "ahead",
        "amid",
        "despite",
        "reportedly",
        "officials",
        "official",
        "state",
        "media",
    )
)


# A date says when, not what: months and weekdays are no label ('June · Trump · summit'). 'March' and
# 'May' are left out only when written as names (a protest march is a subject).
_CALENDAR = frozenset(
    stem(word)
    for word in (
        "january",
        "february",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    )
)
_CALENDAR_WORDS = frozenset(stem(word) for word in ("march", "may"))


@dataclass
class _Evidence:
    """What the headlines say of one term: the developments that use it and how it is written."""

    developments: float = 0.0
    named: int = 0
    plain: int = 0
    # Of `named`, the uses inside a name of several words ('Sea' of 'East Sea').
    in_names: int = 0
    forms: Counter[str] = field(default_factory=Counter)


def story_label(
    developments: Sequence[Sequence[str]],
    *,
    common: Iterable[str] = (),
    story_frequency: Mapping[str, int] | None = None,
    stories: int = 0,
    case_hints: Iterable[str] = (),
    max_terms: int = MAX_TERMS,
) -> str:
    """The label of a story from its developments' headlines, oldest development first.

    `common`: stems the channel knows already (its topic's query words); `story_frequency`: in how many
    of the topic's `stories` each stem is a key term; `case_hints`: other text of the story (summaries)
    that shows how its words are written mid-sentence.
    """
    evidence: dict[str, _Evidence] = defaultdict(_Evidence)
    total = 0.0
    count = len(developments)
    for index, headlines in enumerate(developments):
        # Later developments weigh a little more: the label follows where the story has gone.
        weight = 1.0 + 0.5 * index / max(count - 1, 1)
        total += weight
        # Within a development, a term counts by the share of its outlets' headlines that use it.
        uses: Counter[str] = Counter()
        for headline in headlines:
            uses.update(_terms(headline, evidence))
        for term, used in uses.items():
            evidence[term].developments += weight * used / len(headlines)
    if not evidence or total == 0.0:
        return ""
    for text in case_hints:
        tokens = tokenize(text)
        for token, in_name in zip(tokens, _in_names(tokens), strict=True):
            if token.stem in evidence and not token.case_blind and token.alpha:
                _count_case(evidence[token.stem], token, in_name)
    spread = _Spread(story_frequency or {}, stories, frozenset(common))
    scores: dict[str, float] = {}
    for term, seen_in in evidence.items():
        score = _score(term.split("_"), seen_in.developments / total, evidence, spread)
        if score > 0.0:
            scores[term] = score
    chosen = _whole_names(_pick(scores, max_terms), scores, evidence)
    return SEPARATOR.join(_surface(term, evidence) for term in chosen)


@dataclass(frozen=True, slots=True)
class _Spread:
    """How widely the topic's stories use each stem, and the stems of its query."""

    frequency: Mapping[str, int]
    stories: int
    common: frozenset[str]

    def discount(self, parts: list[str]) -> float:
        factor = _COMMON_DISCOUNT if all(part in self.common for part in parts) else 1.0
        if self.stories > 1:
            # A term most of the topic's stories use says little of this one; a rare one is not boosted.
            spread = min(self.frequency.get(part, 0) for part in parts) / self.stories
            factor *= max(0.0, 1.0 - min(spread, 1.0) ** 2)
        return factor


def _score(parts: list[str], share: float, evidence: Mapping[str, _Evidence], spread: _Spread) -> float:
    """A term's score: the share of developments using it, discounted for spread, raised for names."""
    weighed = [part for part in parts if part not in STOPWORDS]
    if share <= 0.0 or not weighed or any(part in _GENERIC for part in weighed):
        return 0.0
    if any(p in _CALENDAR or (p in _CALENDAR_WORDS and _is_name(evidence[p])) for p in weighed):
        return 0.0
    named = all(_is_name(evidence[part]) for part in weighed)
    if len(parts) > 1 and not named:
        return 0.0
    score = share * spread.discount(weighed)
    if named:
        score *= _NAME_BOOST
    return score * (_BIGRAM_BOOST if len(parts) > 1 else 1.0)


def _terms(headline: str, evidence: dict[str, _Evidence]) -> set[str]:
    """The terms of one headline: its content words, and runs of capitalised words inside one phrase (names
    of two or three words; whether they are names is settled by how the words are written elsewhere)."""
    terms: set[str] = set()
    for phrase in _PHRASES.split(_ATTRIBUTION.sub("", headline)):
        run: list[str] = []
        tokens = tokenize(phrase)
        for token, in_name in zip(tokens, _in_names(tokens), strict=True):
            # 'New' in 'New York' is a stopword but part of the name, when written so mid-sentence.
            joins = token.alpha and token.capital and not token.case_blind and len(token.folded) > 1
            if not joins and (not token.content or not token.alpha):
                run = []
                continue
            _count_case(evidence[token.stem], token, in_name)
            if token.content:
                terms.add(token.stem)
            run = [*run, token.stem] if token.capital else []
            for size in (2, 3):
                if len(run) >= size and run[-1] == token.stem and token.content:
                    terms.add("_".join(run[-size:]))
            if token.surface.endswith(("'s", "’s")):
                # A possessive ends a name: 'Korea's Kim' is two.
                run = []
    return terms


def _in_names(tokens: list[Token]) -> list[bool]:
    """Which tokens stand next to another capitalised word: parts of a name of several words."""
    capital = [t.capital and t.alpha for t in tokens]
    return [
        capital[i] and ((i > 0 and capital[i - 1]) or (i + 1 < len(tokens) and capital[i + 1]))
        for i in range(len(tokens))
    ]


def _count_case(seen: _Evidence, token: Token, in_name: bool = False) -> None:
    form = token.surface
    for suffix in ("'s", "’s"):
        form = form.removesuffix(suffix)
    form = form.rstrip(".") if form.count(".") == 1 else form
    seen.forms[form] += 1
    if token.case_blind:
        return
    if token.entity:
        seen.named += 1
        seen.in_names += in_name
    else:
        seen.plain += 1


def _is_name(seen: _Evidence) -> bool:
    return seen.named > seen.plain


def _is_name_alone(seen: _Evidence) -> bool:
    """A name by itself: a word also written plainly is one only if written as a name outside longer names
    (the 'sea' of 'into the sea' and of 'East Sea' is no name alone)."""
    return _is_name(seen) and (seen.plain == 0 or seen.named - seen.in_names > seen.plain)


def _pick(scores: dict[str, float], max_terms: int) -> list[str]:
    """The best terms. A name of several words replaces the chosen words it holds when it scores nearly as
    well; a term that overlaps a chosen one otherwise is skipped."""
    ranked = sorted(scores, key=lambda term: (-scores[term], term))
    if not ranked:
        return []
    floor = scores[ranked[0]] * _MIN_SHARE
    chosen: list[str] = []
    for term in ranked:
        if scores[term] < floor:
            break
        parts = set(term.split("_"))
        overlapping = [c for c in chosen if parts & set(c.split("_"))]
        if not overlapping:
            if len(chosen) < max_terms:
                chosen.append(term)
            continue
        held = all(set(c.split("_")) < parts for c in overlapping)
        if held and scores[term] >= _REPLACE * max(scores[c] for c in overlapping):
            chosen[chosen.index(overlapping[0])] = term
            for extra in overlapping[1:]:
                chosen.remove(extra)
    return chosen


def _whole_names(
    chosen: list[str], scores: Mapping[str, float], evidence: Mapping[str, _Evidence]
) -> list[str]:
    """A chosen word that is a name only inside a longer one ('Sea' of 'East Sea') gives way to the best
    such name not overlapping the other chosen terms (with none, it is shown as the plain word it is)."""
    out = list(chosen)
    for index, term in enumerate(chosen):
        seen = evidence[term] if "_" not in term else None
        if seen is None or not _is_name(seen) or _is_name_alone(seen):
            continue
        taken = {part for other in out if other != term for part in other.split("_")}
        names = [
            name
            for name in scores
            if term in name.split("_") and "_" in name and not taken & set(name.split("_"))
        ]
        if names:
            out[index] = max(names, key=lambda name: (scores[name], name))
    return out


def _surface(term: str, evidence: Mapping[str, _Evidence]) -> str:
    parts = term.split("_")
    return " ".join(_word(evidence[part], len(parts) == 1) for part in parts)


def _word(seen: _Evidence, alone: bool = False) -> str:
    """How the word is written: as a name when it is written as one mid-sentence, else in lower case."""
    form = seen.forms.most_common(1)[0][0] if seen.forms else ""
    if form.isupper() and len(form) > 1:
        return form
    if (_is_name_alone(seen) if alone else _is_name(seen)) or (
        seen.named == seen.plain == 0 and form[:1].isupper() and _looks_named(seen)
    ):
        return form[:1].upper() + form[1:]
    return form.lower()


def _looks_named(seen: _Evidence) -> bool:
    # No mid-sentence evidence at all: a word written capitalised in most places is taken as written.
    capitals = sum(n for form, n in seen.forms.items() if form[:1].isupper())
    return capitals == sum(seen.forms.values()) and len(seen.forms) == 1
