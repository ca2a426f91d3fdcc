"""Helpers shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.models import Article

T0 = datetime(2025, 9, 29, 8, 0, tzinfo=UTC)


def make_article(n: int, *, source_id: int = 0, text: str | None = None, **changes: object) -> Article:
    fields: dict[str, object] = {
        "url": f"https://news.example/{n}",
        "title": f"Headline number {n}",
        "text": text if text is not None else f"Body {n} " + " ".join(f"word{n}x{i}" for i in range(30)),
        "published": T0,
        "source_id": source_id,
        "item_key": f"item-{n}",
    }
    fields.update(changes)
    return Article(**fields)  # type: ignore[arg-type]


@pytest.fixture
def t0() -> datetime:
    return T0
