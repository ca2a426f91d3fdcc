"""Shared by the ops tests: scraping /metrics over loopback with the real prometheus-client parser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def get(port: int, path: str, *, source: str | None = None, **headers: str) -> tuple[int, str]:
    """GET http://127.0.0.1:port/path, from `source` (another loopback address) when given."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0)) if source else None
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"http://127.0.0.1:{port}{path}", headers=headers) as response,
    ):
        return response.status, await response.text()


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape(port: int) -> Samples:
    status, text = await get(port, "/metrics")
    assert status == 200, text
    return parse(text)


async def scrape_until(port: int, done: Callable[[Samples], Any], *, within_s: float = 60.0) -> Samples:
    """Scrape until `done(samples)` holds (the jobs run on their own schedule); fail after `within_s`."""
    samples: Samples = {}
    try:
        async with asyncio.timeout(within_s):
            while True:
                samples = await scrape(port)
                if done(samples):
                    return samples
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"not reached within {within_s} s; last scrape: {samples}") from None
