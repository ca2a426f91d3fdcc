"""The digest: per channel and subscribed topic, the stories that moved since the last one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.messages.alerts import LABEL_CAP, OPEN_TOPIC_TIMELINE, TITLE_CAP
from bot.messages.text import clip, format_date, format_local, plural
from bot.models import Button, Link, Message, Section
from bot.views import DevelopmentView

HEADLINE_CAP = 150
WHAT_IS_NEW_CAP = 240
# Below Slack's 3,000 per section, so whole lines move to a continued section instead of being cut.
SECTION_TEXT_CAP = 2_800
DEFAULT_MAX_DEVELOPMENTS = 15


def build_digest(
    developments: Sequence[DevelopmentView],
    *,
    topic_id: str,
    topic_name: str,
    timezone: str,
    until: datetime,
    since: datetime | None = None,
    max_developments: int = DEFAULT_MAX_DEVELOPMENTS,
) -> Message:
    """The digest of `developments` (those first seen in the period) for one topic.

    Developments are ranked by how many outlets reported them, then by recency; the best
    `max_developments` are shown, grouped by story (stories in the order of their best development),
    and the rest are counted in an 'and N more' line.
    """
    topic = clip(topic_name, TITLE_CAP) or topic_id
    title = clip(f"{topic}: digest for {format_date(until, timezone)}", TITLE_CAP)
    period = f" since {format_local(since, timezone)}" if since is not None else ""
    buttons = (Button("Open timeline", OPEN_TOPIC_TIMELINE, topic_id),)
    metadata = {"kind": "digest", "topic_id": topic_id}
    if not developments:
        text = f"{topic}: no new developments{period}"
        return Message(
            text=text,
            title=title,
            sections=(Section(text=f"No new developments{period}."),),
            buttons=buttons,
            metadata=metadata,
        )

    ranked = sorted(developments, key=lambda development: development.rank_key)
    shown = ranked[: max(max_developments, 1)]
    stories = _group_by_story(shown)
    all_stories = len({_story_key(development) for development in developments})
    text = (
        f"{topic}: {plural(len(developments), 'new development')} in "
        f"{plural(all_stories, 'story', 'stories')}{period}"
    )
    sections = [section for group in stories for section in _story_sections(group, timezone)]
    hidden = len(developments) - len(shown)
    if hidden:
        sections.append(Section(context=f"and {hidden} more: type 'timeline {topic_id}' to see them all"))
    return Message(text=text, title=title, sections=tuple(sections), buttons=buttons, metadata=metadata)


def _story_key(development: DevelopmentView) -> tuple[str, int]:
    if development.story_id is None:
        return ("development", development.development_id)
    return ("story", development.story_id)


def _group_by_story(ranked: Sequence[DevelopmentView]) -> list[list[DevelopmentView]]:
    groups: dict[tuple[str, int], list[DevelopmentView]] = {}
    for development in ranked:
        groups.setdefault(_story_key(development), []).append(development)
    return list(groups.values())


def _story_sections(group: list[DevelopmentView], timezone: str) -> list[Section]:
    lead = group[0]
    label = clip(lead.story_title, TITLE_CAP)
    new = any(d.story_is_new for d in group)
    if label:
        heading = clip(f"New story: {label}" if new else f"Story: {label}", TITLE_CAP)
    else:
        heading = clip(lead.headline, TITLE_CAP) + (" (new story)" if new else "")
    context = plural(len(group), "new development")
    if lead.story_id is not None:
        context = f"story {lead.story_id} · {context}"
    chunks: list[tuple[list[str], list[Link]]] = [([], [])]
    size = 0
    for development in group:
        line = _line(development, timezone)
        if chunks[-1][0] and size + len(line) + 1 > SECTION_TEXT_CAP:
            chunks.append(([], []))
            size = 0
        chunks[-1][0].append(line)
        size += len(line) + 1
        if development.sources:
            # The headline is on the line above: the link names its outlet, and the headline only to tell
            # several developments' links apart.
            first = development.sources[0]
            label = f"{first.label}: {development.headline}" if len(group) > 1 else first.label
            chunks[-1][1].append(Link(clip(label, LABEL_CAP) or first.url, first.url))
    return [
        Section(
            heading=heading if index == 0 else f"{heading} (continued)",
            text="\n".join(lines),
            links=tuple(links),
            context=context,
        )
        for index, (lines, links) in enumerate(chunks)
    ]


def _line(development: DevelopmentView, timezone: str) -> str:
    headline = clip(development.headline, HEADLINE_CAP)
    what = clip(development.what_is_new, WHAT_IS_NEW_CAP)
    when = format_local(development.first_seen, timezone, with_year=False)
    count = plural(max(development.source_count, len(development.sources)), "source")
    body = f"{headline} — {what}" if what and what != headline else headline
    return f"• {body} ({count}, {when})"
