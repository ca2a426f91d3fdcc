"""The alert: one message per new development, saying which story it continues and what is new in it."""

from __future__ import annotations

from bot.messages.text import clip, format_local, plural
from bot.models import Button, Link, Message, Section
from bot.views import DevelopmentView

# Builder caps, well above what a reader needs; the splitter trims further per platform.
TITLE_CAP = 200
HEADLINE_CAP = 300
WHAT_IS_NEW_CAP = 1_000
LABEL_CAP = 80
MAX_SOURCE_LINKS = 5

MUTE_STORY = "mute_story"
UNMUTE_STORY = "unmute_story"
OPEN_TIMELINE = "open_timeline"
OPEN_TOPIC_TIMELINE = "open_topic_timeline"


def build_alert(development: DevelopmentView, *, topic_name: str, timezone: str = "UTC") -> Message:
    """The alert for one new development, times shown in the subscription's time zone."""
    headline = clip(development.headline, HEADLINE_CAP)
    story = clip(development.story_title, TITLE_CAP)
    topic = clip(topic_name, TITLE_CAP)
    if development.story_is_new:
        title = clip(f"New story: {story}", TITLE_CAP) if story else clip(f"New story in {topic}", TITLE_CAP)
        text = clip(f"New story in {topic}: {headline}", HEADLINE_CAP)
    else:
        title = clip(f"Story: {story}", TITLE_CAP) if story else headline
        text = clip(f"{headline} (story: {story})", HEADLINE_CAP) if story else headline
    section = Section(
        heading=headline,
        text=clip(development.what_is_new, WHAT_IS_NEW_CAP),
        links=source_links(development.sources),
        context=_context(development, topic, timezone),
    )
    buttons: tuple[Button, ...] = ()
    metadata = {"kind": "alert", "development_id": str(development.development_id)}
    if development.story_id is not None:
        story_id = str(development.story_id)
        buttons = (
            Button("Mute this story", MUTE_STORY, story_id),
            Button("Open timeline", OPEN_TIMELINE, story_id),
        )
        metadata["story_id"] = story_id
    return Message(text=text, title=title, sections=(section,), buttons=buttons, metadata=metadata)


def source_links(sources: tuple[Link, ...], limit: int = MAX_SOURCE_LINKS) -> tuple[Link, ...]:
    """The first `limit` source links, labels made one capped line (outlet names come from feeds)."""
    return tuple(Link(clip(link.label, LABEL_CAP) or link.url, link.url) for link in sources[:limit])


def _context(development: DevelopmentView, topic: str, timezone: str) -> str:
    count = max(development.source_count, len(development.sources))
    sources = plural(count, "source")
    if count > min(len(development.sources), MAX_SOURCE_LINKS):
        sources += f" ({min(len(development.sources), MAX_SOURCE_LINKS)} linked)"
    parts = [format_local(development.first_seen, timezone), sources, topic]
    if development.story_id is not None:
        parts.append(f"story {development.story_id}")
    return " · ".join(part for part in parts if part)
