"""What one chat platform accepts in one message, in neutral units: the core splits and trims by these.

An adapter that spends several platform blocks on one Section (Slack: a section block plus a context
block) divides its block limit accordingly, and one that adds formatting around text (a bold heading
inside the section text) lowers the text limits by that much: the limits here are for the neutral
Message, measured by `measure` (which may count the adapter's escaping, e.g. `&` as `&amp;`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: never less than code points, and what JavaScript-side limits count."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """Per-message limits and features of a platform. The defaults fit both Slack and Discord."""

    # The fallback/notification text (Slack: 40,000; Discord message content: 2,000).
    max_text: int = 2_000
    max_title: int = 150
    # Sections per message (Slack: blocks / blocks per section; Discord: 10 embeds).
    max_sections: int = 10
    max_heading: int = 150
    max_section_text: int = 3_000
    max_context: int = 2_000
    # Links per section (Discord renders them as embed fields: 25 per embed).
    max_fields: int = 25
    # One link: its label plus its URL (Discord field value: 1,024).
    max_field: int = 1_024
    # Title, headings, texts, contexts and links of one message together (Discord: 6,000); None: no limit.
    max_total: int | None = 6_000
    max_buttons: int = 5
    max_button_label: int = 75
    threads: bool = True
    buttons: bool = True
    # Sustained sends the platform tolerates: per channel, and for the whole bot.
    per_channel_rate: float = 1.0
    global_rate: float = 20.0
    # Sustained sends per workspace or guild, where the platform limits that too (Slack); None: no such limit.
    workspace_rate: float | None = None
    measure: Callable[[str], int] = utf16_len

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
                raise ValueError(f"Capabilities.{spec.name} must be > 0, not {value!r}")
