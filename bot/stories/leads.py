"""What an item reports, in a few words: its lead, its URL slug's words, the text the model embeds."""

from __future__ import annotations

import re

from bot.models import Article
from bot.stories.text import fold, stem, tokenize


def lead(text: str, max_chars: int = 600) -> str:
    """The first sentences of a text: what an item reports is in its lead, not its background."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind(". ", 0, max_chars)
    return text[: cut + 1] if cut > max_chars // 3 else text[:max_chars]


_SLUG_SPLIT = re.compile(r"[-_+]")
_SLUG_EXTENSION = re.compile(r"\.[a-z]{2,5}$")
_SLUG_MIN_WORDS = 3
_SLUG_MIN_FRESH = 2
_SLUG_MAX_WORD = 24


def slug_words(url: str, title: str = "") -> str:
    """The words of a URL's most wordy path segment ('/2014/03/10/mcdonalds-sales-chilled.html') that the
    title does not already have, if any.

    Ids, dates and single words are no summary: a slug needs a few words that are not numbers.
    """
    start = url.find("//")
    path = url[url.find("/", start + 2 if start >= 0 else 0) :].split("?", 1)[0].split("#", 1)[0]
    best = max(path.split("/"), key=lambda part: part.count("-") + part.count("_"), default="")
    words = [
        w
        for w in _SLUG_SPLIT.split(_SLUG_EXTENSION.sub("", best))
        if w and not w.isdigit() and len(w) <= _SLUG_MAX_WORD
    ]
    if len(words) < _SLUG_MIN_WORDS:
        return ""
    said = {tok.stem for tok in tokenize(title)}
    fresh = [w.lower() for w in words if stem(fold(w)) not in said]
    return " ".join(fresh) if len(fresh) >= _SLUG_MIN_FRESH else ""


def embedding_text(article: Article) -> str:
    """Headline plus the first sentence (or, without text, the URL slug's words): what the item reports."""
    body = lead(article.text, 200) or slug_words(article.url, article.title)
    return f"{article.title}. {body}" if body and not body.startswith(article.title) else article.title
