"""Full-text search over articles: SQLite FTS5 or a PostgreSQL tsvector, ranked alike.

Both index title and text with a plain tokenizer (lower-cased words, no stemming, no stop words);
every word must match; title hits weigh more; ties go to the newest article. On PostgreSQL, lower-casing
of non-ASCII letters follows the database's LC_CTYPE, so create it with a UTF-8 locale.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, column, func, literal_column, table, text

from bot.models import Article
from bot.store.articles import article_from_row, articles_with_source_name
from bot.store.db import Db, Store, reading
from bot.store.schema import articles

# Letters and digits only: both tokenizers split at underscores and punctuation.
_WORD = re.compile(r"[^\W_]+")
_fts = table("articles_fts", column("rowid"))


def search_terms(words: str | Sequence[str]) -> list[str]:
    """The words of a query, lower-cased, punctuation dropped (so no query syntax reaches the index)."""
    raw = words if isinstance(words, str) else " ".join(words)
    return _WORD.findall(raw.lower())


async def search_articles(db: Db, words: str | Sequence[str], limit: int = 20) -> list[Article]:
    """Articles containing all `words`, best match first, then newest."""
    terms = search_terms(words)
    if not terms or limit <= 0:
        return []
    async with reading(db) as conn:
        if conn.dialect.name == "sqlite":
            # Each term quoted: FTS5 then reads it as a plain word, never as an operator.
            match = " ".join(f'"{term}"' for term in terms)
            query = (
                articles_with_source_name()
                .join(_fts, _fts.c.rowid == articles.c.id)
                .where(text("articles_fts MATCH :match").bindparams(match=match))
                .order_by(
                    text("bm25(articles_fts, 4.0, 1.0)"), articles.c.published.desc(), articles.c.id.desc()
                )
                .limit(limit)
            )
        else:
            tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), " & ".join(terms))
            vector: ColumnElement[Any] = literal_column("articles.search_vector")
            # Normalisation 1 divides by log(length), as bm25 discounts long documents.
            rank = func.ts_rank(vector, tsquery, 1)
            query = (
                articles_with_source_name()
                .where(vector.op("@@")(tsquery))
                .order_by(rank.desc(), articles.c.published.desc(), articles.c.id.desc())
                .limit(limit)
            )
        return [article_from_row(row) for row in await conn.execute(query)]


async def rebuild_search_index(store: Store) -> None:
    """Rebuild the full-text index from the articles table (the repair for a failed check)."""
    async with store.write() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
        else:
            await conn.exec_driver_sql("REINDEX INDEX ix_articles_search_vector")
