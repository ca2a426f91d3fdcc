"""The dispatcher: permissions, private replies, and no exception escaping into the adapter."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from bot.commands import AccessPolicy, CommandRequest, CommandServices, command_for_button, handle, parse
from bot.config import settings_from_mapping
from bot.messages import build_alert, build_digest
from bot.models import Message, Platform
from tests.bot.commands.fake_services import T0, FakeServices, development, sample_services


def request(
    text: str, *, manager: bool = False, user: str = "U1", roles: tuple[str, ...] = ()
) -> CommandRequest:
    return CommandRequest(
        platform=Platform.SLACK,
        workspace="T1",
        channel="C1",
        user=user,
        text=text,
        is_channel_manager=manager,
        roles=roles,
    )


async def run(
    text: str,
    services: CommandServices | None = None,
    *,
    access: AccessPolicy | None = None,
    manager: bool = False,
    user: str = "U1",
    roles: tuple[str, ...] = (),
) -> Message:
    caller = request(text, manager=manager, user=user, roles=roles)
    return await handle(caller, services or sample_services(), access=access or AccessPolicy())


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("subscribe korea", "subscribe"),
        ("unsubscribe korea", "unsubscribe"),
        ("topic add x y", "topic add"),
        ("topic remove korea", "topic remove"),
    ],
)
async def test_changes_need_a_channel_manager_or_admin(text: str, name: str) -> None:
    services = sample_services()
    reply = await run(text, services)
    assert reply == Message(text=f"only channel managers or bot admins can use '{name}'", ephemeral=True)
    assert not services.subscriptions and set(services.topics) == {"korea", "chips"}


@pytest.mark.parametrize(
    ("access", "user", "roles"),
    [
        (AccessPolicy(admins=("U1",)), "U1", ()),
        (AccessPolicy(admins=("slack:U1",)), "U1", ()),
        (AccessPolicy(admin_roles=("News Admins",)), "U9", ("news admins",)),
    ],
)
async def test_admins_by_id_or_role_may_change(
    access: AccessPolicy, user: str, roles: tuple[str, ...]
) -> None:
    services = sample_services()
    reply = await run("subscribe korea", services, access=access, user=user, roles=roles)
    assert not reply.ephemeral
    assert [key[1] for key in services.subscriptions] == ["korea"]


async def test_an_admin_on_another_platform_is_not_one_here() -> None:
    reply = await run("subscribe korea", access=AccessPolicy(admins=("discord:U1",)))
    assert reply.text.startswith("only channel managers")


def test_access_policy_from_settings() -> None:
    settings = settings_from_mapping({"admins": ["slack:U1"], "discord": {"admin_role": "Mods"}})
    assert AccessPolicy.from_settings(settings) == AccessPolicy(admins=("slack:U1",), admin_roles=("Mods",))


@pytest.mark.parametrize(
    "text", ["list", "topics", "lookup summit", "timeline 1", "story 1", "mute 1", "sources"]
)
async def test_reading_and_muting_need_no_special_rights(text: str) -> None:
    reply = await run(text)
    assert not reply.text.startswith("only channel managers")


async def test_usage_errors_are_private_one_liners() -> None:
    reply = await run("subscribe korea tz Asia/Seol", manager=True)
    assert reply == Message(text="unknown time zone 'Asia/Seol' (try Asia/Seoul)", ephemeral=True)


async def test_unexpected_errors_become_a_reference_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    services = sample_services()
    services.broken = RuntimeError("database is locked")
    with caplog.at_level(logging.ERROR, logger="storywatch.commands"):
        reply = await run("list", services)
    match = re.fullmatch(r"something went wrong \(ref ([0-9a-f]{6})\)", reply.text)
    assert match and reply.ephemeral
    assert match[1] in caplog.text and "database is locked" in caplog.text


async def test_cancellation_is_not_swallowed() -> None:
    services = sample_services()
    services.broken = asyncio.CancelledError()
    with pytest.raises(asyncio.CancelledError):
        await run("list", services)


@pytest.mark.parametrize("text", ["", "help", "help subscribe", "subscrib", "story 999", "timeline nowhere"])
async def test_replies_that_concern_the_caller_are_private(text: str) -> None:
    assert (await run(text)).ephemeral


async def test_every_button_the_builders_make_runs_a_command() -> None:
    alert = build_alert(development(12, story_id=1), topic_name="Korea diplomacy")
    digest = build_digest([development(12)], topic_id="korea", topic_name="Korea", timezone="UTC", until=T0)
    for button in (*alert.buttons, *digest.buttons):
        text = command_for_button(button)
        assert text is not None
        parse(text)
        assert not (await run(text)).text.startswith(("unknown", "something"))


def test_unknown_buttons_run_nothing() -> None:
    from bot.models import Button

    assert command_for_button(Button("Boom", "explode", "1")) is None


def test_the_fake_implements_the_protocol() -> None:
    services: CommandServices = FakeServices()
    assert services is not None
