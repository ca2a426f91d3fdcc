"""Setting the adapter up: the runtime's factory, refusals of incomplete settings and bad tokens, the 3-second
ack, Socket Mode's envelope acks, and the manifest against the scopes the code asks for."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
import yaml

from adapters.slack import SlackAdapter
from adapters.slack.installations import BOT_SCOPES
from bot.chat import AdapterContext
from bot.clock import SystemClock
from bot.commands import CommandRequest
from bot.config import ConfigError, SlackSettings
from bot.models import Message
from bot.runtime import build_adapters
from bot.store import Store
from bot.store.ports import adapter_ports
from bot.store.slack_installations import SlackInstallationRows
from tests.adapters.slack.conftest import CHANNEL, Bot, StartBot, secrets, slack_settings
from tests.fakes.slack import FakeSlack

MANIFEST = Path(__file__).resolve().parents[3] / "seeds" / "slack-manifest.yaml"


async def test_the_runtime_builds_the_slack_adapter_when_enabled(
    tmp_path: Path, fake: FakeSlack, store: Store
) -> None:
    settings = slack_settings(tmp_path, fake, mode="socket")
    [adapter] = build_adapters(AdapterContext(settings, secrets(), adapter_ports(store), SystemClock()))
    assert isinstance(adapter, SlackAdapter) and adapter.platform.value == "slack"
    caps = adapter.capabilities
    assert caps.max_sections * 3 + 2 <= 50, "a section is at most three blocks"
    assert (caps.per_channel_rate, caps.workspace_rate) == (1.0, 5.0)


@pytest.mark.parametrize(
    ("mode", "changes", "message"),
    [
        ("socket", {"slack_bot_token": None}, "slack.enabled needs SLACK_BOT_TOKEN"),
        ("socket", {"slack_app_token": None}, "slack.mode = 'socket' needs SLACK_APP_TOKEN"),
        ("socket", {"slack_app_token": "xoxb-wrong-kind"}, "slack.mode = 'socket' needs SLACK_APP_TOKEN"),
        ("http", {"slack_signing_secret": None}, "slack.mode = 'http' needs SLACK_SIGNING_SECRET"),
        ("http", {"slack_bot_token": None}, "or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth"),
    ],
)
def test_incomplete_settings_are_refused_saying_what_is_missing(
    tmp_path: Path, fake: FakeSlack, store: Store, mode: str, changes: dict[str, str | None], message: str
) -> None:
    settings = slack_settings(tmp_path, fake, mode=mode)
    with pytest.raises(ConfigError, match=message):
        SlackAdapter(settings.slack, secrets(**changes), SlackInstallationRows(store), SystemClock())


@pytest.mark.parametrize(
    ("mode", "changes", "message"),
    [
        ("http", {"slack_bot_token": "xoxb-revoked"}, r"SLACK_BOT_TOKEN: Slack refused it \(invalid_auth\)"),
        (
            "socket",
            {"slack_app_token": "xapp-unknown"},
            r"SLACK_APP_TOKEN: Slack refused it \(invalid_auth\)",
        ),
    ],
)
async def test_a_token_slack_refuses_stops_start_with_slacks_error(
    tmp_path: Path, fake: FakeSlack, store: Store, mode: str, changes: dict[str, str], message: str
) -> None:
    settings = slack_settings(tmp_path, fake, mode=mode)
    adapter = SlackAdapter(
        settings.slack, secrets(**changes), SlackInstallationRows(store), SystemClock(), http_port=0
    )
    with pytest.raises(ConfigError, match=message):
        await adapter.start(_unused)
    await adapter.stop()


async def _unused(request: CommandRequest) -> Message:
    raise AssertionError("no command expected")


async def test_the_command_is_acked_before_the_core_answers(
    tmp_path: Path, fake: FakeSlack, store: Store
) -> None:
    """Slack gives an app 3 seconds: the HTTP answer must not wait for slow work."""
    settings = slack_settings(tmp_path, fake, mode="http")
    adapter = SlackAdapter(
        settings.slack, secrets(), SlackInstallationRows(store), SystemClock(), http_port=0
    )
    release = asyncio.Event()
    seen: list[CommandRequest] = []

    async def slow(request: CommandRequest) -> Message:
        seen.append(request)
        await release.wait()
        return Message(text="done")

    await adapter.start(slow)
    bot = Bot(fake, adapter, runtime=None, session=aiohttp.ClientSession())  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(3):
            status, _ = await bot.post(bot.command_body("lookup summit", name="slow"))
        assert status == 200 and fake.responses == []
        release.set()
        assert (await bot.reply("slow"))["text"] == "done"
        [request] = seen
        assert (request.workspace, request.channel, request.user, request.text) == (
            "T1",
            CHANNEL,
            "UADMIN",
            "lookup summit",
        )
        assert request.is_channel_manager and request.user_name == "uadmin"
    finally:
        await bot.session.close()
        await adapter.stop()


async def test_socket_mode_acks_each_envelope_by_its_id(start_bot: StartBot) -> None:
    bot = await start_bot(mode="socket")
    fields = bot.command_fields("topics", user="UMEMBER", channel=CHANNEL, name="sock")
    envelope = await bot.fake.socket.send("slash_commands", fields)
    reply = await bot.reply("sock")
    ack = bot.fake.socket.ack_for(envelope)
    assert ack is not None and ack["envelope_id"] == envelope
    assert reply["response_type"] == "ephemeral" and reply["text"] == "2 topics to follow."
    assert bot.fake.calls_of("apps.connections.open")[0].token == "xapp-test"


async def test_client_id_in_the_environment_does_not_take_the_single_token_away(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # bolt reads SLACK_CLIENT_ID/SECRET itself and would switch to an OAuth flow that ignores the token.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    bot = await start_bot(mode="socket")
    assert (await bot.command("topics"))["text"] == "2 topics to follow."


def test_the_manifest_matches_the_code() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == SlackSettings().command
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True and settings["interactivity"]["is_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_uninstalled", "tokens_revoked"}
