"""TF-IDF article vectors with document frequencies learned online, and the sparse-vector arithmetic."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from bot.stories.leads import lead, slug_words
from bot.stories.text import Token, tokenize

SparseVector = dict[str, float]

# Field and name emphasis: what a headline says, and who or where, identifies the event.
TITLE_WEIGHT = 1.0
TEXT_WEIGHT = 0.5
ENTITY_BOOST = 0.6
BIGRAM_WEIGHT = 0.5
SLUG_WEIGHT = 0.5
# A word must be seen capitalised this often mid-sentence before Title Case headlines count it as a name.
_NAME_EVIDENCE = 2
# Every this many documents, words seen only once are forgotten (they then count as unseen: rare).
_PRUNE_EVERY = 5_000


@dataclass
class Vocabulary:
    """Document frequencies and capitalisation counts, both updated as articles arrive."""

    n_docs: int = 0
    df: dict[str, int] = field(default_factory=dict)
    # stem -> [seen capitalised mid-sentence, seen lower-case]: learns which words are names.
    case: dict[str, list[int]] = field(default_factory=dict)

    def idf(self, term: str) -> float:
        return math.log((self.n_docs + 1.0) / (self.df.get(term, 0) + 0.5))

    def observe(self, text: ArticleText) -> tuple[SparseVector, dict[str, float]]:
        """Count the article into the frequencies; returns its unit TF-IDF vector and the raw salience of
        its words (for the 'what is new' line). One pass: each term's frequency is read as it is counted."""
        self.n_docs += 1
        if self.n_docs % _PRUNE_EVERY == 0:
            self.prune()
        case = self.case
        counted = case.get
        for tokens in (text.title, text.body):
            for tok in tokens:
                evidence = tok.evidence
                if evidence >= 0:
                    counts = counted(tok.stem)
                    if counts is None:
                        counts = case[tok.stem] = [0, 0]
                    counts[evidence] += 1
        raw: dict[str, float] = {}
        get = raw.get
        for tokens, weight in ((text.title, TITLE_WEIGHT), (text.body, TEXT_WEIGHT)):
            named = weight * (1.0 + ENTITY_BOOST)
            for tok in tokens:
                kind = tok.kind
                if kind == 0:
                    continue
                stem = tok.stem
                if kind == 3:
                    boost = weight
                elif kind == 1:
                    boost = named
                else:
                    # A capital that says nothing by itself: a name if the stream writes the word so.
                    counts = counted(stem)
                    boost = (
                        named
                        if counts is not None and counts[0] >= _NAME_EVIDENCE and counts[0] > 2 * counts[1]
                        else weight
                    )
                raw[stem] = get(stem, 0.0) + boost
        for gram in _bigrams(text.title):
            raw[gram] = get(gram, 0.0) + BIGRAM_WEIGHT
        weights = raw
        if text.slug:
            # The slug's words weigh in the vector only: the salience (what is new) is the article's own.
            weights = dict(raw)
            for tok in text.slug:
                if tok.content:
                    weights[tok.stem] = weights.get(tok.stem, 0.0) + SLUG_WEIGHT
        df = self.df
        count = df.get
        log = math.log
        log_top = log(self.n_docs + 1.0)
        vec: SparseVector = {}
        norm2 = 0.0
        for term, w in weights.items():
            n = count(term, 0) + 1
            df[term] = n
            value = (1.0 + log(w) if w > 1.0 else w) * (log_top - log(n + 0.5))
            vec[term] = value
            norm2 += value * value
        if norm2 == 0.0:
            return {}, raw
        scale = 1.0 / math.sqrt(norm2)
        return {t: v * scale for t, v in vec.items()}, raw

    def prune(self) -> None:
        """Forget words seen once: most bigrams and typos, which would otherwise grow without bound."""
        self.df = {term: n for term, n in self.df.items() if n > 1}
        self.case = {stem: c for stem, c in self.case.items() if c[0] + c[1] > 1}

    def is_name(self, tok: Token) -> bool:
        if tok.entity:
            return True
        if not tok.case_blind or not tok.surface[0].isupper():
            return False
        counts = self.case.get(tok.stem)
        return counts is not None and counts[0] >= _NAME_EVIDENCE and counts[0] > 2 * counts[1]

    def to_state(self) -> dict[str, Any]:
        return {"n_docs": self.n_docs, "df": self.df, "case": self.case}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Vocabulary:
        return cls(n_docs=int(state["n_docs"]), df=dict(state["df"]), case=dict(state["case"]))


@dataclass(frozen=True, slots=True)
class ArticleText:
    """An article's text reduced to what the engine compares: tokens of the title and of the lead."""

    title: list[Token]
    body: list[Token]
    # The words of the URL's slug, for an item with no text of its own (the outlet's own summary).
    slug: list[Token] = field(default_factory=list)

    @classmethod
    def of(cls, title: str, text: str, url: str = "") -> ArticleText:
        body = lead(text)
        # Feeds often repeat the headline as the first line of the text; count it once.
        if body.startswith(title):
            body = body[len(title) :]
        slug = tokenize(slug_words(url, title)) if url and not body.strip() else []
        return cls(tokenize(title), tokenize(body), slug)


def _bigrams(tokens: list[Token]) -> list[str]:
    stems = [t.stem for t in tokens if t.content]
    return [f"{a}_{b}" for a, b in itertools.pairwise(stems)]


def normalize(vec: SparseVector) -> SparseVector:
    norm = math.sqrt(sum([w * w for w in vec.values()]))
    if norm == 0.0:
        return {}
    return {t: w / norm for t, w in vec.items()}


def dot(a: SparseVector, b: SparseVector) -> float:
    if len(a) > len(b):
        a, b = b, a
    get = b.get
    return sum([w * get(t, 0.0) for t, w in a.items()])


def is_copy(a: SparseVector, b: SparseVector, threshold: float) -> bool:
    """dot(a, b) >= threshold for unit vectors, mostly decided by the shared terms' weight alone.

    The dot is at most the norm of a's shared part (Cauchy-Schwarz), so little shared weight rules a copy out.
    """
    shared = a.keys() & b.keys()
    if sum([a[t] * a[t] for t in shared]) < threshold * threshold:
        return False
    return sum([a[t] * b[t] for t in shared]) >= threshold


def cosine(a: SparseVector, b: SparseVector) -> float:
    na = math.sqrt(sum(w * w for w in a.values()))
    nb = math.sqrt(sum(w * w for w in b.values()))
    return dot(a, b) / (na * nb) if na and nb else 0.0
