"""The one entry point adapters call: a CommandRequest in, a Message out, never an exception."""

from __future__ import annotations

import logging
import secrets

from bot.commands import channel, stories, topics
from bot.commands.access import AccessPolicy, Need, name_of, need_for, need_of
from bot.commands.grammar import parse
from bot.commands.replies import Context, lines_section, private
from bot.commands.request import CommandError, CommandRequest
from bot.commands.services import CommandServices
from bot.commands.syntax import (
    SPECS,
    AddTopic,
    Command,
    DigestNow,
    Help,
    ListSources,
    ListSubscriptions,
    ListTopics,
    Lookup,
    Mute,
    RemoveTopic,
    ShowStory,
    StoryTimeline,
    Subscribe,
    TopicTimeline,
    Unmute,
    Unsubscribe,
    spec_for,
)
from bot.messages.alerts import MUTE_STORY, OPEN_TIMELINE, OPEN_TOPIC_TIMELINE, UNMUTE_STORY
from bot.models import Button, Message

log = logging.getLogger("storywatch.commands")

_NO_ACCESS = AccessPolicy()
_BUTTON_COMMANDS = {
    MUTE_STORY: "mute {}",
    UNMUTE_STORY: "unmute {}",
    OPEN_TIMELINE: "timeline story {}",
    OPEN_TOPIC_TIMELINE: "timeline topic {}",
}


async def handle(
    request: CommandRequest, services: CommandServices, *, access: AccessPolicy = _NO_ACCESS
) -> Message:
    """Parse, check permission, run. Usage errors and refusals are one-line private replies; anything
    unexpected is logged with a reference the user can quote."""
    try:
        command = parse(request.text)
        need = need_of(command)
        if not access.allows(request, need):
            log.info(
                "refused %r to %s:%s in %s (needs %s)",
                request.text[:80],
                request.platform.value,
                request.user,
                request.channel_destination.key,
                need.value,
            )
            return private(access.refusal(request, need, name_of(command)))
        return await _run(command, Context(request, services))
    except CommandError as exc:
        log.info(
            "command %r from %s:%s: %s", request.text[:200], request.platform.value, request.user, exc.reply
        )
        return private(exc.reply)
    except Exception:
        ref = secrets.token_hex(3)
        log.exception(
            "command %r from %s:%s failed (ref %s)",
            request.text[:200],
            request.platform.value,
            request.user,
            ref,
        )
        return private(f"something went wrong (ref {ref})")


def command_for_button(button: Button) -> str | None:
    """The command text a click on `button` runs, so buttons go through the same grammar and checks."""
    template = _BUTTON_COMMANDS.get(button.action)
    return template.format(button.value) if template else None


async def _run(command: Command, ctx: Context) -> Message:
    match command:
        case Subscribe():
            return await channel.subscribe(command, ctx)
        case Unsubscribe():
            return await channel.unsubscribe(command, ctx)
        case ListSubscriptions():
            return await channel.list_subscriptions(command, ctx)
        case DigestNow():
            return await channel.digest_now(command, ctx)
        case ListTopics():
            return await topics.list_topics(command, ctx)
        case AddTopic():
            return await topics.add_topic(command, ctx)
        case RemoveTopic():
            return await topics.remove_topic(command, ctx)
        case ListSources():
            return await topics.list_sources(command, ctx)
        case Lookup():
            return await stories.lookup(command, ctx)
        case TopicTimeline() | StoryTimeline():
            return await stories.timeline(command, ctx)
        case ShowStory():
            return await stories.show_story(command, ctx)
        case Mute() | Unmute():
            return await stories.mute(command, ctx)
        case Help():
            return help_reply(command.command)


def help_reply(name: str | None) -> Message:
    if name is None:
        lines = [f"{spec.usage}: {spec.summary}" for spec in SPECS]
        return private(
            "storywatch commands: " + ", ".join(spec.name for spec in SPECS),
            lines_section(lines),
            title="storywatch commands",
        )
    spec = spec_for(name)
    if spec is None:
        return private(f"no help for '{name}'")
    return private(f"{spec.usage}\n{spec.summary}{_WHO[need_for(name)]}\nExample: {spec.example}")


_WHO = {
    Need.NOTHING: "",
    Need.CHANNEL: " Channel managers and bot admins only.",
    Need.TOPICS: " Bot admins only.",
}
