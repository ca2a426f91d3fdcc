"""Users' regular expressions (`re:/.../` in a topic query), compiled by RE2 within bounds.

The pattern is kept as written: case-insensitivity comes from RE2's option, never from lower-casing the
pattern (which turns `\\D` into `\\d`). Only literal non-ASCII characters are folded the way the text is
(accents dropped, compatibility forms such as fullwidth letters mapped), so 'café' still finds 'Cafe'.

Every article may be searched by every regex topic, so a pattern is refused when a search could be
costly: a counted repetition above MAX_REPEAT, a span above MAX_WIDTH characters (RE2 is linear in the
text, but where its DFA gives up the cost is text length times live positions), or a program above
MAX_PROGRAM_SIZE RE2 instructions (its memory).
The text searched is capped at MAX_SCAN_CHARS (a normalised article is well below it). Figures:
benchmarks/regex_topics.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import re2

from bot.stories.text import fold

MAX_PATTERN_CHARS = 300
MAX_REPEAT = 100
MAX_WIDTH = 200
MAX_PROGRAM_SIZE = 10_000
MAX_SCAN_CHARS = 10_000
_RE2_MAX_MEM = 8 << 20
# Characters RE2 reads as syntax (inside or outside a class): a folded literal that yields one is escaped.
_SYNTAX = frozenset("\\.+*?()|[]{}^$-")


class PatternError(ValueError):
    """A pattern RE2 will not run for us; the message says why."""


@dataclass(frozen=True, slots=True)
class _Piece:
    kind: str  # "escape", "quoted" (\Q...\E), "char", "open" or "close" (a character class)
    text: str
    start: int
    in_class: bool


def _pieces(pattern: str) -> Iterator[_Piece]:
    """The pattern split the way RE2 reads it: escapes, \\Q...\\E, class brackets and single characters."""
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            end = _escape_end(pattern, i)
            kind = "quoted" if pattern.startswith("\\Q", i) and not in_class else "escape"
            yield _Piece(kind, pattern[i:end], i, in_class)
            i = end
        elif ch == "[" and not in_class:
            # '[', an optional '^', then a ']' right there is a literal, not the end of the class.
            end = i + 1 + (pattern.startswith("^", i + 1))
            end += pattern.startswith("]", end)
            yield _Piece("open", pattern[i:end], i, True)
            in_class, i = True, end
        elif in_class and pattern.startswith("[:", i) and (close := pattern.find(":]", i + 2)) > 0:
            yield _Piece("escape", pattern[i : close + 2], i, True)
            i = close + 2
        elif ch == "]" and in_class:
            yield _Piece("close", ch, i, True)
            in_class, i = False, i + 1
        else:
            yield _Piece("char", ch, i, in_class)
            i += 1


def _escape_end(pattern: str, i: int) -> int:
    nxt = pattern[i + 1 : i + 2]
    if nxt == "Q":
        close = pattern.find("\\E", i + 2)
        return len(pattern) if close < 0 else close + 2
    if nxt in ("p", "P", "x") and pattern.startswith("{", i + 2):
        close = pattern.find("}", i + 3)
        return len(pattern) if close < 0 else close + 1
    # \pL: a one-letter class name; \x41: two hex digits.
    return min(i + {"p": 3, "P": 3, "x": 4}.get(nxt, 2), len(pattern))


def _counted(pattern: str, start: int) -> tuple[str, list[str]] | None:
    """`{n}`, `{n,}` or `{n,m}` at `start` with its numbers; None where RE2 reads a literal brace."""
    close = pattern.find("}", start)
    if close < 0:
        return None
    low, comma, high = pattern[start + 1 : close].partition(",")
    if not (low.isascii() and low.isdigit()) or (high and not (high.isascii() and high.isdigit())):
        return None
    return pattern[start : close + 1], [low, high] if comma else [low]


def _check_repeat(counted: tuple[str, list[str]]) -> int:
    """The factor a counted repetition multiplies by; PatternError above MAX_REPEAT."""
    text, bounds = counted
    if any(bound and (len(bound) > 6 or int(bound) > MAX_REPEAT) for bound in bounds):
        raise PatternError(f"pattern too large: repetition {text} exceeds {MAX_REPEAT}")
    return max(int(bounds[0]) + (len(bounds) > 1 and not bounds[1]), int(bounds[-1] or 0))


def pattern_width(pattern: str) -> int:
    """About how many character positions the pattern spans, counted repetitions written out.

    This, not the number of RE2 instructions (one `\\pL` is 1,200 of them), is what a search's cost
    grows with where RE2's DFA gives up: each position can be a live state at every character.
    """
    pieces = list(_pieces(pattern))
    # Per open group: [width of the finished atoms and branches, width of the last atom].
    stack = [[0, 0]]
    i = 0
    while i < len(pieces):
        piece, frame = pieces[i], stack[-1]
        i += 1
        text = piece.text if piece.kind == "char" else ""
        if piece.kind == "open":
            while i < len(pieces) and pieces[i - 1].kind != "close":
                i += 1
            frame[0], frame[1] = frame[0] + frame[1], 1
        elif text == "(":
            i = _skip_group_flags(pieces, i, stack)
        elif text == ")" and len(stack) > 1:
            stack.pop()
            stack[-1][0], stack[-1][1] = stack[-1][0] + stack[-1][1], frame[0] + frame[1]
        elif text == "|":
            frame[0], frame[1] = frame[0] + frame[1], 0
        elif text == "{" and (counted := _counted(pattern, piece.start)) is not None:
            frame[1] *= _check_repeat(counted)
            i += len(counted[0]) - 1
        elif text not in ("*", "+", "?", "^", "$"):
            width = len(piece.text) - 4 if piece.kind == "quoted" else 1
            frame[0], frame[1] = frame[0] + frame[1], max(width, 1)
    return sum(sum(frame) for frame in stack)


def _skip_group_flags(pieces: list[_Piece], i: int, stack: list[list[int]]) -> int:
    """After '(': past `?:`, `?i:`, `?P<name>` (a group opens) or `?i)` (flags only, no group)."""
    if i < len(pieces) and pieces[i].text == "?":
        while i < len(pieces) and pieces[i].text not in (":", ">", ")"):
            i += 1
        if i < len(pieces) and pieces[i].text == ")":
            return i + 1
        i += 1
    stack.append([0, 0])
    return i


def _escaped(text: str) -> str:
    return "".join(f"\\{ch}" if ch in _SYNTAX else ch for ch in text)


def fold_literals(pattern: str) -> str:
    """Non-ASCII literals folded as the searched text is; escapes, class syntax and ASCII kept as written."""
    if pattern.isascii():
        return pattern
    out: list[str] = []
    for piece in _pieces(pattern):
        if piece.kind == "quoted":
            body = piece.text[2:-2] if piece.text.endswith("\\E") else piece.text[2:]
            out.append(f"\\Q{fold(body)}\\E" if body else piece.text)
        elif piece.kind != "char" or piece.text.isascii():
            out.append(piece.text)
        else:
            folded = _escaped(fold(piece.text))
            # Outside a class a character folded to several ('ß' to 'ss') stays one unit for a quantifier.
            multiple = len(fold(piece.text)) > 1 and not piece.in_class
            out.append(f"(?:{folded})" if multiple else folded)
    return "".join(out)


def compile_pattern(pattern: str) -> Any:
    """An RE2 program for a user's pattern, case-insensitive and without captures; PatternError if refused."""
    if not pattern:
        raise PatternError("empty regular expression")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"regular expression longer than {MAX_PATTERN_CHARS} characters")
    width = pattern_width(pattern)
    if width > MAX_WIDTH:
        raise PatternError(f"pattern too large: it spans about {width} characters, the limit is {MAX_WIDTH}")
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    # Only whether it matches counts: without capture groups RE2 never needs its slower submatch engines.
    options.never_capture = True
    options.max_mem = _RE2_MAX_MEM
    try:
        program = re2.compile(fold_literals(pattern), options)
    except re2.error as exc:
        first = exc.args[0] if exc.args else exc
        reason = first.decode(errors="replace") if isinstance(first, bytes) else str(first)
        # RE2 quotes the pattern, which may hold a line break or a control character: shown escaped.
        shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in reason)
        raise PatternError(f"bad regular expression: {shown}") from None
    size = max(program.programsize, program.reverseprogramsize)
    if size > MAX_PROGRAM_SIZE:
        raise PatternError(
            f"pattern too large: it compiles to {size} RE2 instructions, the limit is {MAX_PROGRAM_SIZE}"
        )
    return program
