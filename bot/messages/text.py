"""Text helpers for building messages: ellipsis trimming at word boundaries, one-line text, local times."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.messages.capabilities import utf16_len

ELLIPSIS = "…"
_SPACES = re.compile(r"\s+")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def truncate(text: str, limit: int, measure: Callable[[str], int] = utf16_len) -> str:
    """`text` if it measures at most `limit`, else its longest fitting prefix plus an ellipsis.

    The cut moves back to the last whitespace when that loses at most a third of the prefix, so words
    are not split unless a single word is most of the room.
    """
    if measure(text) <= limit:
        return text
    if measure(ELLIPSIS) > limit:
        return ""
    # Binary search works because every measure we use grows with the prefix.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle] + ELLIPSIS) <= limit:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    if low < len(text) and not text[low].isspace():
        boundary = _last_space(cut)
        if boundary > 0 and boundary >= low * 2 // 3:
            cut = cut[:boundary]
    return cut.rstrip() + ELLIPSIS


def _last_space(text: str) -> int:
    for index in range(len(text) - 1, -1, -1):
        if text[index].isspace():
            return index
    return -1


def one_line(text: str) -> str:
    """Whitespace runs (newlines included) collapsed to one space: feed titles often carry line breaks."""
    return _SPACES.sub(" ", text).strip()


def clip(text: str, limit: int) -> str:
    """One line, length-capped: how builders take untrusted feed text into a message."""
    return truncate(one_line(text), limit)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The named time zone, or UTC if the name is unknown (subscriptions are validated when made)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_local(when: datetime, timezone: str, *, with_year: bool = True) -> str:
    """`3 Mar 2026 14:05 KST` in the given zone; month names fixed so output does not depend on locale."""
    local = when.astimezone(zone(timezone))
    day = f"{local.day} {_MONTHS[local.month - 1]}"
    if with_year:
        day += f" {local.year}"
    return f"{day} {local:%H:%M} {local.tzname() or timezone}"


def format_date(when: datetime, timezone: str) -> str:
    local = when.astimezone(zone(timezone))
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"
