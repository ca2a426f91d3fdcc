"""Messages as JSON and back, losslessly: the outbox stores what delivery will post."""

from __future__ import annotations

import json
from typing import Any

from bot.models import Button, Link, Message, Section

_VERSION = 1


def message_to_dict(message: Message) -> dict[str, Any]:
    return {
        "v": _VERSION,
        "text": message.text,
        "title": message.title,
        "sections": [
            {
                "text": s.text,
                "heading": s.heading,
                "links": [[link.label, link.url] for link in s.links],
                "context": s.context,
            }
            for s in message.sections
        ],
        "buttons": [[b.label, b.action, b.value] for b in message.buttons],
        "ephemeral": message.ephemeral,
        "metadata": dict(message.metadata),
    }


def message_from_dict(data: dict[str, Any]) -> Message:
    if data.get("v") != _VERSION:
        raise ValueError(f"unknown message format version {data.get('v')!r}")
    return Message(
        text=str(data["text"]),
        title=data["title"],
        sections=tuple(
            Section(
                text=s["text"],
                heading=s["heading"],
                links=tuple(Link(label, url) for label, url in s["links"]),
                context=s["context"],
            )
            for s in data["sections"]
        ),
        buttons=tuple(Button(label, action, value) for label, action, value in data["buttons"]),
        ephemeral=bool(data["ephemeral"]),
        metadata={str(k): str(v) for k, v in data["metadata"].items()},
    )


def message_to_json(message: Message) -> str:
    # ensure_ascii=False keeps stored payloads readable and no larger than needed.
    return json.dumps(message_to_dict(message), ensure_ascii=False, separators=(",", ":"))


def message_from_json(payload: str) -> Message:
    return message_from_dict(json.loads(payload))
