"""The console adapter: the bot in a terminal, with no chat platform at all, and the test adapter.

It prints Messages readably with rich, reads commands typed at a prompt (`/story subscribe korea`,
the `/story` prefix optional) or from a scripted list of lines, records everything it sent and
replied, and can be told to fail the next sends with given DeliveryErrors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections import deque
from collections.abc import Iterable
from typing import TextIO

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.text import Text

from bot.chat import CommandHandler
from bot.commands import CommandRequest, command_for_button
from bot.messages import Capabilities, DeliveryError, Receipt, check_fits, fit_message
from bot.models import Button, Destination, Message, Platform, web_link
from bot.terminal import SafeConsole
from bot.text_safety import clean_untrusted

log = logging.getLogger("storywatch.adapters.console")

CONSOLE_CAPABILITIES = Capabilities(
    max_text=4_000,
    max_title=200,
    max_sections=20,
    max_heading=300,
    max_section_text=4_000,
    max_context=1_000,
    max_fields=20,
    max_field=2_000,
    max_total=30_000,
    max_buttons=10,
    max_button_label=80,
    per_channel_rate=50.0,
    global_rate=50.0,
)
QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit"})


class ConsoleAdapter:
    def __init__(
        self,
        *,
        output: TextIO | None = None,
        lines: Iterable[str] | None = None,
        stdin: TextIO | None = None,
        workspace: str = "local",
        channel: str = "console",
        user: str = "you",
        is_channel_manager: bool = True,
        roles: tuple[str, ...] = (),
        capabilities: Capabilities = CONSOLE_CAPABILITIES,
        width: int | None = None,
        prompt: str = "story> ",
    ) -> None:
        self._console = SafeConsole(
            file=output or sys.stdout,
            width=width,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=False,
        )
        # Into a pipe or a file, lines are not hard-wrapped: a URL cut in two opens nothing.
        self._console.soft_wrap = not self._console.is_terminal
        self._script = deque(lines) if lines is not None else None
        self._stdin = stdin or sys.stdin
        self._stdin_lines: asyncio.Queue[str | None] | None = None
        self._workspace, self._channel, self._user = workspace, channel, user
        self._is_channel_manager, self._roles = is_channel_manager, roles
        self._capabilities = capabilities
        self._prompt = prompt
        self._on_command: CommandHandler | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._sequence = 0
        self.sent: list[tuple[Destination, Message]] = []
        self.replies: list[tuple[CommandRequest, Message]] = []
        # Raised, in order, by the next calls to send (to test how jobs handle platform errors).
        self.failures: list[DeliveryError] = []

    @property
    def platform(self) -> Platform:
        return Platform.CONSOLE

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def destination(self) -> Destination:
        """The channel this console stands for."""
        return Destination(Platform.CONSOLE, self._workspace, self._channel)

    async def start(self, on_command: CommandHandler) -> None:
        if self._reader is not None:
            raise RuntimeError("the console adapter is already started")
        self._on_command = on_command
        self._closed.clear()
        self._reader = asyncio.create_task(self._read_commands(), name="console-commands")

    async def stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._closed.set()

    async def wait_closed(self) -> None:
        """Until the input ends (end of file, `quit`, the script's last line) or stop() is called."""
        await self._closed.wait()

    async def send(self, destination: Destination, message: Message) -> Receipt:
        if self.failures:
            raise self.failures.pop(0)
        problems = check_fits(message, self._capabilities)
        if problems:
            # As a platform would: a message over the limits means the core did not split it.
            raise DeliveryError("invalid", "; ".join(problems))
        self._sequence += 1
        message_id = str(self._sequence)
        self.sent.append((destination, message))
        where = f"#{destination.channel}" + (f" › thread {destination.thread}" if destination.thread else "")
        self._console.print(render(message, f"{where} · message {message_id}"))
        return Receipt(message_id, destination.thread or message_id)

    async def submit(self, line: str) -> Message | None:
        """Run one typed line as a command and print the reply; None for a blank or comment line."""
        text = command_text(line)
        if text is None or self._on_command is None:
            return None
        request = CommandRequest(
            platform=Platform.CONSOLE,
            workspace=self._workspace,
            channel=self._channel,
            user=self._user,
            text=text,
            is_channel_manager=self._is_channel_manager,
            roles=self._roles,
            user_name=self._user,
        )
        try:
            reply = await self._on_command(request)
        except Exception:
            log.exception("command %r failed in the console", text[:200])
            reply = Message(text="something went wrong (see the log)", ephemeral=True)
        reply = fit_message(reply, self._capabilities)
        self.replies.append((request, reply))
        self._console.print(
            render(reply, "reply (only you)" if reply.ephemeral else f"reply to #{self._channel}")
        )
        return reply

    async def _read_commands(self) -> None:
        try:
            while (line := await self._next_line()) is not None:
                if line.strip().lower() in QUIT_WORDS:
                    break
                await self.submit(line)
        finally:
            self._closed.set()

    async def _next_line(self) -> str | None:
        if self._script is not None:
            if not self._script:
                return None
            line = self._script.popleft().rstrip("\n")
            self._console.print(Text(self._prompt + line, style="dim"))
            return line
        self._console.print(Text(self._prompt), end="")
        self._console.file.flush()
        return await self._read_stdin()

    async def _read_stdin(self) -> str | None:
        if self._stdin_lines is None:
            self._stdin_lines = asyncio.Queue()
            _start_reading(self._stdin, self._stdin_lines, asyncio.get_running_loop())
        return await self._stdin_lines.get()


def _start_reading(stream: TextIO, lines: asyncio.Queue[str | None], loop: asyncio.AbstractEventLoop) -> None:
    """Read `stream` in a daemon thread: readline blocks, and a daemon thread never holds up exit."""

    def pump() -> None:
        while True:
            try:
                line: str | None = stream.readline() or None
            except (OSError, ValueError):
                line = None
            try:
                loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\n") if line else None)
            except RuntimeError:
                return  # the event loop is closed
            if line is None:
                return

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()


def command_text(line: str) -> str | None:
    """The command in a typed line, without the optional `/story` prefix; None for blanks and # comments."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    head, _, rest = text.partition(" ")
    return rest.strip() if head.lower() == "/story" else text


def render(message: Message, header: str) -> RenderableType:
    """A message as terminal text: title, sections (heading, text, links, context), buttons as hints."""
    parts: list[RenderableType] = [Rule(Text(clean(header)), style="dim", align="left")]
    if message.title:
        parts.append(Text(clean(message.title), style="bold"))
    if not message.sections and message.text != message.title:
        parts.append(Text(clean(message.text)))
    for index, section in enumerate(message.sections):
        if index:
            parts.append(Text(""))
        if section.heading:
            parts.append(Text(clean(section.heading), style="bold cyan"))
        if section.text:
            parts.append(Text(clean(section.text)))
        for link in section.links:
            address = ("  ", (clean(link.url), "blue")) if web_link(link.url) else ()
            parts.append(Text.assemble(("  → ", "dim"), clean(link.label or link.url), *address))
        if section.context:
            parts.append(Text(clean(section.context), style="dim italic"))
    if message.buttons:
        parts.append(Text("  ".join(button_hint(button) for button in message.buttons), style="magenta"))
    return Group(*parts)


def button_hint(button: Button) -> str:
    """`[Mute this story: mute 12]`: what to type here for what a click does on a chat platform."""
    command = command_for_button(button) or f"{button.action} {button.value}"
    return f"[{clean(button.label)}: {clean(command)}]"


def clean(text: str) -> str:
    """Feed text for the terminal: control sequences and bidi characters could rewrite what it shows."""
    return clean_untrusted(text)
