"""Multi-workspace mode: bolt's OAuth flow, with the installations kept in our store.

`StoreInstallations` is slack_sdk's AsyncInstallationStore over the core's installation port
(bot.ports.SlackInstallationStore), so bolt finds each workspace's bot token there for incoming
requests and the poster finds it for deliveries.
The OAuth `state` is a signed, five-minute token (slack_sdk's stateless store, keyed by the client
secret): it needs no table and works across processes; the browser cookie bolt sets still binds it to
the person who started the install, and Slack's single-use codes stop a replayed callback.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.stateless import StatelessOAuthStateStore

from bot.clock import Clock
from bot.ports import InstallationKey, SlackInstallationStore

log = logging.getLogger("storywatch.adapters.slack.installations")

# The bot scopes an install asks for: the same list as seeds/slack-manifest.yaml (a test compares them).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "channels:read",
    "groups:read",
    "im:read",
)
STATE_LIFETIME_S = 300


class StoreInstallations(AsyncInstallationStore):
    def __init__(self, rows: SlackInstallationStore, clock: Clock, client_id: str) -> None:
        self._rows = rows
        self._clock = clock
        self._client_id = client_id

    @property
    def logger(self) -> logging.Logger:
        return log

    def _key(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> InstallationKey:
        return InstallationKey(self._client_id, enterprise_id, team_id, bool(is_enterprise_install))

    async def async_save(self, installation: Installation) -> None:
        key = self._key(installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        await self._rows.save(
            key,
            user_id=installation.user_id,
            bot_token=installation.bot_token,
            data=_json_ready(installation.to_dict_for_copying()),
            now=self._clock.now(),
        )
        log.info(
            "slack installation saved team=%s enterprise=%s user=%s",
            installation.team_id,
            installation.enterprise_id,
            installation.user_id,
        )

    async def async_save_bot(self, bot: Bot) -> None:
        # A bot alone (bolt saves one after a token refresh) is stored as an installation by the bot user.
        await self.async_save(Installation(user_id=bot.bot_user_id, **bot.to_dict_for_copying()))

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        key = self._key(enterprise_id, team_id, is_enterprise_install)
        data = await self._rows.find(key, user_id=user_id)
        if data is None:
            return None
        installation = _installation(data)
        if user_id is not None:
            # The user's own row may predate a reinstall: the bot token is always the newest one.
            newest = await self._rows.find(key, with_bot_token=True)
            if newest is not None:
                bot = _installation(newest)
                installation.bot_token, installation.bot_id = bot.bot_token, bot.bot_id
                installation.bot_user_id, installation.bot_scopes = bot.bot_user_id, bot.bot_scopes
                installation.bot_refresh_token = bot.bot_refresh_token
                installation.bot_token_expires_at = bot.bot_token_expires_at
        return installation

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key = self._key(enterprise_id, team_id, is_enterprise_install)
        data = await self._rows.find(key, with_bot_token=True)
        return _installation(data).to_bot() if data is not None else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        # Our app asks for no user scopes: every row is a bot installation.
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        for is_org in (False, True):
            key = self._key(enterprise_id, team_id, is_org)
            gone = await self._rows.delete(key, user_id=user_id)
            if gone:
                log.info(
                    "slack installation removed team=%s enterprise=%s rows=%d", team_id, enterprise_id, gone
                )


def oauth_settings(
    installations: StoreInstallations, client_id: str, client_secret: str
) -> AsyncOAuthSettings:
    """bolt's OAuth flow (install at /slack/install, redirect to /slack/oauth_redirect) over our store."""
    return AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        installation_store=installations,
        state_store=StatelessOAuthStateStore(
            expiration_seconds=STATE_LIFETIME_S, signing_secret=client_secret, logger=log
        ),
    )


def _json_ready(data: dict[str, Any]) -> dict[str, Any]:
    """Installation.to_dict_for_copying() with its datetimes as ISO text (the store keeps JSON)."""
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in data.items()}


def _installation(data: dict[str, Any]) -> Installation:
    # The constructor reads the ISO datetimes of _json_ready back.
    return Installation(**data)
