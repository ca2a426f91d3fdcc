"""Slack OAuth installations: who installed the app in which workspace (or Enterprise org), with its tokens.

Plain rows, no Slack SDK here: adapters/slack/installations.py turns them into slack_sdk's Installation
and Bot objects for bolt. A workspace has one row per installer (the latest install of that user
replaces theirs); lookups without a user take the newest row. An org-wide (Enterprise Grid) install
is stored with team_id '' and found by its enterprise_id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select

from bot.ports import InstallationKey
from bot.store.db import Db, reading, writing
from bot.store.schema import slack_installations
from bot.store.sql import upsert_insert

# What a newer install by the same user replaces.
_REPLACED = ("is_enterprise_install", "bot_token", "data", "installed_at")
_NEWEST = (slack_installations.c.installed_at.desc(), slack_installations.c.id.desc())


def _where(key: InstallationKey) -> ColumnElement[bool]:
    return and_(
        slack_installations.c.client_id == key.client_id,
        slack_installations.c.enterprise_id == key.enterprise,
        slack_installations.c.team_id == key.team,
    )


async def save_installation(
    db: Db,
    key: InstallationKey,
    *,
    user_id: str,
    bot_token: str | None,
    data: Mapping[str, Any],
    now: datetime,
) -> None:
    """Store an installation, replacing this installer's earlier one in the same workspace."""
    values = {
        "client_id": key.client_id,
        "enterprise_id": key.enterprise,
        "team_id": key.team,
        "user_id": user_id,
        "is_enterprise_install": key.is_enterprise_install,
        "bot_token": bot_token,
        "data": dict(data),
        "installed_at": now,
    }
    async with writing(db) as conn:
        stmt = upsert_insert(conn, slack_installations).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[
                slack_installations.c.client_id,
                slack_installations.c.enterprise_id,
                slack_installations.c.team_id,
                slack_installations.c.user_id,
            ],
            set_={name: values[name] for name in _REPLACED},
        )
        await conn.execute(stmt)


async def find_installation(
    db: Db, key: InstallationKey, *, user_id: str | None = None, with_bot_token: bool = False
) -> dict[str, Any] | None:
    """The stored data of this workspace's installation: `user_id`'s, else the newest one (with a bot
    token if asked), or None."""
    query = select(slack_installations.c.data).where(_where(key))
    if user_id is not None:
        query = query.where(slack_installations.c.user_id == user_id)
    if with_bot_token:
        query = query.where(slack_installations.c.bot_token.is_not(None))
    query = query.order_by(*_NEWEST).limit(1)
    async with reading(db) as conn:
        found = (await conn.execute(query)).scalar_one_or_none()
    return dict(found) if found is not None else None


async def delete_installations(db: Db, key: InstallationKey, *, user_id: str | None = None) -> int:
    """Forget the workspace's installations (only `user_id`'s if given); how many rows went."""
    stmt = delete(slack_installations).where(_where(key))
    if user_id is not None:
        stmt = stmt.where(slack_installations.c.user_id == user_id)
    async with writing(db) as conn:
        return int((await conn.execute(stmt)).rowcount or 0)


async def bot_token_for_workspace(db: Db, client_id: str, team_id: str) -> str | None:
    """The newest bot token that reaches workspace `team_id`: its own install's, else the only org-wide
    install's (delivery knows a channel's workspace, not its org)."""
    table = slack_installations
    has_token = and_(table.c.client_id == client_id, table.c.bot_token.is_not(None))
    async with reading(db) as conn:
        own = select(table.c.bot_token).where(has_token, table.c.team_id == team_id)
        token = (await conn.execute(own.order_by(*_NEWEST).limit(1))).scalar_one_or_none()
        if token is not None:
            return str(token)
        orgs = select(table.c.enterprise_id, table.c.bot_token).where(
            has_token, table.c.is_enterprise_install
        )
        rows = (await conn.execute(orgs.order_by(*_NEWEST))).all()
    if len({row.enterprise_id for row in rows}) == 1:
        return str(rows[0].bot_token)
    return None


class SlackInstallationRows:
    """bot.ports.SlackInstallationStore on the store: what the Slack adapter is given instead of it."""

    def __init__(self, db: Db) -> None:
        self._db = db

    async def save(
        self,
        key: InstallationKey,
        *,
        user_id: str,
        bot_token: str | None,
        data: Mapping[str, Any],
        now: datetime,
    ) -> None:
        await save_installation(self._db, key, user_id=user_id, bot_token=bot_token, data=data, now=now)

    async def find(
        self, key: InstallationKey, *, user_id: str | None = None, with_bot_token: bool = False
    ) -> dict[str, Any] | None:
        return await find_installation(self._db, key, user_id=user_id, with_bot_token=with_bot_token)

    async def delete(self, key: InstallationKey, *, user_id: str | None = None) -> int:
        return await delete_installations(self._db, key, user_id=user_id)

    async def bot_token(self, client_id: str, team_id: str) -> str | None:
        return await bot_token_for_workspace(self._db, client_id, team_id)
