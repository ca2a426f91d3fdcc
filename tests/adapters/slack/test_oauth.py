"""Multi-workspace mode: bolt's OAuth install flow against the fake Slack, installations in our store
(SQLite and PostgreSQL), each workspace's commands and deliveries on its own token, uninstalls forgotten."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation

from adapters.slack.installations import StoreInstallations
from bot.clock import ManualClock
from bot.messages import DeliveryError
from bot.models import Destination, Message, Platform, Section
from bot.store import Store, open_store
from bot.store.slack_installations import SlackInstallationRows, bot_token_for_workspace
from tests.adapters.slack.conftest import NOW, Bot, StartBot, eventually
from tests.fakes.slack import Workspace

CLIENT_ID = "111.222"
OAUTH = {"slack_bot_token": None, "slack_client_id": CLIENT_ID, "slack_client_secret": "client-secret"}


@pytest.fixture
async def any_store(db_url: str) -> AsyncIterator[Store]:
    """A store on SQLite and on PostgreSQL (see tests/fixtures_db.py)."""
    opened = await open_store(db_url)
    yield opened
    await opened.close()


def _installation(team: str | None, user: str, token: str, *, enterprise: str | None = None) -> Installation:
    return Installation(
        app_id="A1",
        enterprise_id=enterprise,
        team_id=team,
        bot_token=token,
        bot_id=f"B{token}",
        bot_user_id="UBOT",
        bot_scopes=["commands", "chat:write"],
        user_id=user,
        is_enterprise_install=team is None,
    )


async def test_installations_are_kept_per_workspace_and_installer(any_store: Store) -> None:
    clock = ManualClock(NOW)
    installations = StoreInstallations(SlackInstallationRows(any_store), clock, CLIENT_ID)
    await installations.async_save(_installation("T1", "U1", "xoxb-a"))
    bot = await installations.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-a" and bot.bot_scopes == ["commands", "chat:write"]
    assert await installations.async_find_installation(enterprise_id=None, team_id="T1", user_id="U2") is None

    # Another admin installs later: the newest bot token wins; each installer keeps a row of their own.
    clock.advance(60)
    await installations.async_save(_installation("T1", "U2", "xoxb-b"))
    mine = await installations.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert mine is not None and mine.user_id == "U1" and mine.bot_token == "xoxb-b"
    # The first admin reinstalls: their row is replaced, and theirs is now the newest token.
    clock.advance(60)
    await installations.async_save(_installation("T1", "U1", "xoxb-c"))
    bot = await installations.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-c"
    theirs = await installations.async_find_installation(enterprise_id=None, team_id="T1", user_id="U2")
    assert theirs is not None and theirs.user_id == "U2" and theirs.bot_token == "xoxb-c"
    assert await bot_token_for_workspace(any_store, CLIENT_ID, "T1") == "xoxb-c"
    # Another app's installations are not ours.
    assert await bot_token_for_workspace(any_store, "999.999", "T1") is None

    # An org-wide install reaches the org's workspaces that have no install of their own.
    clock.advance(60)
    await installations.async_save(_installation(None, "U9", "xoxb-org", enterprise="E1"))
    org = await installations.async_find_bot(enterprise_id="E1", team_id="T7", is_enterprise_install=True)
    assert org is not None and org.bot_token == "xoxb-org"
    assert await bot_token_for_workspace(any_store, CLIENT_ID, "T7") == "xoxb-org"
    assert await bot_token_for_workspace(any_store, CLIENT_ID, "T1") == "xoxb-c"

    # bolt saves a bot alone after refreshing its token: that is the workspace's newest token then.
    clock.advance(60)
    await installations.async_save_bot(_installation("T1", "U1", "xoxb-refreshed").to_bot())
    assert await bot_token_for_workspace(any_store, CLIENT_ID, "T1") == "xoxb-refreshed"

    await installations.async_delete_all(enterprise_id=None, team_id="T1")
    assert await installations.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert await bot_token_for_workspace(any_store, CLIENT_ID, "T1") == "xoxb-org"


async def _install(bot: Bot, code: str) -> None:
    """The browser's side of "Add to Slack": the install page, then Slack's redirect back with a code."""
    base = bot.url.removesuffix("/slack/events")
    async with bot.session.get(f"{base}/slack/install", allow_redirects=False) as page:
        assert page.status in (200, 302)
        cookie = SimpleCookie(page.headers["Set-Cookie"])
    state = cookie["slack-app-oauth-state"].value
    headers = {"Cookie": f"slack-app-oauth-state={state}"}
    async with bot.session.get(
        f"{base}/slack/oauth_redirect?code={code}&state={state}", headers=headers
    ) as done:
        assert done.status == 200, await done.text()
    # The state is signed: a made-up one is refused.
    async with bot.session.get(
        f"{base}/slack/oauth_redirect?code={code}&state=forged",
        headers={"Cookie": "slack-app-oauth-state=forged"},
    ) as forged:
        assert forged.status >= 400


async def test_a_workspace_installs_then_its_commands_and_alerts_use_its_token(start_bot: StartBot) -> None:
    bot = await start_bot(secret_changes=OAUTH)
    fake = bot.fake
    fake_workspace = Workspace("T2", team="Two", bot_user_id="UBOT2", bot_id="BBOT2")
    fake.tokens["xoxb-T2"] = fake_workspace
    fake.oauth_codes["code-2"] = {
        "ok": True,
        "app_id": "A1",
        "access_token": "xoxb-T2",
        "token_type": "bot",
        "scope": "commands,chat:write",
        "bot_user_id": "UBOT2",
        "team": {"id": "T2", "name": "Two"},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {"id": "UINSTALLER"},
    }
    await _install(bot, "code-2")
    store = bot.runtime.store
    assert await bot_token_for_workspace(store, CLIENT_ID, "T2") == "xoxb-T2"

    # A command from the new workspace is authorised through the stored installation.
    body = bot.command_body("topics", name="t2").replace("team_id=T1", "team_id=T2")
    assert (await bot.post(body))[0] == 200
    assert (await bot.reply("t2"))["text"] == "2 topics to follow."
    assert {c.token for c in fake.calls if c.method == "users.info"} == {"xoxb-T2"}

    # Deliveries to T2 carry T2's token; a workspace that never installed the app pauses.
    message = Message(text="hello", title="hello", sections=(Section(text="body"),))
    await bot.adapter.send(Destination(Platform.SLACK, "T2", "C1"), message)
    assert fake.posts[-1].token == "xoxb-T2"
    with pytest.raises(DeliveryError) as refused:
        await bot.adapter.send(Destination(Platform.SLACK, "T3", "C1"), message)
    assert refused.value.kind == "forbidden" and "not installed in workspace T3" in refused.value.reason

    # A reinstall replaces the token; the old one, still cached, is refused once and the new one used.
    del fake.tokens["xoxb-T2"]
    fake.tokens["xoxb-T2-new"] = fake_workspace
    fake.oauth_codes["code-3"] = {**fake.oauth_codes["code-2"], "access_token": "xoxb-T2-new"}
    await _install(bot, "code-3")
    await bot.adapter.send(Destination(Platform.SLACK, "T2", "C1"), message)
    assert [c.token for c in fake.calls_of("chat.postMessage")][-2:] == ["xoxb-T2", "xoxb-T2-new"]
    assert fake.posts[-1].token == "xoxb-T2-new"

    # Uninstalling forgets the installation.
    event = {
        "token": "legacy",
        "team_id": "T2",
        "api_app_id": "A1",
        "event": {"type": "app_uninstalled", "event_ts": "1.0"},
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": int(time.time()),
    }
    assert (await bot.post(json.dumps(event), content_type="application/json"))[0] == 200

    async def forgotten() -> bool:
        return await bot_token_for_workspace(store, CLIENT_ID, "T2") is None

    await eventually(forgotten)
