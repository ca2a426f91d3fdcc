"""Posting one message part with chat.postMessage: its thread, its token, and never twice if we can help it.

Threads: a part sent with `Destination.thread` is a reply there (also shown in the channel when a
story subscription asks for `broadcast`, for the first part only); any other part starts a thread of
its own, its ts returned as the thread later parts and story alerts reply in. When a story's thread
was deleted its alert is refused as `gone` (delivery then starts a new thread); a continuation whose
parent was deleted is posted in the channel instead.

At most once: Slack's chat.postMessage has no idempotency key, so every part carries its key in
Slack message metadata. A part Slack accepted is remembered, so the deliver job re-sending it (its
record was lost) gets the same receipt; and after a doubtful failure (a 5xx, a dropped connection:
Slack may have posted), or when delivery marks a part `unsettled` (a worker died holding it), the
next attempt first looks for the key in the channel's latest messages.
That look needs the channels:history / groups:history scopes; without them the part is posted again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import THREAD_GONE, delivery_error, error_code, network_error
from adapters.slack.render import render
from bot.clock import Clock
from bot.messages import DeliveryError, Receipt
from bot.models import Destination, Message

log = logging.getLogger("storywatch.adapters.slack")

# The metadata event type our parts carry (Slack's message metadata: event_type plus a payload).
METADATA_EVENT = "storywatch_part"
_REMEMBERED = 20_000
# How far before the doubtful attempt the look-up starts, and how many messages it reads.
_LOOKBACK_S = 10.0
# For a part an earlier process may have posted: its lease and retries fit well inside this.
_UNSETTLED_LOOKBACK_S = 6 * 3600.0
_LOOKUP_LIMIT = 100

ClientFor = Callable[[str], Awaitable[AsyncWebClient]]


class Poster:
    def __init__(self, client_for: ClientFor, clock: Clock) -> None:
        self._client_for = client_for
        self._clock = clock
        self._accepted: OrderedDict[str, Receipt] = OrderedDict()
        # Part key -> time (the clock's, as Slack's message ts) of its first attempt whose outcome is unknown.
        self._doubtful: dict[str, float] = {}
        self._history_refused = False

    async def post(self, destination: Destination, message: Message) -> Receipt:
        key = message.metadata.get("idempotency_key")
        if key is not None and key in self._accepted:
            return self._accepted[key]
        client = await self._client_for(destination.workspace)
        since = self._doubtful.get(key) if key is not None else None
        if since is None and key is not None and message.metadata.get("unsettled") == "1":
            # Another process's attempt may have posted it (delivery says so after a lost lease).
            since = self._clock.now().timestamp() - _UNSETTLED_LOOKBACK_S
        if key is not None and since is not None:
            found = await self._find_posted(client, destination, key, since)
            if found is not None:
                log.info("slack part %s was posted before its answer was lost; not posting again", key)
                return self._accept(key, found)
        try:
            receipt = await self._post(client, destination, message, key)
        except SlackApiError as exc:
            if exc.response is not None and exc.response.status_code >= 500:
                self._doubt(key)
            raise delivery_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self._doubt(key)
            raise network_error(exc) from exc
        return self._accept(key, receipt)

    async def _post(
        self, client: AsyncWebClient, destination: Destination, message: Message, key: str | None
    ) -> Receipt:
        arguments = _arguments(destination, message, key)
        try:
            response = await client.chat_postMessage(**arguments)
        except SlackApiError as exc:
            if destination.thread is None or error_code(exc) not in THREAD_GONE:
                raise
            if message.metadata.get("thread") == "story" and _first_part(key):
                # The deliver job forgets the story's thread and sends the alert again to start a new one.
                raise DeliveryError("gone", f"{error_code(exc)}: the story's thread was deleted") from exc
            log.warning(
                "slack thread %s in %s is gone (%s); posting in the channel instead",
                destination.thread,
                destination.channel,
                error_code(exc),
            )
            arguments.pop("thread_ts")
            arguments.pop("reply_broadcast", None)
            response = await client.chat_postMessage(**arguments)
            return Receipt(str(response["ts"]), str(response["ts"]))
        ts = str(response["ts"])
        return Receipt(ts, destination.thread or ts)

    def _accept(self, key: str | None, receipt: Receipt) -> Receipt:
        if key is not None:
            self._doubtful.pop(key, None)
            self._accepted[key] = receipt
            while len(self._accepted) > _REMEMBERED:
                self._accepted.popitem(last=False)
        return receipt

    def _doubt(self, key: str | None) -> None:
        if key is not None and key not in self._doubtful:
            if len(self._doubtful) >= _REMEMBERED:
                self._doubtful.clear()
            # Compared with Slack's message timestamps: in production the clock is wall time.
            self._doubtful[key] = self._clock.now().timestamp()

    async def _find_posted(
        self, client: AsyncWebClient, destination: Destination, key: str, since: float
    ) -> Receipt | None:
        """Our part with this key among the channel's (or thread's) messages since `since`, if there."""
        if self._history_refused:
            return None
        oldest = f"{since - _LOOKBACK_S:.6f}"
        try:
            if destination.thread is not None:
                response = await client.conversations_replies(
                    channel=destination.channel,
                    ts=destination.thread,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=_LOOKUP_LIMIT,
                )
            else:
                response = await client.conversations_history(
                    channel=destination.channel, oldest=oldest, include_all_metadata=True, limit=_LOOKUP_LIMIT
                )
        except SlackApiError as exc:
            if error_code(exc) == "missing_scope":
                self._history_refused = True
                log.warning(
                    "slack: without channels:history/groups:history a doubtful post cannot be checked "
                    "before it is sent again (it may appear twice)"
                )
            return None
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None
        for found in response.get("messages") or ():
            metadata = found.get("metadata") if isinstance(found, dict) else None
            payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
            if isinstance(payload, dict) and payload.get("key") == key:
                ts = str(found["ts"])
                return Receipt(ts, destination.thread or ts)
        return None


def _arguments(destination: Destination, message: Message, key: str | None) -> dict[str, Any]:
    rendered = render(message)
    arguments: dict[str, Any] = {
        "channel": destination.channel,
        "text": rendered.text,
        "unfurl_links": False,
        "unfurl_media": False,
    }
    if rendered.blocks is not None:
        arguments["blocks"] = rendered.blocks
    if key is not None:
        arguments["metadata"] = {"event_type": METADATA_EVENT, "event_payload": {"key": key}}
    if destination.thread is not None:
        arguments["thread_ts"] = destination.thread
        if message.metadata.get("broadcast") == "1" and _first_part(key):
            arguments["reply_broadcast"] = True
    return arguments


def _first_part(key: str | None) -> bool:
    """Whether the part is its message's first: delivery's keys end in `#<part index>`."""
    return key is None or "#" not in key or key.rpartition("#")[2] == "0"


def missing_workspace(workspace: str) -> DeliveryError:
    return DeliveryError(
        "forbidden",
        f"team_access_not_granted: the app is not installed in workspace {workspace}; install it again",
    )
