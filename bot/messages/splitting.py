"""The core's message splitting: one neutral Message in, parts that fit a platform's Capabilities out.

The first part is the parent (title, buttons); the others are continuations an adapter may post as
thread replies. Nothing is reordered; over-long texts are trimmed with an ellipsis at a word boundary,
links beyond a section's limit move to a following links-only section, and links whose URL alone is too
long for the platform are dropped (a cut URL would be a wrong one).
"""

from __future__ import annotations

from dataclasses import replace

from bot.messages.capabilities import Capabilities
from bot.messages.text import truncate
from bot.models import Button, Link, Message, Section
from bot.text_safety import clean_untrusted

# The label of a link that has neither a visible label nor an address.
BLANK_LABEL = "source"
# Room kept for the "… N more not shown" note when a reply must fit in one message.
_NOTE_ROOM = 60


def split_message(message: Message, caps: Capabilities) -> list[Message]:
    """The parts of `message` that each fit `caps`: parent first, then continuations, in order."""
    measure = caps.measure
    total = caps.max_total
    title = _trim_optional(message.title, min(caps.max_title, total or caps.max_title), caps)
    title_size = measure(title) if title else 0

    parts: list[list[Section]] = []
    current: list[Section] = []
    used = title_size
    for section in (piece for original in message.sections for piece in _normalise(original, caps)):
        size = section_size(section, caps)
        full = len(current) >= caps.max_sections or (total is not None and used + size > total)
        if current and full:
            parts.append(current)
            current, used = [], 0
        if total is not None and used + size > total:
            # Alone in its part and still too large: trim it to the room there is.
            shrunk = _shrink(section, total - used, caps)
            if _is_empty(shrunk) and used:
                # Only the parent's title left no room: give the section a part of its own.
                parts.append(current)
                current, used = [], 0
                shrunk = _shrink(section, total, caps)
            section = shrunk
            size = section_size(section, caps)
            if _is_empty(section):
                continue
        current.append(section)
        used += size
    parts.append(current)

    text = truncate(message.text, caps.max_text, measure)
    buttons = _buttons(message.buttons, caps)
    parent = Message(
        text=text,
        title=title,
        sections=tuple(parts[0]),
        buttons=buttons,
        ephemeral=message.ephemeral,
        metadata=dict(message.metadata),
    )
    result = [parent]
    count = len(parts)
    for number, sections in enumerate(parts[1:], start=2):
        suffix = f" ({number}/{count})"
        base = truncate(message.title or message.text, max(caps.max_text - measure(suffix), 0), measure)
        result.append(
            Message(
                text=truncate((base + suffix).strip(), caps.max_text, measure),
                sections=tuple(sections),
                ephemeral=message.ephemeral,
                metadata=dict(message.metadata),
            )
        )
    return result


def fit_message(message: Message, caps: Capabilities) -> Message:
    """One message that fits `caps` (for replies, which cannot be threaded), with a note if cut."""
    parts = split_message(message, caps)
    if len(parts) == 1:
        return parts[0]
    room = replace(
        caps,
        max_sections=max(caps.max_sections - 1, 1),
        max_total=None if caps.max_total is None else max(caps.max_total - _NOTE_ROOM, 1),
    )
    head, *rest = split_message(message, room)
    hidden = sum(len(part.sections) for part in rest)
    if caps.max_sections == 1 or not hidden:
        return head
    note = Section(context=truncate(f"… and {hidden} more not shown", caps.max_context, caps.measure))
    return replace(head, sections=(*head.sections, note), metadata=dict(head.metadata))


def check_fits(message: Message, caps: Capabilities) -> list[str]:
    """Every limit of `caps` that `message` breaks, one short line each; empty if it fits."""
    measure = caps.measure
    problems: list[str] = []

    def over(what: str, text: str, limit: int) -> None:
        if measure(text) > limit:
            problems.append(f"{what} is {measure(text)} long (limit {limit})")

    over("text", message.text, caps.max_text)
    if message.title:
        over("title", message.title, caps.max_title)
    if len(message.sections) > caps.max_sections:
        problems.append(f"{len(message.sections)} sections (limit {caps.max_sections})")
    for index, section in enumerate(message.sections):
        over(f"section {index} heading", section.heading or "", caps.max_heading)
        over(f"section {index} text", section.text, caps.max_section_text)
        over(f"section {index} context", section.context or "", caps.max_context)
        if len(section.links) > caps.max_fields:
            problems.append(f"section {index} has {len(section.links)} links (limit {caps.max_fields})")
        for link in section.links:
            if _link_size(link, caps) > caps.max_field:
                problems.append(f"a link in section {index} is too long (limit {caps.max_field})")
    if caps.max_total is not None:
        size = (measure(message.title) if message.title else 0) + sum(
            section_size(section, caps) for section in message.sections
        )
        if size > caps.max_total:
            problems.append(f"message is {size} long in all (limit {caps.max_total})")
    if message.buttons and not caps.buttons:
        problems.append("buttons are not supported")
    if len(message.buttons) > caps.max_buttons:
        problems.append(f"{len(message.buttons)} buttons (limit {caps.max_buttons})")
    for button in message.buttons:
        over(f"button {button.action!r} label", button.label, caps.max_button_label)
    return problems


def section_size(section: Section, caps: Capabilities) -> int:
    """What a section counts towards `max_total`."""
    measure = caps.measure
    return (
        measure(section.heading or "")
        + measure(section.text)
        + measure(section.context or "")
        + sum(_link_size(link, caps) for link in section.links)
    )


def _link_size(link: Link, caps: Capabilities) -> int:
    return caps.measure(link.label) + _url_size(link, caps)


def _url_size(link: Link, caps: Capabilities) -> int:
    """A link without an address still takes one character where a platform needs a value (Discord)."""
    return max(caps.measure(link.url), 1)


def _trim_optional(text: str | None, limit: int, caps: Capabilities) -> str | None:
    return (truncate(text, limit, caps.measure) or None) if text else None


def _normalise(section: Section, caps: Capabilities) -> list[Section]:
    """The section with each field within its own limit; extra links carried into links-only sections."""
    links = [fitted for link in section.links if (fitted := _fit_link(link, caps)) is not None]
    step = caps.max_fields
    groups = [tuple(links[start : start + step]) for start in range(0, len(links), step)]
    first = Section(
        text=truncate(section.text, caps.max_section_text, caps.measure),
        heading=_trim_optional(section.heading, caps.max_heading, caps),
        links=groups[0] if groups else (),
        context=_trim_optional(section.context, caps.max_context, caps),
    )
    pieces = [first, *(Section(links=group) for group in groups[1:])]
    return [piece for piece in pieces if not _is_empty(piece)]


def _fit_link(link: Link, caps: Capabilities) -> Link | None:
    if not clean_untrusted(link.label).strip():
        # Renderers show a blank label as the address (a field name may not be blank): count that.
        link = Link(link.url or BLANK_LABEL, link.url)
    room = caps.max_field - _url_size(link, caps)
    if room < 0:
        return None
    if caps.measure(link.label) <= room:
        return link
    return Link(truncate(link.label, room, caps.measure), link.url)


def _shrink(section: Section, budget: int, caps: Capabilities) -> Section:
    """The section cut down to measure at most `budget`: text first, then links, context, heading."""
    measure = caps.measure
    heading = section.heading or ""
    context = section.context or ""
    links = list(section.links)
    fixed = measure(heading) + measure(context) + sum(_link_size(link, caps) for link in links)
    if fixed <= budget:
        return replace(section, text=truncate(section.text, budget - fixed, measure))
    while links and fixed > budget:
        fixed -= _link_size(links.pop(), caps)
    if fixed > budget:
        context = truncate(context, max(budget - measure(heading), 0), measure)
        heading = truncate(heading, max(budget - measure(context), 0), measure)
    return Section(text="", heading=heading or None, links=tuple(links), context=context or None)


def _is_empty(section: Section) -> bool:
    return not (section.text or section.heading or section.context or section.links)


def _buttons(buttons: tuple[Button, ...], caps: Capabilities) -> tuple[Button, ...]:
    if not caps.buttons:
        return ()
    return tuple(
        replace(button, label=truncate(button.label, caps.max_button_label, caps.measure))
        for button in buttons[: caps.max_buttons]
    )
