"""The operator's terminal: stored and remote text shown cleaned, clipped and never read as rich markup.

Source titles, fetch errors, topic names and exception text come from feeds, servers and chat members.
The CLI builds `rich.text.Text` for them (`shown`, `labelled`), so `[/]` or `[link=file:///…]` is
printed as written; and its consoles are `SafeConsole`s, which clean every rendered segment again, so
no control sequence, C1 control or bidi character reaches the terminal by a path that forgot to.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

from bot.messages.text import clip
from bot.text_safety import clean_untrusted

# Characters of one untrusted value in a table cell or a message line; the rest is cut with an ellipsis.
CELL_LIMIT = 200
LINE_LIMIT = 1_000


class SafeConsole(Console):
    """A rich Console whose rendered text is cleaned of controls and bidi characters before output."""

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            text = segment.text
            if segment.control or (text.isascii() and text.isprintable()):
                yield segment
            else:
                yield Segment(clean_untrusted(text), segment.style, segment.control)


def shown(text: object, limit: int = CELL_LIMIT) -> Text:
    """Untrusted `text` as one clean line of at most `limit` characters, never parsed as markup."""
    return Text(clip(clean_untrusted(str(text or ""), multiline=False), limit))


def labelled(label: str, style: str, text: object, limit: int = LINE_LIMIT) -> Text:
    """`label` in `style`, then untrusted `text` shown as written: `error: <what the server said>`."""
    return Text.assemble((label, style), " ", shown(text, limit))


class CleanFormatter(logging.Formatter):
    """Log lines (tracebacks included) quote feed and server text; the terminal gets it cleaned.

    Lines after a record's first are indented, so a line break in a quoted title cannot forge a record."""

    def format(self, record: logging.LogRecord) -> str:
        return clean_untrusted(super().format(record)).replace("\n", "\n  ")


def clean_excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """An uncaught exception's traceback, cleaned: its message may quote what a feed or server sent."""
    sys.stderr.write(clean_untrusted("".join(traceback.format_exception(kind, value, tb))))
    sys.stderr.flush()
