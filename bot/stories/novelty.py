"""The 'what is new' line: a sentence from the development's reports that its story had not said before.

The engine keeps the salient words a development brought to its story (what_is_new below); the line a
reader sees is a sentence instead: the lead of the development's best summary, or the first sentence
down the summaries that carries words the story's earlier developments did not have. The words are the
fallback when no report has a usable sentence.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from bot.models import Article
from bot.stories.headlines import clean_headline, is_wire, strip_wire_tags
from bot.stories.sentences import clean_sentence, is_usable, shorten, split_sentences
from bot.stories.text import fold, tokenize
from bot.stories.vectors import Vocabulary

_MAX_WORDS = 6
# Sentences looked at per summary, and the new words that make one worth showing.
_SENTENCES_PER_SUMMARY = 3
_MIN_NEW = 2
# A sentence sharing this much of the headline's words only says the headline again.
_RESTATES = 0.7
SENTENCE_CAP = 300
_WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
_FLAGS = frozenset({"urgent", "lead", "ld", "flash", "breaking", "update", "exclusive", "jcs", "nis"})
_NUMBERISH = re.compile(r"^[\d.,:%]+$")


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


def content_stems(text: str) -> set[str]:
    return {t.stem for t in tokenize(text) if t.content and t.alpha}


def known_stems(texts: Iterable[str]) -> set[str]:
    """What a story has said: the words of its earlier developments' headlines and summaries."""
    known: set[str] = set()
    for text in texts:
        known |= content_stems(text)
    return known


def new_sentence(
    articles: Sequence[Article], headline: str, known: set[str], limit: int = SENTENCE_CAP
) -> str:
    """The sentence that best says what this development adds to its story ('' when none will do).

    `articles`: the development's reports, the chosen headline's first; `known`: known_stems of the
    story's earlier developments (empty for a new story, whose lead sentence is then the line).
    """
    said = content_stems(headline)
    candidates = [
        sentence for sentence in _candidates(articles) if not _restates(content_stems(sentence), said)
    ]
    if not candidates:
        return ""
    news = [len(content_stems(sentence) - known) for sentence in candidates]
    chosen = next((i for i, n in enumerate(news) if n >= _MIN_NEW), None)
    if chosen is None:
        chosen = max(range(len(candidates)), key=lambda i: (news[i], -i))
    return shorten(candidates[chosen], limit)


def _restates(stems: set[str], said: set[str]) -> bool:
    if not stems:
        return True
    return len(stems & said) / len(stems | said) >= _RESTATES or stems <= said


def _candidates(articles: Sequence[Article]) -> list[str]:
    """Usable sentences of the summaries, best summary first: all leads, then second sentences, and so on."""
    ranked = _ranked_summaries(articles)
    per_summary = [_sentences(text) for text in ranked]
    out: list[str] = []
    seen: set[str] = set()
    for depth in range(_SENTENCES_PER_SUMMARY):
        for sentences in per_summary:
            if depth < len(sentences) and fold(sentences[depth]) not in seen:
                seen.add(fold(sentences[depth]))
                out.append(sentences[depth])
    return out


def _sentences(text: str) -> list[str]:
    cleaned = (clean_sentence(s) for s in split_sentences(text)[: _SENTENCES_PER_SUMMARY + 1])
    return [
        s if s.endswith((".", "!", "?", '"', "”", "'", "’")) else s + "." for s in cleaned if is_usable(s)
    ]


def _summary(article: Article) -> str:
    """The article's text without a leading copy of its headline (many feeds start the text with it)."""
    text = strip_wire_tags(article.text.strip())
    title = clean_headline(article.title)
    if title and fold(text).startswith(fold(title)):
        text = text[len(title) :].lstrip(" .:-—–")
    return text


def _ranked_summaries(articles: Sequence[Article]) -> list[str]:
    """Distinct summaries, the most central first: its lead shares the most with the reports' headlines."""
    pooled = Counter(stem for a in articles for stem in content_stems(clean_headline(a.title)))
    summaries: dict[str, tuple[str, float]] = {}
    copies: Counter[str] = Counter()
    for rank, article in enumerate(articles):
        text = _summary(article)
        if not text:
            continue
        key = fold(text)
        copies[key] += 1
        if key in summaries:
            continue
        lead = content_stems(split_sentences(text)[0]) if text else set()
        centrality = sum(pooled[s] for s in lead) / max(len(articles), 1) / math.sqrt(max(len(lead), 1))
        # The chosen headline's own summary first, other things equal; then wires.
        bonus = (0.5 if rank == 0 else 0.0) + (0.3 if is_wire(article.source_name) else 0.0)
        summaries[key] = (text, centrality + bonus)
    order = sorted(summaries, key=lambda k: -(summaries[k][1] + 0.3 * (copies[k] - 1)))
    return [summaries[key][0] for key in order]


def tidy_terms(line: str, headline: str) -> str:
    """The engine's word list without wire flags, weekdays, bare numbers or the headline's own words."""
    said = content_stems(headline)
    kept = []
    for word in (w.strip() for w in line.split(",")):
        folded = fold(word)
        if not word or folded in _WEEKDAYS or folded in _FLAGS or _NUMBERISH.match(word):
            continue
        if content_stems(word) <= said:
            continue
        kept.append(word)
    return ", ".join(kept)
