"""Slack Web API clients: pointed at `[slack] api_url`, with the retries each kind of call can afford.

Reads (auth.test, users.info, conversations.info) retry a dropped connection and a short rate limit.
Posts retry only a 429 (Slack posted nothing) and only when Slack asks for a short wait: a longer one,
a 5xx or a dropped connection goes back to the deliver job, which paces the channel and, for the
doubtful cases, lets the poster look before it posts again (see posting.py).
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import retry_after

log = logging.getLogger("storywatch.adapters.slack")

# Longer waits than this are the deliver job's to keep (it holds the channel, not a sender).
MAX_IN_CALL_WAIT_S = 5.0
POST_TIMEOUT_S = 15


class ShortRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry (sleeps Retry-After, then tries again), for short waits only."""

    def __init__(self, max_retry_count: int = 1, max_wait_s: float = MAX_IN_CALL_WAIT_S) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_s = max_wait_s

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after(response.headers)
        return wait is None or wait <= self.max_wait_s


def reading_client(base_url: str) -> AsyncWebClient:
    """The client bolt and our lookups use: reads are safe to repeat."""
    handlers: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ShortRateLimitRetry(max_retry_count=2),
    ]
    return AsyncWebClient(base_url=base_url, retry_handlers=handlers, logger=log)


def posting_client(token: str, base_url: str, session: aiohttp.ClientSession | None) -> AsyncWebClient:
    """A client for chat.postMessage: a repeated post is a doubled message, so only 429s are retried."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,
        timeout=POST_TIMEOUT_S,
        retry_handlers=[ShortRateLimitRetry(max_retry_count=1)],
        logger=log,
    )
