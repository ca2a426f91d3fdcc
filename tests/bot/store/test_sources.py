from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.store import Store
from bot.store.sources import (
    SourceExistsError,
    SourceNotFoundError,
    add_source,
    backoff_delay_s,
    claim_due_sources,
    disable_source,
    enable_source,
    get_source,
    get_source_by_url,
    get_source_status,
    list_source_statuses,
    list_sources,
    next_poll_time,
    record_poll_failure,
    record_poll_success,
    remove_source,
)

FEED = "https://feeds.example/world.xml"


async def test_add_get_list_remove(store: Store, t0: datetime) -> None:
    source = await add_source(store, FEED, now=t0, title="World", poll_interval_s=600)
    assert source.id > 0 and source.url == FEED and source.title == "World"
    assert source.next_poll_at == t0 and not source.primed and not source.disabled
    assert await get_source(store, source.id) == source
    assert await get_source_by_url(store, FEED) == source
    other = await add_source(store, "https://feeds.example/b.xml", now=t0)
    assert [s.id for s in await list_sources(store)] == [source.id, other.id]
    assert await remove_source(store, source.id)
    assert not await remove_source(store, source.id)
    assert await get_source(store, source.id) is None
    assert [s.id for s in await list_sources(store)] == [other.id]


async def test_duplicate_url_is_refused_clearly(store: Store, t0: datetime) -> None:
    first = await add_source(store, FEED, now=t0)
    with pytest.raises(SourceExistsError, match=r"already a source \(#\d+\)") as caught:
        await add_source(store, FEED, now=t0)
    assert caught.value.existing_id == first.id
    assert len(await list_sources(store)) == 1


async def test_poll_success_stores_validators_and_schedules(store: Store, t0: datetime) -> None:
    source = await add_source(store, FEED, now=t0, poll_interval_s=600)
    later = t0 + timedelta(minutes=1)
    after = await record_poll_success(
        store,
        source.id,
        now=later,
        etag='"v1"',
        last_modified="Mon, 29 Sep 2025 07:00:00 GMT",
        title="World News",
    )
    assert after.etag == '"v1"' and after.last_modified == "Mon, 29 Sep 2025 07:00:00 GMT"
    assert after.primed and after.title == "World News" and after.last_polled_at == later
    assert after.next_poll_at == later + timedelta(seconds=600)
    # A 304 sends no validators: the stored ones stay.
    again = await record_poll_success(store, source.id, now=later + timedelta(minutes=10))
    assert again.etag == '"v1"' and again.last_modified == after.last_modified


async def test_permanent_redirect_moves_the_url_unless_taken(store: Store, t0: datetime) -> None:
    source = await add_source(store, FEED, now=t0)
    moved = await record_poll_success(store, source.id, now=t0, new_url="https://feeds.example/new.xml")
    assert moved.url == "https://feeds.example/new.xml"
    other = await add_source(store, "https://feeds.example/other.xml", now=t0)
    kept = await record_poll_success(store, other.id, now=t0, new_url="https://feeds.example/new.xml")
    assert kept.url == "https://feeds.example/other.xml"
    assert kept.last_error is not None and f"#{source.id}" in kept.last_error


async def test_failures_back_off_exponentially_then_disable(store: Store, t0: datetime) -> None:
    source = await add_source(store, FEED, now=t0, poll_interval_s=60)
    now = t0
    delays = []
    for attempt in range(1, 5):
        failed = await record_poll_failure(
            store, source.id, now=now, error="HTTP 500", backoff_max_s=300, disable_after=5
        )
        assert failed.consecutive_failures == attempt and failed.last_error == "HTTP 500"
        assert not failed.disabled
        assert failed.next_poll_at is not None
        delays.append((failed.next_poll_at - now).total_seconds())
        now = failed.next_poll_at
    assert delays == [60, 120, 240, 300]
    last = await record_poll_failure(
        store, source.id, now=now, error="timeout", backoff_max_s=300, disable_after=5
    )
    assert last.disabled and last.consecutive_failures == 5
    status = await get_source_status(store, source.id)
    assert status is not None and status.disabled_at == now
    assert status.disabled_reason == "5 failed polls in a row; last: timeout"
    # Disabled sources are never due.
    assert await claim_due_sources(store, now + timedelta(days=1), "w", 60, 10) == []
    # Re-enabling clears the count and makes it due at once; a success resets failures too.
    enabled = await enable_source(store, source.id, now=now)
    assert not enabled.disabled and enabled.consecutive_failures == 0 and enabled.next_poll_at == now
    await record_poll_failure(store, source.id, now=now, error="x")
    ok = await record_poll_success(store, source.id, now=now)
    assert ok.consecutive_failures == 0 and ok.last_error is None


async def test_retry_after_delays_at_least_that_long(store: Store, t0: datetime) -> None:
    source = await add_source(store, FEED, now=t0, poll_interval_s=60)
    failed = await record_poll_failure(store, source.id, now=t0, error="HTTP 429", retry_after_s=3600)
    assert failed.next_poll_at == t0 + timedelta(hours=1)


def test_backoff_delay_is_capped() -> None:
    assert [backoff_delay_s(900, n, 6 * 3600) for n in (1, 2, 3, 5, 6, 500)] == [
        900, 1800, 3600, 14400, 21600, 21600,
    ]  # fmt: skip


async def test_disable_keeps_reason(store: Store, t0: datetime) -> None:
    source = await add_source(store, FEED, now=t0)
    disabled = await disable_source(store, source.id, now=t0, reason="HTTP 410 Gone")
    assert disabled.disabled
    statuses = await list_source_statuses(store)
    assert statuses[0].disabled_reason == "HTTP 410 Gone"
    assert await list_sources(store, include_disabled=False) == []


async def test_unknown_source_raises(store: Store, t0: datetime) -> None:
    with pytest.raises(SourceNotFoundError):
        await record_poll_success(store, 12345, now=t0)
    with pytest.raises(SourceNotFoundError):
        await record_poll_failure(store, 12345, now=t0, error="x")


async def test_claim_due_sources_leases(store: Store, t0: datetime) -> None:
    a = await add_source(store, "https://feeds.example/a.xml", now=t0)
    b = await add_source(store, "https://feeds.example/b.xml", now=t0 + timedelta(minutes=5))
    c = await add_source(store, "https://feeds.example/c.xml", now=t0 + timedelta(hours=1))
    claimed = await claim_due_sources(store, t0 + timedelta(minutes=10), "worker-1", 120, 10)
    assert [s.id for s in claimed] == [a.id, b.id]
    # Leased: nobody else gets them while the lease runs.
    assert await claim_due_sources(store, t0 + timedelta(minutes=11), "worker-2", 120, 10) == []
    # Finishing a poll frees the lease and reschedules.
    await record_poll_success(store, a.id, now=t0 + timedelta(minutes=11))
    # A dead worker's lease expires and the source is claimed again.
    later = t0 + timedelta(minutes=13)
    again = await claim_due_sources(store, later, "worker-2", 120, 10)
    assert [s.id for s in again] == [b.id]
    status = await get_source_status(store, b.id)
    assert status is not None and status.lease_owner == "worker-2"
    assert status.lease_until == later + timedelta(seconds=120)
    assert await next_poll_time(store, later) == later + timedelta(seconds=120)
    assert c.id not in [s.id for s in again]


async def test_claim_respects_limit(store: Store, t0: datetime) -> None:
    for n in range(5):
        await add_source(store, f"https://feeds.example/{n}.xml", now=t0)
    first = await claim_due_sources(store, t0, "w1", 60, 2)
    second = await claim_due_sources(store, t0, "w2", 60, 10)
    assert len(first) == 2 and len(second) == 3
    assert not {s.id for s in first} & {s.id for s in second}


async def test_remove_source_keeps_its_articles(store: Store, t0: datetime) -> None:
    from bot.store.articles import get_article, save_articles
    from tests.bot.store.conftest import make_article

    source = await add_source(store, FEED, now=t0)
    result = await save_articles(store, source.id, [make_article(1)], now=t0)
    await remove_source(store, source.id)
    kept = await get_article(store, result.saved[0].id or 0)
    assert kept is not None and kept.source_id == 0


async def test_many_not_modified_answers_in_one_call(store: Store, t0: datetime) -> None:
    from bot.store.sources import record_not_modified_many

    a = await add_source(store, "https://feeds.example/a.xml", now=t0, poll_interval_s=60)
    b = await add_source(store, "https://feeds.example/b.xml", now=t0, poll_interval_s=120)
    await record_poll_failure(store, a.id, now=t0, error="HTTP 500")
    claimed = await claim_due_sources(store, t0 + timedelta(hours=1), "w", 60, 10)
    later = t0 + timedelta(hours=1)
    done = await record_not_modified_many(
        store, [(s, "https://feeds.example/moved.xml" if s.id == b.id else None) for s in claimed], now=later
    )
    assert {s.id for s in done} == {a.id, b.id}
    after_a, after_b = await get_source(store, a.id), await get_source(store, b.id)
    assert after_a is not None and after_a.consecutive_failures == 0 and after_a.last_error is None
    assert after_a.next_poll_at == later + timedelta(seconds=60)
    assert after_b is not None and after_b.url == "https://feeds.example/moved.xml"
    assert await claim_due_sources(store, later, "w2", 60, 10) == []
