"""The ChatAdapter protocol: how the core talks to a chat platform, and the neutral types it uses.

The protocol belongs to its callers (the runtime, the deliver job), so it lives in the core. An adapter
turns platform events into a CommandRequest, hands it to `on_command`, and renders the Message it gets
back; it sends what the core gives it, already split and trimmed to its Capabilities (see
bot.messages.split_message), escaping feed text for its own markup. It never touches the store or the
story engine: what else it may reach comes as ports (bot.ports) in its AdapterContext.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.clock import Clock
from bot.commands import CommandRequest
from bot.config import Secrets, Settings
from bot.messages import Capabilities, DeliveryError, DeliveryErrorKind, Receipt
from bot.models import Destination, Message, Platform
from bot.ports import AdapterPorts

CommandHandler = Callable[[CommandRequest], Awaitable[Message]]

__all__ = [
    "AdapterContext",
    "AdapterPorts",
    "Capabilities",
    "ChatAdapter",
    "CommandHandler",
    "CommandRequest",
    "DeliveryError",
    "DeliveryErrorKind",
    "Receipt",
]


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """What an adapter package's `create_adapter(context)` gets from the runtime.

    `ports` reach the few platform records kept beside our data (Slack's OAuth installations) and the
    read-only lookups of Discord's autocomplete; commands and deliveries go through `on_command` and `send`.
    """

    settings: Settings
    secrets: Secrets
    ports: AdapterPorts
    clock: Clock


class ChatAdapter(Protocol):
    @property
    def platform(self) -> Platform: ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def start(self, on_command: CommandHandler) -> None:
        """Connect and begin passing commands (and button clicks, as command text) to `on_command`;
        returns once receiving has started."""
        ...

    async def stop(self) -> None:
        """Stop receiving and release connections; safe to call twice."""
        ...

    async def send(self, destination: Destination, message: Message) -> Receipt:
        """Post one message part; raises DeliveryError with the kind the deliver job acts on.

        With `destination.thread` set, post in that thread. `message.metadata` carries the routing of
        bot.messages.routing: a story-threaded alert (`thread` = "story") sent with no thread starts the
        story's thread, and the Receipt's `thread_id` names it for the story's later alerts; `broadcast`
        and `via` = "webhook" ask for the platform's "also send to channel" and webhook posting.
        `metadata["idempotency_key"]` is the part's client id: pass it where the platform dedupes on one.
        `metadata["unsettled"]` = "1": an earlier worker may have posted this part before it died.
        """
        ...
