"""The ChatAdapter protocol: how the core talks to a chat platform, and the neutral types it uses.

An adapter turns platform events into a CommandRequest, hands it to `on_command`, and renders the
Message it gets back; it sends what the core gives it, already split and trimmed to its Capabilities
(see bot.messages.split_message), escaping feed text for its own markup. It never touches the store
or the story engine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.commands import CommandRequest
from bot.messages import Capabilities, DeliveryError, DeliveryErrorKind, Receipt
from bot.models import Destination, Message, Platform

CommandHandler = Callable[[CommandRequest], Awaitable[Message]]

__all__ = [
    "Capabilities",
    "ChatAdapter",
    "CommandHandler",
    "CommandRequest",
    "DeliveryError",
    "DeliveryErrorKind",
    "Receipt",
]


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
        """Post one message part; raises DeliveryError with the kind the deliver job acts on."""
        ...
