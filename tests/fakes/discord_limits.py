"""What Discord refuses in a message payload, checked as Discord does (400, code 50035 Invalid Form Body).

Limits from discord-api-docs (developers/resources/message, Embed Limits; components; threads). Lengths
are counted in UTF-16 units, never fewer than Discord's characters, so a payload passing here passes there.
"""

from __future__ import annotations

import re
from typing import Any

CONTENT = 2_000
EMBEDS = 10
TITLE = 256
DESCRIPTION = 4_096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1_024
FOOTER = 2_048
AUTHOR = 256
EMBEDS_TOTAL = 6_000
NONCE = 25
CUSTOM_ID = 100
BUTTON_LABEL = 80
ROWS = 5
ROW_BUTTONS = 5
THREAD_NAME = 100
WEBHOOK_NAME = 80
_RESERVED_NAME = re.compile(r"clyde|discord", re.IGNORECASE)


def size(text: object) -> int:
    return len(str(text).encode("utf-16-le")) // 2 if text is not None else 0


def message_problems(payload: dict[str, Any], *, needs_body: bool = True) -> list[str]:
    """Each limit the message payload breaks, as `path: reason`; empty when Discord would take it."""
    problems: list[str] = []
    content = payload.get("content")
    if content is not None and size(content) > CONTENT:
        problems.append(f"content: {size(content)} > {CONTENT}")
    embeds = payload.get("embeds") or []
    if len(embeds) > EMBEDS:
        problems.append(f"embeds: {len(embeds)} > {EMBEDS}")
    total = 0
    for index, embed in enumerate(embeds):
        total += _embed_problems(embed, f"embeds.{index}", problems)
    if total > EMBEDS_TOTAL:
        problems.append(f"embeds: {total} characters in all > {EMBEDS_TOTAL}")
    nonce = payload.get("nonce")
    if nonce is not None and size(nonce) > NONCE:
        problems.append(f"nonce: {size(nonce)} > {NONCE}")
    components = payload.get("components") or []
    _component_problems(components, problems)
    if needs_body and not (content or embeds or components):
        problems.append("message: cannot send an empty message")
    return problems


def _embed_problems(embed: dict[str, Any], path: str, problems: list[str]) -> int:
    def check(name: str, text: object, limit: int) -> int:
        length = size(text)
        if length > limit:
            problems.append(f"{path}.{name}: {length} > {limit}")
        return length

    total = check("title", embed.get("title"), TITLE) + check(
        "description", embed.get("description"), DESCRIPTION
    )
    fields = embed.get("fields") or []
    if len(fields) > FIELDS:
        problems.append(f"{path}.fields: {len(fields)} > {FIELDS}")
    for number, field in enumerate(fields):
        for key, limit in (("name", FIELD_NAME), ("value", FIELD_VALUE)):
            text = field.get(key)
            if not str(text or "").strip():
                problems.append(f"{path}.fields.{number}.{key}: required")
            total += check(f"fields.{number}.{key}", text, limit)
    total += check("footer.text", (embed.get("footer") or {}).get("text"), FOOTER)
    total += check("author.name", (embed.get("author") or {}).get("name"), AUTHOR)
    if total == 0 and not fields:
        problems.append(f"{path}: empty embed")
    return total


def _component_problems(rows: list[dict[str, Any]], problems: list[str]) -> None:
    if len(rows) > ROWS:
        problems.append(f"components: {len(rows)} rows > {ROWS}")
    for index, row in enumerate(rows):
        buttons = row.get("components") or []
        if len(buttons) > ROW_BUTTONS:
            problems.append(f"components.{index}: {len(buttons)} > {ROW_BUTTONS}")
        for number, button in enumerate(buttons):
            if size(button.get("custom_id")) > CUSTOM_ID:
                problems.append(f"components.{index}.{number}.custom_id: > {CUSTOM_ID}")
            if size(button.get("label")) > BUTTON_LABEL:
                problems.append(f"components.{index}.{number}.label: > {BUTTON_LABEL}")


def thread_name_problems(name: object) -> list[str]:
    length = size(name)
    return [] if 1 <= length <= THREAD_NAME else [f"name: {length} characters (1 to {THREAD_NAME})"]


def webhook_name_problems(name: object) -> list[str]:
    text = str(name or "")
    if not 1 <= size(text) <= WEBHOOK_NAME or _RESERVED_NAME.search(text):
        return [f"username: '{text[:40]}' is not allowed"]
    return []


def invalid_form_body(problems: list[str]) -> dict[str, Any]:
    return {"code": 50035, "message": "Invalid Form Body", "errors": {"_problems": problems}}
