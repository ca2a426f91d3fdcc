"""The one cleaning step for text from feeds, servers and chat members: what ingest stores and what every
renderer shows goes through `clean_untrusted`.

Ingest (bot.ingest.clean) runs it on every feed string after repairing mojibake; renderers (console,
terminal, Slack, Discord) run it before their own escaping (rich markup, mrkdwn entities, Discord
markdown). It removes what could rewrite a terminal or hide or reorder what a reader sees:

- ESC and C1 control sequences, whole (CSI, OSC, DCS, SOS, PM, APC), so an OSC 52 clipboard payload
  goes with its introducer; then every other C0 and C1 control (newline and tab kept when asked);
- bidi overrides, embeddings, isolates and marks (U+202A-E, U+2066-9, U+200E/F, U+061C);
- lone surrogates, which no encoder accepts, and the noncharacters U+FFFE and U+FFFF;
- invisible format characters that can hide or split text (zero-width space, word joiner, soft hyphen,
  BOM, invisible operators, interlinear annotation); zero-width joiners survive only between
  non-ASCII characters (emoji sequences, Persian and Indic scripts), tag characters only in flag emoji.
"""

from __future__ import annotations

import re

_SEQUENCES = (
    # CSI: ESC [ or C1 0x9B, parameter and intermediate bytes, a final byte.
    r"(?:\x1b\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?"
    # OSC, DCS, SOS, PM, APC (7-bit or C1): a string up to BEL or ST, or to the end when unterminated.
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    # Any other escape: ESC, intermediate bytes, one final byte.
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
_FORMAT = (
    r"\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    r"\ufeff\ufff9-\ufffb\ufffe\uffff\U0001d173-\U0001d17a"
)
_SURROGATES = r"\ud800-\udfff"
# Tag characters spell ASCII invisibly: kept only as a subdivision flag (🏴, 3-7 letters or digits, a
# cancel tag), so no text hides after a 🏴.
_TAGS = re.compile(
    r"\U0001f3f4(?:[\U000e0030-\U000e0039\U000e0061-\U000e007a]{3,7}\U000e007f)?|[\U000e0000-\U000e007f]"
)
_MULTILINE = re.compile(rf"{_SEQUENCES}|[\x00-\x08\x0b-\x1f\x7f-\x9f{_FORMAT}{_SURROGATES}]")
_ONE_LINE = re.compile(rf"{_SEQUENCES}|[\x00-\x1f\x7f-\x9f{_FORMAT}{_SURROGATES}]")
# Any character cleaning may touch: text without one (nearly all text) is returned as it is, quickly.
_SUSPECT_CHARS = rf"\x7f-\x9f{_FORMAT}{_SURROGATES}\u200c\u200d\u2028\u2029\U000e0000-\U000e007f"
_SUSPECT_MULTILINE = re.compile(rf"[\x00-\x08\x0b-\x1f{_SUSPECT_CHARS}]")
_SUSPECT_ONE_LINE = re.compile(rf"[\x00-\x1f{_SUSPECT_CHARS}]")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029]")
_BREAKS_TO_SPACES = str.maketrans(dict.fromkeys("\r\n\t\u2028\u2029", " "))
_JOINERS = re.compile(r"[\u200c\u200d]+")
_HAS_TAG = re.compile(r"[\U000e0000-\U000e007f]")


def clean_untrusted(text: str, *, multiline: bool = True) -> str:
    """`text` without control sequences, controls, bidi and invisible format characters.

    With `multiline`, newlines (any line ending becomes `\\n`) and tabs stay, for layouts that use them;
    without, they become spaces. Idempotent, and never longer than `text`.
    """
    if not (_SUSPECT_MULTILINE if multiline else _SUSPECT_ONE_LINE).search(text):
        return text
    if multiline:
        text = _MULTILINE.sub("", _LINE_BREAKS.sub("\n", text))
    else:
        text = _ONE_LINE.sub("", text.translate(_BREAKS_TO_SPACES))
    if _HAS_TAG.search(text):
        text = _TAGS.sub(_flag_or_nothing, text)
    return _JOINERS.sub(_joiner, text) if "\u200c" in text or "\u200d" in text else text


def _flag_or_nothing(match: re.Match[str]) -> str:
    """A 🏴 with the subdivision tags after it kept; any other tag character removed."""
    return match.group() if match.group().startswith("\U0001f3f4") else ""


def _joiner(match: re.Match[str]) -> str:
    """A run of zero-width joiners kept only between two non-ASCII characters (where scripts use it)."""
    text, start, end = match.string, match.start(), match.end()
    if start > 0 and end < len(text) and not text[start - 1].isascii() and not text[end].isascii():
        return match.group()
    return ""
