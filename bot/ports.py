"""The ports an adapter is given instead of the store: read-only lookups and Slack's OAuth installations.

Plain Protocols over plain values, with no store type in them: an adapter depends on what it uses, and
the store implements them (bot.store.ports) without importing anything above it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.models import Destination, Subscription, Topic


@dataclass(frozen=True, slots=True)
class InstallationKey:
    """Where a Slack installation belongs: the app (client id), the org and the workspace."""

    client_id: str
    enterprise_id: str | None
    team_id: str | None
    is_enterprise_install: bool = False

    @property
    def team(self) -> str:
        # An org-wide install belongs to no single workspace.
        return "" if self.is_enterprise_install else (self.team_id or "")

    @property
    def enterprise(self) -> str:
        return self.enterprise_id or ""


class ChoiceLookups(Protocol):
    """What an adapter may read to suggest options as people type (Discord's autocomplete)."""

    async def list_topics(self) -> Sequence[Topic]: ...

    async def list_subscriptions(self, destination: Destination) -> Sequence[Subscription]: ...


class SlackInstallationStore(Protocol):
    """Slack OAuth installations (multi-workspace mode): the rows behind bolt's installation store."""

    async def save(
        self,
        key: InstallationKey,
        *,
        user_id: str,
        bot_token: str | None,
        data: Mapping[str, Any],
        now: datetime,
    ) -> None:
        """Keep an installation, replacing this installer's earlier one in the same workspace."""
        ...

    async def find(
        self, key: InstallationKey, *, user_id: str | None = None, with_bot_token: bool = False
    ) -> dict[str, Any] | None:
        """The installation's data: `user_id`'s, else the newest (with a bot token if asked), or None."""
        ...

    async def delete(self, key: InstallationKey, *, user_id: str | None = None) -> int:
        """Forget the workspace's installations (only `user_id`'s if given); how many went."""
        ...

    async def bot_token(self, client_id: str, team_id: str) -> str | None:
        """The newest bot token that reaches workspace `team_id`, or None."""
        ...


@dataclass(frozen=True, slots=True)
class AdapterPorts:
    """The core's parts an adapter may reach besides `on_command` and `send`."""

    lookups: ChoiceLookups
    slack_installations: SlackInstallationStore
