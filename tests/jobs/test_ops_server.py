"""The ops server on its own, over loopback with a real store: the allow-list (403 to anyone else), the
scheduler's liveness in /healthz, and /metrics in both exposition formats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families

from bot.clock import ManualClock
from bot.config import ConfigError, IngestSettings, MetricsSettings, load_settings
from bot.ingest.errors import POLL_ERROR_KINDS
from bot.ingest.fetch import Fetcher, FetchError
from bot.store import Store, open_store
from jobs.liveness import Liveness
from jobs.metrics import PrometheusMetrics
from jobs.ops_server import OpsServer
from jobs.scheduler import Jobs
from tests.fakes.feed_server import FeedServer
from tests.jobs.ops_helpers import get, parse, value

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'storywatch.sqlite'}")
    try:
        yield store
    finally:
        await store.close()


async def started(store: Store, liveness: Liveness, **settings: object) -> OpsServer:
    chosen = MetricsSettings.model_validate({"enabled": True, "port": 0, **settings})
    server = OpsServer(chosen, store, ManualClock(NOW), PrometheusMetrics(), liveness)
    await server.start()
    return server


def running_liveness(ticks: Ticks | None = None) -> Liveness:
    liveness = Liveness(ticks or Ticks())
    liveness.expect("poll", every_s=5, may_run_s=300)
    liveness.expect("deliver", every_s=1)
    liveness.scheduler_started()
    return liveness


@pytest.mark.parametrize(
    ("allow", "client", "answered"),
    [
        (["127.0.0.1/32"], None, True),
        (["127.0.0.1/32"], "127.0.0.2", False),
        (["127.0.0.2"], None, False),
        (["127.0.0.2"], "127.0.0.2", True),
        (["10.0.0.0/8", "::1"], None, False),
    ],
)
async def test_only_allowed_addresses_get_an_answer(
    sqlite_store: Store, allow: list[str], client: str | None, answered: bool
) -> None:
    server = await started(sqlite_store, running_liveness(), allow=allow)
    try:
        health = await get(server.port, "/healthz", source=client)
        metrics = await get(server.port, "/metrics", source=client)
        elsewhere = await get(server.port, "/nothing-here", source=client)
    finally:
        await server.stop()
    if answered:
        assert (health[0], metrics[0], elsewhere[0]) == (200, 200, 404)
        assert value(parse(metrics[1]), "storywatch_store_up") == 1
    else:
        assert health == metrics == elsewhere == (403, "forbidden\n")


async def test_healthz_says_which_job_went_quiet_and_when_the_scheduler_stopped(sqlite_store: Store) -> None:
    ticks = Ticks()
    liveness = running_liveness(ticks)
    server = await started(sqlite_store, liveness)
    try:
        answers = []
        # Within 2 × 5 s + a pass's 300 s + 60 s of grace, the poll job may stay quiet (a long pass).
        ticks.now += 369
        liveness.beat("deliver")
        answers.append(await get(server.port, "/healthz"))
        ticks.now += 2
        liveness.beat("deliver")
        liveness.started("poll")
        answers.append(await get(server.port, "/healthz"))
        ticks.now += 371
        answers.append(await get(server.port, "/healthz"))
        liveness.finished("poll")
        liveness.beat("deliver")
        answers.append(await get(server.port, "/healthz"))
        metrics_up = value(parse((await get(server.port, "/metrics"))[1]), "storywatch_scheduler_up")
        liveness.scheduler_stopped()
        answers.append(await get(server.port, "/healthz"))
        metrics_down = value(parse((await get(server.port, "/metrics"))[1]), "storywatch_scheduler_up")
    finally:
        await server.stop()
    assert [status for status, _ in answers] == [200, 200, 503, 200, 503]
    assert "job poll: no sign of life for 371 s (running for 371 s; runs every 5 s)" in answers[2][1]
    assert "job deliver: no sign of life for 371 s (not running; runs every 1 s)" in answers[2][1]
    assert '"problems": ["scheduler stopped"]' in answers[4][1]
    assert (metrics_up, metrics_down) == (1, 0)


async def test_metrics_speak_openmetrics_when_asked(sqlite_store: Store) -> None:
    server = await started(sqlite_store, running_liveness())
    try:
        status, text = await get(
            server.port, "/metrics", Accept="application/openmetrics-text; version=1.0.0; charset=utf-8"
        )
    finally:
        await server.stop()
    assert status == 200
    families = {family.name: family for family in openmetrics_families(text)}
    assert families["storywatch_polls"].type == "counter"
    assert [s.value for s in families["storywatch_store_up"].samples] == [1]


async def test_a_port_in_use_is_a_clear_configuration_error(sqlite_store: Store) -> None:
    first = await started(sqlite_store, running_liveness())
    try:
        with pytest.raises(ConfigError, match=rf"metrics: cannot listen on 127.0.0.1:{first.port} \("):
            await started(sqlite_store, running_liveness(), port=first.port)
    finally:
        await first.stop()


async def test_fetch_errors_carry_their_kind_from_the_real_fetcher() -> None:
    settings = IngestSettings(
        allowed_private_hosts=("127.0.0.1",), max_body_bytes=1000, timeout_s=0.5, politeness_delay_s=0
    )
    kinds = {}
    async with FeedServer() as server:
        server.add("/big.xml", b"x" * 5000)
        server.slow("/slow.xml", b"x" * 100, chunk=1, interval=0.2)
        server.redirect("/loop.xml", "/loop.xml")
        async with Fetcher(settings, ManualClock(NOW)) as fetcher:
            for path in ("/big.xml", "/slow.xml", "/loop.xml"):
                with pytest.raises(FetchError) as caught:
                    await fetcher.fetch(server.url(path))
                kinds[path] = caught.value.kind
        async with Fetcher(IngestSettings(), ManualClock(NOW)) as guarded:
            with pytest.raises(FetchError) as caught:
                await guarded.fetch(server.url("/big.xml"))
            kinds["loopback"] = caught.value.kind
    assert kinds == {
        "/big.xml": "too_large",
        "/slow.xml": "timeout",
        "/loop.xml": "redirect",
        "loopback": "refused",
    }
    assert set(kinds.values()) <= set(POLL_ERROR_KINDS)


def test_metrics_settings_default_off_on_loopback_and_read_from_the_environment(tmp_path: Path) -> None:
    defaults = load_settings(None, env={}).metrics
    assert (defaults.enabled, defaults.host, defaults.allow) == (False, "127.0.0.1", ("127.0.0.0/8", "::1"))
    config = tmp_path / "storywatch.toml"
    config.write_text('[metrics]\nport = 9500\nallow = ["192.0.2.7"]\n', encoding="utf-8")
    env = {"STORYWATCH_METRICS__ENABLED": "true", "STORYWATCH_METRICS__ALLOW": "127.0.0.1, 10.0.0.0/8"}
    chosen = load_settings(config, env=env).metrics
    assert (chosen.enabled, chosen.port, chosen.allow) == (True, 9500, ("127.0.0.1", "10.0.0.0/8"))
    config.write_text('[metrics]\nallow = ["localhost"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"metrics\.allow: .*not an IP address or network: 'localhost'"):
        load_settings(config, env={})


async def test_healthz_goes_unhealthy_when_every_run_of_a_job_fails_past_the_allowed_time(
    sqlite_store: Store,
) -> None:
    ticks = Ticks()
    liveness = Liveness(ticks, failing_s=500)
    liveness.expect("poll", every_s=5, may_run_s=300)
    liveness.scheduler_started()
    jobs = Jobs(AsyncIOScheduler(), None, None, liveness)
    outcome = {"fail": True}

    async def poll() -> None:
        if outcome["fail"]:
            raise ConnectionResetError("feed text \\x1b[31m not echoed")

    run = jobs.guarded("poll", poll)
    server = await started(sqlite_store, liveness)
    try:
        answers = []
        # It runs on time, but every run raises: alive for 500 s, then not.
        for _ in range(2):
            await run()
            ticks.now += 300
            answers.append(await get(server.port, "/healthz"))
        # One run that ends well is enough.
        outcome["fail"] = False
        await run()
        answers.append(await get(server.port, "/healthz"))
    finally:
        await server.stop()
    assert [status for status, _ in answers] == [200, 503, 200]
    assert (
        "job poll: every run failed for 600 s (last: ConnectionResetError; runs every 5 s)" in answers[1][1]
    )
    assert "x1b" not in answers[1][1]
