"""What sending a Message gives back: a Receipt, or a typed DeliveryError the jobs can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DeliveryErrorKind = Literal["retry", "gone", "forbidden", "invalid"]


@dataclass(frozen=True, slots=True)
class Receipt:
    """The platform's id of a sent message, and the thread that replies to it belong to."""

    message_id: str
    # The thread the message is in, or the one it starts; None where the platform has no threads.
    thread_id: str | None = None


class DeliveryError(Exception):
    """Why a send failed, in the terms the deliver job decides on.

    - retry: transient (rate limit, server error, network); try again after `retry_after` seconds if given.
    - gone: the channel or thread no longer exists; stop sending there.
    - forbidden: the bot lost access (kicked, missing scope); pause the subscription with `reason`.
    - invalid: the platform rejected the message itself; retrying the same message cannot help.
    """

    def __init__(self, kind: DeliveryErrorKind, reason: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind: DeliveryErrorKind = kind
        self.reason = reason
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[type[DeliveryError], tuple[DeliveryErrorKind, str, float | None]]:
        return (DeliveryError, (self.kind, self.reason, self.retry_after))
