"""Finding the original of a syndicated copy: recent articles from other sources within 3 simhash bits.

Four expression indexes (migration 0002) hold the fingerprints' 16-bit bands; two prints within 3
bits share at least one band (pigeonhole), so one indexed lookup finds every candidate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BigInteger, ColumnElement, bindparam, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.fingerprint import BAND_BITS, BANDS, SYNDICATION_MAX_DISTANCE, bands, hamming
from bot.store.schema import articles


def fingerprint_band(band: int) -> ColumnElement[int]:
    """Band `band` of articles.fingerprint, spelt exactly as its expression index is."""
    mask: ColumnElement[int] = literal_column("65535", BigInteger)
    if band == 0:
        return articles.c.fingerprint.op("&", return_type=BigInteger)(mask)
    # Literal shift counts: PostgreSQL has bigint >> integer but no bigint >> bigint.
    shift: ColumnElement[int] = literal_column(str(band * BAND_BITS), BigInteger)
    return articles.c.fingerprint.op(">>", return_type=BigInteger)(shift).op("&", return_type=BigInteger)(
        mask
    )


# Built once: SQLAlchemy then reuses its compiled form for every batch.
_CANDIDATES = select(articles.c.id, articles.c.original_id, articles.c.fingerprint).where(
    or_(*(fingerprint_band(i).in_(bindparam(f"band{i}", expanding=True)) for i in range(BANDS))),
    articles.c.fetched_at >= bindparam("since"),
    or_(articles.c.source_id.is_(None), articles.c.source_id != bindparam("source_id")),
)


async def find_originals(
    conn: AsyncConnection, source_id: int, prints: Sequence[int], since: datetime
) -> list[int | None]:
    """For each fingerprint, the root original (another source's article fetched since `since`), or None."""
    if not prints:
        return []
    print_bands = [bands(p) for p in prints]
    params: dict[str, object] = {f"band{i}": sorted({b[i] for b in print_bands}) for i in range(BANDS)}
    params.update(since=since, source_id=source_id)
    by_band: defaultdict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for row in await conn.execute(_CANDIDATES, params):
        for i, value in enumerate(bands(row.fingerprint)):
            by_band[(i, value)].append((row.id, row.original_id or row.id, row.fingerprint))
    matches: list[int | None] = []
    for value, own_bands in zip(prints, print_bands, strict=True):
        best: tuple[int, int] | None = None
        for i, band in enumerate(own_bands):
            for _cand_id, root, fingerprint in by_band.get((i, band), ()):
                distance = hamming(value, fingerprint)
                # Nearest first, then the oldest root, so copies of copies all point at one article.
                if distance <= SYNDICATION_MAX_DISTANCE and (best is None or (distance, root) < best):
                    best = (distance, root)
        matches.append(best[1] if best else None)
    return matches
