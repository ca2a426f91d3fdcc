"""The adapters' ports (bot.ports) on the store: built by the composition root, handed to the adapters."""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import Destination, Subscription, Topic
from bot.ports import AdapterPorts
from bot.store.db import Db
from bot.store.slack_installations import SlackInstallationRows
from bot.store.subscriptions import list_subscriptions
from bot.store.topics import list_topics


class StoreLookups:
    """bot.ports.ChoiceLookups on the store: read-only, for suggestions as people type."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def list_topics(self) -> Sequence[Topic]:
        return await list_topics(self._db)

    async def list_subscriptions(self, destination: Destination) -> Sequence[Subscription]:
        return await list_subscriptions(self._db, destination)


def adapter_ports(db: Db) -> AdapterPorts:
    return AdapterPorts(lookups=StoreLookups(db), slack_installations=SlackInstallationRows(db))
