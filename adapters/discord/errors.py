"""Discord's answers to a send, in the terms the deliver job acts on (retry, gone, forbidden, invalid).

A pause reason is shown to people in `/story list`, so it says what is wrong and what fixes it.
"""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from bot.messages import DeliveryError

# Discord JSON error codes (developers/topics/opcodes-and-status-codes).
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
MAX_WEBHOOKS = 30007
TAG_REQUIRED = 40067
MISSING_ACCESS = 50001
NOT_A_TEXT_CHANNEL = 50008
MISSING_PERMISSIONS = 50013
INVALID_FORM_BODY = 50035
ARCHIVED_THREAD = 50083
THREAD_EXISTS = 160004
THREAD_LOCKED = 160005
MAX_ACTIVE_THREADS = 160006

AGAIN = "then subscribe again"
_FORBIDDEN = {
    MISSING_ACCESS: f"the bot cannot see this channel (Missing Access): give it View Channel here, {AGAIN}",
    MISSING_PERMISSIONS: (
        "the bot lacks a permission here (Missing Permissions): it needs Send Messages, Embed Links, "
        f"Send Messages in Threads and Create Public Threads (Manage Webhooks for webhook delivery), {AGAIN}"
    ),
    TAG_REQUIRED: f"this forum requires a tag on every post: turn that off, {AGAIN}",
    MAX_WEBHOOKS: f"this channel has the most webhooks Discord allows: delete one, {AGAIN}",
    NOT_A_TEXT_CHANNEL: f"the bot cannot post in this kind of channel: use a text or forum channel, {AGAIN}",
}
# Thread states that need a new thread, not a paused channel.
THREAD_ENDED = frozenset({UNKNOWN_CHANNEL, ARCHIVED_THREAD, THREAD_LOCKED})
# Transport failures worth another try (the platform may not have seen the request at all).
_NETWORK = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


def delivery_error(exc: Exception) -> DeliveryError:
    """The DeliveryError for a failed Discord call; anything not recognised is worth a retry."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, discord.RateLimited):
        return DeliveryError("retry", f"rate limited for {exc.retry_after:.0f} s", exc.retry_after)
    if not isinstance(exc, discord.HTTPException):
        if isinstance(exc, _NETWORK):
            return DeliveryError("retry", f"network: {type(exc).__name__}: {exc}")
        return DeliveryError("retry", f"{type(exc).__name__}: {exc}")
    code = exc.code
    if exc.status == 429:
        return DeliveryError("retry", "rate limited (429)", _retry_after(exc))
    if exc.status >= 500:
        return DeliveryError("retry", f"Discord server error {exc.status}")
    if code in _FORBIDDEN:
        return DeliveryError("forbidden", _FORBIDDEN[code])
    if isinstance(exc, discord.Forbidden):
        return DeliveryError("forbidden", f"Discord refused (403, code {code}): {exc.text[:120]}; {AGAIN}")
    if code == UNKNOWN_CHANNEL or isinstance(exc, discord.NotFound):
        return DeliveryError("gone", f"the channel no longer exists (code {code}); subscribe another channel")
    if code == MAX_ACTIVE_THREADS:
        return DeliveryError("retry", "the server has the most active threads Discord allows", 3600.0)
    return DeliveryError(
        "invalid", f"Discord rejected the message ({exc.status}, code {code}): {exc.text[:200]}"
    )


def thread_refused(exc: discord.HTTPException) -> str:
    """Why a story thread could not be started, for `list`."""
    return (
        f"the bot cannot start story threads here (code {exc.code}): give it Create Public Threads "
        "and subscribe again, or subscribe again with threaded: False"
    )


def error_code(exc: BaseException) -> int | None:
    return exc.code if isinstance(exc, discord.HTTPException) else None


def _retry_after(exc: discord.HTTPException) -> float | None:
    response = exc.response
    headers = getattr(response, "headers", None)
    raw = headers.get("Retry-After") if headers is not None else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
