"""How a subscription's options route its messages, said in the metadata every adapter reads.

The keys (bot/chat.py documents what each platform does with them):
- `thread` = "story": a story-threaded alert. Sent with no `Destination.thread`, it starts the story's
  thread and its Receipt names the thread; delivery then sends the story's later alerts into it.
- `story_id`, `thread_name`: which story, and the thread's title where the platform shows one.
- `broadcast` = "1": a reply in a story thread is also shown in the channel (Slack).
- `via` = "webhook": post through the channel's webhook with the bot's name and avatar (Discord).
"""

from __future__ import annotations

from dataclasses import replace

from bot.messages.text import clip
from bot.models import Message, Subscription

# Discord caps thread names at 100 characters; Slack shows none. One cap for all keeps payloads shared.
THREAD_NAME_CAP = 100


def routed(
    message: Message, subscription: Subscription, *, story_id: int | None, story_title: str
) -> Message:
    """The message with the routing its subscription asks for; unchanged when it asks for none."""
    metadata = dict(message.metadata)
    if subscription.threaded and story_id is not None:
        metadata["thread"] = "story"
        metadata["story_id"] = str(story_id)
        metadata["thread_name"] = clip(story_title, THREAD_NAME_CAP) or f"Story {story_id}"
        if subscription.broadcast:
            metadata["broadcast"] = "1"
    if subscription.webhook:
        metadata["via"] = "webhook"
    if metadata == message.metadata:
        return message
    return replace(message, metadata=metadata)


def story_thread_of(message: Message) -> int | None:
    """The story whose thread this message belongs in, or None when it is not story-threaded."""
    if message.metadata.get("thread") != "story":
        return None
    raw = message.metadata.get("story_id", "")
    return int(raw) if raw.isdigit() else None
