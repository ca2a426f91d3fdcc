"""When a subscription's digest is due: a period is a local date in its time zone, due at `digest_at` on
that date there (zoneinfo, so DST moves nothing but the UTC instant, and the host's zone plays no part).

The digest job asks for the latest period due; `storywatch status` for the next one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.messages.text import zone
from bot.models import Subscription

# Days `status` looks ahead for the next period not yet run (a run is recorded per local date, YYYY-MM-DD).
_LOOKAHEAD_DAYS = 3


def due_at(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of `at` on `day` in `tz` (a time skipped by DST falls just after the gap)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def latest_period(subscription: Subscription, now: datetime) -> tuple[str, datetime] | None:
    """The latest period due at or before `now`: (local date, due instant), or None for an unknown zone."""
    try:
        tz = ZoneInfo(subscription.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    today = now.astimezone(tz).date()
    for day in (today, today - timedelta(days=1), today - timedelta(days=2)):
        due = due_at(day, subscription.digest_at, tz)
        if due <= now:
            return day.isoformat(), due
    return None


def next_digest_at(subscription: Subscription, now: datetime, done: frozenset[str] = frozenset()) -> datetime:
    """The next time the subscription's local digest time comes round after `now`, skipping days in `done`
    (an unknown zone counts as UTC)."""
    tz = zone(subscription.timezone)
    day = now.astimezone(tz).date()
    for offset in range(_LOOKAHEAD_DAYS + len(done)):
        date_ = day + timedelta(days=offset)
        at = due_at(date_, subscription.digest_at, tz)
        if at > now and date_.isoformat() not in done:
            return at
    return due_at(day + timedelta(days=_LOOKAHEAD_DAYS + len(done)), subscription.digest_at, tz)
