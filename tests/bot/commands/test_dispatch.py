"""The dispatcher: permissions, private replies, and no exception escaping into the adapter."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace

import pytest

from bot.commands import AccessPolicy, CommandRequest, CommandServices, command_for_button, handle, parse
from bot.config import settings_from_mapping
from bot.messages import build_alert, build_digest
from bot.models import Destination, Message, Platform, Subscription
from tests.bot.commands.fake_services import T0, FakeServices, development, sample_services


def request_for(
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
    caller = request_for(text, manager=manager, user=user, roles=roles)
    return await handle(caller, services or sample_services(), access=access or AccessPolicy())


SLACK_HINT = "(a workspace admin or owner, or the creator of this private channel)"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("subscribe korea", "subscribe"),
        ("unsubscribe korea", "unsubscribe"),
        ("mute 1", "mute"),
        ("unmute 1", "unmute"),
        ("digest now", "digest now"),
    ],
)
async def test_channel_changes_need_a_channel_manager_or_admin(text: str, name: str) -> None:
    services = sample_services()
    services.muted.add(("slack:T1:C1", 1))
    await services.subscribe(Subscription(Destination(Platform.SLACK, "T1", "C1"), "chips"))
    reply = await run(text, services)
    assert reply == Message(
        text=f"only channel managers or bot admins can use '{name}' here {SLACK_HINT}", ephemeral=True
    )
    assert services.muted == {("slack:T1:C1", 1)} and not services.digest_requests
    assert [key[1] for key in services.subscriptions] == ["chips"]


@pytest.mark.parametrize("text", ["topic add x y", "topic remove korea"])
@pytest.mark.parametrize("manager", [False, True])
async def test_topics_need_a_bot_admin_even_for_a_channel_manager(text: str, manager: bool) -> None:
    services = sample_services()
    reply = await run(text, services, manager=manager)
    assert reply == Message(
        text="only bot admins can change topics (ask whoever runs this bot)", ephemeral=True
    )
    assert set(services.topics) == {"korea", "chips"}


async def test_the_topic_refusal_names_the_admin_contact() -> None:
    reply = await run("topic remove korea", access=AccessPolicy(admin_contact="#news-desk"))
    assert reply.text == "only bot admins can change topics (ask an admin: #news-desk)"


async def test_a_channel_manager_changes_the_channel() -> None:
    services = sample_services()
    for text in ("subscribe korea", "mute 1", "unmute 1", "digest now"):
        assert not (await run(text, services, manager=True)).text.startswith("only"), text
    assert [key[1] for key in services.subscriptions] == ["korea"]
    assert services.digest_requests and services.digest_turns == [("slack:T1:C1", "U1")]


@pytest.mark.parametrize(
    ("access", "user", "roles"),
    [
        (AccessPolicy(admins=("U1",)), "U1", ()),
        (AccessPolicy(admins=("slack:U1",)), "U1", ()),
        (AccessPolicy(admin_role_ids=("777",)), "U9", ("777",)),
    ],
)
async def test_admins_by_id_or_role_id_may_change_topics_and_channels(
    access: AccessPolicy, user: str, roles: tuple[str, ...]
) -> None:
    services = sample_services()
    assert not (await run("subscribe korea", services, access=access, user=user, roles=roles)).ephemeral
    assert not (await run("topic add x y", services, access=access, user=user, roles=roles)).ephemeral
    assert not (await run("topic remove chips", services, access=access, user=user, roles=roles)).ephemeral
    assert [key[1] for key in services.subscriptions] == ["korea"]
    assert set(services.topics) == {"korea", "x"}


async def test_a_role_named_like_the_admin_role_manages_its_channel_but_not_topics() -> None:
    access = AccessPolicy(manager_role_names=("News Editors",))
    request = replace(request_for("subscribe korea", user="U9"), role_names=("news editors",))
    services = sample_services()
    assert not (await handle(request, services, access=access)).ephemeral
    refused = await handle(replace(request, text="topic remove korea"), services, access=access)
    assert refused.text.startswith("only bot admins can change topics")
    # A role id is no role name, nor the other way round: a server can name a role anything.
    spoof = replace(request_for("topic remove korea", user="U9"), role_names=("777",))
    assert (await handle(spoof, services, access=AccessPolicy(admin_role_ids=("777",)))).ephemeral
    assert set(services.topics) == {"korea", "chips"}


async def test_an_admin_on_another_platform_is_not_one_here() -> None:
    reply = await run("topic remove korea", access=AccessPolicy(admins=("discord:U1",)))
    assert reply.text.startswith("only bot admins")


@pytest.mark.parametrize(
    ("settings", "policy"),
    [
        (
            {
                "admins": ["slack:U1", " "],
                "discord": {"admin_role": "Mods"},
                "access": {"admin_contact": "@al"},
            },
            AccessPolicy(admins=("slack:U1",), manager_role_names=("Mods",), admin_contact="@al"),
        ),
        ({"discord": {"admin_role": "1234567890"}}, AccessPolicy(admin_role_ids=("1234567890",))),
    ],
)
def test_access_policy_from_settings(settings: dict[str, object], policy: AccessPolicy) -> None:
    assert AccessPolicy.from_settings(settings_from_mapping(settings)) == policy


@pytest.mark.parametrize(
    "text", ["list", "topics", "lookup summit", "timeline 1", "story 1", "sources", "help"]
)
async def test_reading_needs_no_special_rights(text: str) -> None:
    reply = await run(text)
    assert not reply.text.startswith("only")


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
