"""What every `storywatch` command shares: the two consoles, one-line errors, the store opened and closed.

Kept apart from bot/cli.py so the operations commands (bot.operations.commands) use it without importing
the composition root.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import typer

from bot.config import ConfigError, Settings
from bot.terminal import SafeConsole, labelled

T = TypeVar("T")

# Soft wrap: a long line stays one line in pipes and logs (the demo's summary line is read by tools).
# Every line may carry feed or server text: SafeConsole cleans what each print renders.
out = SafeConsole(soft_wrap=True)
err = SafeConsole(stderr=True, soft_wrap=True)


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit status 1."""


def settings_of(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


def run(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one async command, turning user-fixable errors into one line and exit status 1."""
    from bot.ingest.feed import FeedError
    from bot.ingest.fetch import FetchError
    from bot.store.db import StoreError

    try:
        return asyncio.run(coro_fn())
    except (UserError, StoreError, FetchError, FeedError, ConfigError) as exc:
        err.print(labelled("error:", "red", exc))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def with_store(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    from bot.store import open_store

    store = await open_store(settings.effective_database_url)
    try:
        return await work(store)
    finally:
        await store.close()
