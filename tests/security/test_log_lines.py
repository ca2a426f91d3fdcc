"""Log lines quoting feed, server or chat text cannot forge other log lines.

`storywatch run` writes one record per line starting with its time; a source title, a server's error
text or an exception message with a line break in it used to start a new line at column 0 that reads
as a record of its own (`... ERROR bot.auth admin token rotated`). Every line after a record's first
is now indented, so a line at column 0 is always a real record.
"""

from __future__ import annotations

import logging

import pytest

from bot.terminal import CleanFormatter

FORGED = "2026-03-01 12:00:00,000 ERROR bot.auth admin token leaked"
BREAKS = ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\v", "\f"]


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("bot.polling", logging.WARNING, __file__, 1, message, args, info)


def lines(text: str) -> list[str]:
    # Terminals and log viewers break lines at all of these, not only at "\n".
    for mark in BREAKS[1:]:
        text = text.replace(mark, "\n")
    return text.split("\n")


@pytest.mark.parametrize("mark", BREAKS, ids=repr)
def test_a_line_break_in_a_logged_value_does_not_start_a_record(mark: str) -> None:
    formatter = CleanFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    printed = formatter.format(record("poll source=%s title=%s", 7, f"Good news{mark}{FORGED}"))
    first, *rest = lines(printed)
    assert first.startswith("20") and " WARNING bot.polling poll source=7 title=Good news" in first
    assert all(line.startswith(" ") for line in rest), printed
    assert FORGED in printed


def test_a_traceback_quoting_feed_text_keeps_its_lines_indented() -> None:
    formatter = CleanFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError(f"bad entry\n{FORGED}")
    except ValueError as exc:
        printed = formatter.format(record("poll source=%s failed", 7, exc=exc))
    first, *rest = lines(printed)
    assert first == "WARNING poll source=7 failed"
    assert rest[0].lstrip() == "Traceback (most recent call last):"
    assert all(line.startswith(" ") for line in rest), printed
    assert f"  {FORGED}" in printed
