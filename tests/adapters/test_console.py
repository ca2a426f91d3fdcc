"""The console adapter: rendering, scripted and stdin input, sending, and its role as the test adapter."""

from __future__ import annotations

import asyncio
import io
import os

import pytest

from adapters.console import CONSOLE_CAPABILITIES, ConsoleAdapter, command_text
from bot.chat import ChatAdapter
from bot.commands import AccessPolicy, CommandRequest, handle
from bot.messages import DeliveryError, Receipt, build_alert, build_digest, split_message
from bot.models import Button, Destination, Link, Message, Platform, Section
from tests.bot.commands.fake_services import T0, development, sample_services

GENERAL = Destination(Platform.CONSOLE, "local", "general")


def adapter_with(
    lines: list[str] | None = None, *, channel: str = "console", is_channel_manager: bool = True
) -> tuple[ConsoleAdapter, io.StringIO]:
    out = io.StringIO()
    adapter = ConsoleAdapter(
        output=out, lines=lines, width=100, channel=channel, is_channel_manager=is_channel_manager
    )
    return adapter, out


async def echo(request: CommandRequest) -> Message:
    return Message(text=f"got {request.text!r}", ephemeral=True)


def test_it_is_a_chat_adapter() -> None:
    adapter: ChatAdapter = ConsoleAdapter(output=io.StringIO())
    assert adapter.platform is Platform.CONSOLE
    assert adapter.capabilities is CONSOLE_CAPABILITIES


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("/story subscribe korea", "subscribe korea"),
        ("/STORY   list", "list"),
        ("subscribe korea", "subscribe korea"),
        ("/story", ""),
        ("   ", None),
        ("# a comment", None),
        ("/storyline", "/storyline"),
    ],
)
def test_command_text_drops_the_optional_prefix(line: str, text: str | None) -> None:
    assert command_text(line) == text


async def test_scripted_lines_run_through_the_real_dispatcher() -> None:
    services = sample_services()
    lines = [
        "/story subscribe korea digest at 08:00 tz Asia/Seoul",
        "",
        "list",
        "subscribe korea tz Asia/Seol",
        "quit",
        "list",
    ]
    adapter, out = adapter_with(lines, channel="general")
    await adapter.start(lambda request: handle(request, services, access=AccessPolicy()))
    await asyncio.wait_for(adapter.wait_closed(), 5)
    await adapter.stop()
    texts = [reply.text for _, reply in adapter.replies]
    assert texts == [
        "This channel now follows Korea diplomacy (korea): a digest at 08:00 Asia/Seoul.",
        "This channel follows 1 topic.",
        "unknown time zone 'Asia/Seol' (try Asia/Seoul)",
    ]
    assert adapter.replies[0][0].destination == GENERAL
    printed = out.getvalue()
    assert "story> /story subscribe korea digest at 08:00 tz Asia/Seoul" in printed
    assert "korea (Korea diplomacy): a digest at 08:00 Asia/Seoul" in printed
    assert "reply (only you)" in printed and "reply to #general" in printed
    assert "story> list\n" in printed and printed.count("story> list") == 1


async def test_a_non_manager_console_user_is_refused_changes() -> None:
    services = sample_services()
    adapter, _ = adapter_with(["subscribe korea"], is_channel_manager=False)
    await adapter.start(lambda request: handle(request, services))
    await adapter.wait_closed()
    assert adapter.replies[0][1].text == "only channel managers or bot admins can use 'subscribe' here"


async def test_a_failing_handler_gets_a_short_reply_not_a_crash() -> None:
    async def broken(request: CommandRequest) -> Message:
        raise RuntimeError("boom")

    adapter, _ = adapter_with(["list", "topics"])
    await adapter.start(broken)
    await adapter.wait_closed()
    assert [reply.text for _, reply in adapter.replies] == ["something went wrong (see the log)"] * 2


async def test_long_replies_are_fitted_to_the_capabilities() -> None:
    async def long_reply(request: CommandRequest) -> Message:
        return Message(
            text="many", sections=tuple(Section(text=f"row {n}") for n in range(50)), ephemeral=True
        )

    adapter, _ = adapter_with(["x"])
    await adapter.start(long_reply)
    await adapter.wait_closed()
    reply = adapter.replies[0][1]
    assert len(reply.sections) == 20
    assert reply.sections[-1].context == "… and 31 more not shown"


async def test_rendering_an_alert() -> None:
    alert = build_alert(
        development(12, story_id=3, sources=2), topic_name="Korea diplomacy", timezone="Asia/Seoul"
    )
    adapter, out = adapter_with()
    receipt = await adapter.send(GENERAL, alert)
    assert receipt == Receipt("1", "1")
    assert adapter.sent == [(GENERAL, alert)]
    printed = out.getvalue()
    for expected in (
        "#general · message 1",
        "North Korea–US talks",
        "Summit set for Hanoi",
        "Both sides confirm the date.",
        "→ Outlet 0  https://outlet0.example/12",
        "3 Mar 2026 14:00 KST · 2 sources · Korea diplomacy · story 3",
        "[Mute this story: mute 3]  [Open timeline: timeline story 3]",
    ):
        assert expected in printed, expected


async def test_feed_text_cannot_drive_the_terminal_or_rich_markup() -> None:
    nasty = Message(
        text="x",
        title="[bold red]Breaking[/] \x1b[2J\x1b]8;;http://evil\x07click",
        sections=(
            Section(text="line\rover\u202edrawn :smile:", links=(Link("[link]", "https://a.example/"),)),
        ),
    )
    adapter, out = adapter_with()
    await adapter.send(GENERAL, nasty)
    printed = out.getvalue()
    assert "\x1b" not in printed and "\r" not in printed and "\u202e" not in printed and "\x07" not in printed
    assert "[bold red]Breaking[/]" in printed and ":smile:" in printed and "[link]" in printed


async def test_threads_and_continuations_from_split_message() -> None:
    digest = build_digest(
        [development(n, story_id=n, story_title=f"Story {n}", hours=n) for n in range(30)],
        topic_id="korea",
        topic_name="Korea",
        timezone="UTC",
        until=T0,
        max_developments=30,
    )
    adapter, out = adapter_with()
    parts = split_message(digest, adapter.capabilities)
    assert len(parts) == 2
    parent = await adapter.send(GENERAL, parts[0])
    reply = await adapter.send(Destination(Platform.CONSOLE, "local", "general", parent.thread_id), parts[1])
    assert reply == Receipt("2", "1")
    assert "#general › thread 1 · message 2" in out.getvalue()


async def test_send_refuses_what_does_not_fit_and_raises_scripted_failures() -> None:
    adapter, _ = adapter_with()
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(GENERAL, Message(text="x", sections=tuple(Section(text="s") for _ in range(21))))
    assert caught.value.kind == "invalid" and "21 sections (limit 20)" in caught.value.reason
    adapter.failures.append(DeliveryError("retry", "rate limited", retry_after=2.0))
    with pytest.raises(DeliveryError) as caught:
        await adapter.send(GENERAL, Message(text="ok"))
    assert (caught.value.kind, caught.value.retry_after) == ("retry", 2.0)
    assert await adapter.send(GENERAL, Message(text="ok")) == Receipt("1", "1")
    assert adapter.sent == [(GENERAL, Message(text="ok"))]


async def test_text_only_messages_and_buttons_without_a_command() -> None:
    adapter, out = adapter_with()
    await adapter.send(GENERAL, Message(text="plain words", buttons=(Button("Other", "custom", "v"),)))
    assert "plain words" in out.getvalue() and "[Other: custom v]" in out.getvalue()


async def test_stdin_is_read_off_the_event_loop() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "r") as stdin, os.fdopen(write_end, "w") as writer:
        out = io.StringIO()
        adapter = ConsoleAdapter(output=out, stdin=stdin, width=100)
        await adapter.start(echo)
        # Nothing typed yet: the loop must stay free while the reader waits.
        ticks = 0
        for _ in range(5):
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 5 and not adapter.replies
        writer.write("/story help\n")
        writer.flush()
        for _ in range(200):
            if adapter.replies:
                break
            await asyncio.sleep(0.01)
        assert [reply.text for _, reply in adapter.replies] == ["got 'help'"]
        writer.close()
        await asyncio.wait_for(adapter.wait_closed(), 5)
    assert "story> " in out.getvalue()


async def test_stop_ends_a_reader_waiting_on_stdin() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "r") as stdin:
        adapter = ConsoleAdapter(output=io.StringIO(), stdin=stdin)
        await adapter.start(echo)
        await asyncio.sleep(0.01)
        await asyncio.wait_for(adapter.stop(), 1)
        await adapter.stop()
        await asyncio.wait_for(adapter.wait_closed(), 1)
        # End of file lets the reader thread leave readline, so the stream can be closed.
        os.close(write_end)


async def test_start_twice_is_an_error() -> None:
    adapter, _ = adapter_with(["help"])
    await adapter.start(echo)
    with pytest.raises(RuntimeError, match="already started"):
        await adapter.start(echo)
    await adapter.stop()
