"""Byte-level repairs for the commonest broken feeds, so they can still take the fast path.

Real publishers serve a blank line before the XML declaration, stray windows-1252 bytes in "UTF-8",
Latin-1 with no declaration, a `utf-16` declaration on UTF-8 bytes, and control characters XML forbids.
Each repair is cheap, certain and reported; anything else is left to feedparser's lenient parser.
"""

from __future__ import annotations

import codecs
import re

_DECLARATION = re.compile(rb"^<\?xml[^>]*?\?>")
_ENCODING_ATTR = re.compile(rb"""\sencoding\s*=\s*["'][^"']*["']""")
_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_WIDE = ("utf-16", "utf-32", "utf_16", "utf_32")


def _stray_byte(error: UnicodeError) -> tuple[str, int]:
    """A byte that is not UTF-8 is read as windows-1252 (Latin-1 where 1252 has a hole)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    byte = error.object[error.start : error.start + 1]
    try:
        return byte.decode("cp1252"), error.start + 1
    except UnicodeDecodeError:
        return byte.decode("latin-1"), error.start + 1


codecs.register_error("storywatch-cp1252", _stray_byte)


def repair_xml(data: bytes) -> tuple[bytes, list[str]] | None:
    """UTF-8 bytes with the repairs applied and what was repaired, or None when nothing applies."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return None
    notes: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    stripped = data.lstrip(b" \t\r\n")
    if len(stripped) != len(data) and stripped.startswith(b"<?xml"):
        notes.append("whitespace before the XML declaration")
        data = stripped
    match = _DECLARED.match(data)
    declared = match.group(1).decode("ascii").lower() if match else "utf-8"
    text: str | None = None
    if declared.startswith(_WIDE):
        # A declaration readable as single bytes cannot be UTF-16/32: the declaration lies.
        notes.append(f"declared {declared} but the bytes are not")
        declared = "utf-8"
    try:
        text = data.decode(declared)
    except LookupError:
        notes.append(f"unknown declared encoding {declared}")
    except UnicodeDecodeError:
        notes.append(f"bytes invalid for declared encoding {declared}")
    if text is None:
        text = data.decode("utf-8", errors="storywatch-cp1252")
    body = text.encode("utf-8")
    if declared != "utf-8" or notes:
        declaration = _DECLARATION.match(body)
        if declaration:
            fixed = _ENCODING_ATTR.sub(b' encoding="utf-8"', declaration.group(0), count=1)
            body = fixed + body[declaration.end() :]
    if _CONTROL.search(body):
        notes.append("control characters removed")
        body = _CONTROL.sub(b"", body)
    return (body, notes) if notes else None
