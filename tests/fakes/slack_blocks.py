"""What the fake Slack checks in a message: Block Kit limits as Slack enforces them, and what mrkdwn would
turn into a mention or a link.

Written from Slack's Block Kit reference (blocks, section, header, context, actions, button, text
objects), independently of the adapter's own limits, so a test against it is a real check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

MAX_BLOCKS = 50
# Slack reads these spans in mrkdwn (and in a message's top-level text): <!channel>, <@U1>, <#C1>, <url|x>.
_SPECIAL = re.compile(r"<([^<>]*)>")


def block_problems(blocks: Any) -> list[str]:
    """Why Slack would answer `invalid_blocks`; empty when the blocks are valid."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    action_ids: set[str] = set()
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, dict):
            problems.append(f"a block must be an object [{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > 255 or block_id in block_ids:
                problems.append(f"invalid or repeated block_id [{where}/block_id]")
            block_ids.add(str(block_id))
        problems.extend(_block_problems(block, where, action_ids))
    return problems


def _block_problems(block: dict[str, Any], where: str, action_ids: set[str]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return _text_problems(block.get("text"), f"{where}/text", 150, plain_only=True)
    if kind == "section":
        problems: list[str] = []
        fields = block.get("fields")
        if block.get("text") is None and not fields:
            return [f"a section needs text or fields [{where}]"]
        if block.get("text") is not None:
            problems += _text_problems(block["text"], f"{where}/text", 3000)
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                problems.append(f"no more than 10 fields [{where}/fields]")
            else:
                for n, item in enumerate(fields):
                    problems += _text_problems(item, f"{where}/fields/{n}", 2000)
        return problems
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return [f"a context needs 1 to 10 elements [{where}/elements]"]
        return [p for n, e in enumerate(elements) for p in _text_problems(e, f"{where}/elements/{n}", 3000)]
    if kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            return [f"actions need 1 to 25 elements [{where}/elements]"]
        return [
            p
            for n, e in enumerate(elements)
            for p in _button_problems(e, f"{where}/elements/{n}", action_ids)
        ]
    if kind == "divider":
        return []
    return [f"unknown block type {kind!r} [{where}/type]"]


def _button_problems(element: Any, where: str, action_ids: set[str]) -> list[str]:
    if not isinstance(element, dict) or element.get("type") != "button":
        return [f"only buttons are expected here [{where}]"]
    problems = _text_problems(element.get("text"), f"{where}/text", 75, plain_only=True)
    action_id = element.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or len(action_id) > 255:
            problems.append(f"action_id must be at most 255 characters [{where}/action_id]")
        elif action_id in action_ids:
            problems.append(f"action_id {action_id!r} is repeated [{where}/action_id]")
        action_ids.add(str(action_id))
    url = element.get("url")
    if url is not None and (not isinstance(url, str) or not 0 < len(url) <= 3000):
        problems.append(f"url must be 1 to 3000 characters [{where}/url]")
    value = element.get("value")
    if value is not None and (not isinstance(value, str) or len(value) > 2000):
        problems.append(f"value must be at most 2000 characters [{where}/value]")
    return problems


def _text_problems(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"expected a text object [{where}]"]
    if plain_only and obj["type"] != "plain_text":
        return [f"must be plain_text [{where}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"text must not be empty [{where}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    return []


def mrkdwn_texts(text: str, blocks: Any) -> Iterator[str]:
    """Every string Slack parses as mrkdwn in a message: the top-level text and mrkdwn text objects."""
    yield text
    for block in blocks or ():
        yield from _mrkdwn_in(block)


def _mrkdwn_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            if isinstance(value, dict | list):
                yield from _mrkdwn_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _mrkdwn_in(item)


def specials(text: str, blocks: Any) -> list[str]:
    """The mentions and links Slack would make of a message (`!channel`, `@U123`, `https://x|label`)."""
    return [match for part in mrkdwn_texts(text, blocks) for match in _SPECIAL.findall(part)]


def plain_texts(blocks: Any) -> list[str]:
    """The visible text of a message's blocks, in order (what a reader sees, before un-escaping)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
                found.append(node["text"])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks or [])
    return found
