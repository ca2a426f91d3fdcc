"""The `/story` command group: every core command as a typed slash subcommand.

Each subcommand turns its options back into the core's command text and hands a CommandRequest to the
runtime, so parsing, validation and permissions stay in one place. Discord applies default member
permissions to top-level commands only (not to subcommands), and reading commands are for everyone,
so the changing ones are refused here already, privately and before anything is deferred, by the core's
own rules (bot.commands.access, which the core applies again): a channel's changes (subscribe,
unsubscribe, mute, unmute, digest) need Manage Channels there or a bot admin; topics need a bot admin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import discord
from discord import app_commands

from adapters.discord.autocomplete import subscribed_choices, timezone_choices, topic_choices
from adapters.discord.convert import OptionError, command_text, request_for, switch, word
from adapters.discord.replies import QUICK_S, answer, tell
from bot.chat import CommandHandler
from bot.commands import AccessPolicy, Need, need_for
from bot.commands.syntax import NAMES
from bot.messages import Capabilities
from bot.ports import ChoiceLookups

# Changes to the channel or the topics: their success is announced to the channel, other replies are private.
PUBLIC_ON_SUCCESS = frozenset(
    {
        "story subscribe",
        "story unsubscribe",
        "story topic add",
        "story topic remove",
        "story mute",
        "story unmute",
    }
)
# Subcommands whose name is not the command people type.
_TYPED = {"digest": "digest now"}
STORY_ID = app_commands.Range[int, 1, 2**53]
TopicId = app_commands.Range[str, 1, 64]
HELP_CHOICES = [app_commands.Choice(name=name, value=name) for name in NAMES]


class NotChannelManager(app_commands.CheckFailure):
    """Refused before the core is asked; the message is the private reply."""


@dataclass(frozen=True, slots=True)
class CommandContext:
    """What the subcommands need: where commands go, the lookups for suggestions, the reply limits."""

    lookups: ChoiceLookups
    caps: Capabilities
    access: AccessPolicy
    handler: Callable[[], CommandHandler | None]
    quick_s: float = QUICK_S


class StoryCommands(app_commands.Group):
    topic = app_commands.Group(name="topic", description="Add or remove a topic the bot watches")

    def __init__(self, context: CommandContext) -> None:
        super().__init__(
            name="story",
            description="Follow news stories in this channel",
            # Subscriptions belong to server channels: not offered in DMs, not installable by a user.
            guild_only=True,
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=False, private_channel=False
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        )
        self.context = context

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        command = interaction.command
        if command is None:
            return True
        name = command.qualified_name.removeprefix(f"{self.name} ")
        name = _TYPED.get(name, name)
        need = need_for(name)
        if need is Need.NOTHING:
            return True
        request = request_for(interaction, "")
        if self.context.access.allows(request, need):
            return True
        raise NotChannelManager(self.context.access.refusal(request, need, name))

    async def run(self, interaction: discord.Interaction, text: Callable[[], str]) -> None:
        """Hand the command text to the core and answer with its reply."""
        handler = self.context.handler()
        try:
            command = text()
        except OptionError as exc:
            await tell(interaction, str(exc))
            return
        if handler is None:
            await tell(interaction, "storywatch is starting; try again in a moment")
            return
        name = interaction.command.qualified_name if interaction.command else ""
        await answer(
            interaction,
            handler(request_for(interaction, command)),
            self.context.caps,
            private=name not in PUBLIC_ON_SUCCESS,
            quick_s=self.context.quick_s,
        )

    @app_commands.command(description="Follow a topic in this channel; options left out keep their value")
    @app_commands.rename(min_sources="min-sources", new_story_sources="new-story-sources")
    @app_commands.describe(
        topic="The topic to follow (see /story topics)",
        mode="Alert at once, in a daily digest, or both",
        at="Digest time, HH:MM (24-hour)",
        tz="Time zone for the digest and times, e.g. Europe/Paris",
        min_sources="Alert once this many outlets report a development",
        new_story_sources="Announce a new story once this many outlets report it",
        threaded="Each story's alerts in a thread of its own (in a forum: a post per story)",
        webhook="Post through a channel webhook (needs Manage Webhooks)",
    )
    async def subscribe(
        self,
        interaction: discord.Interaction,
        topic: TopicId,
        mode: Literal["instant", "digest", "both"] | None = None,
        at: str | None = None,
        tz: str | None = None,
        min_sources: app_commands.Range[int, 1, 50] | None = None,
        new_story_sources: app_commands.Range[int, 1, 50] | None = None,
        threaded: bool | None = None,
        webhook: bool | None = None,
    ) -> None:
        await self.run(
            interaction,
            lambda: command_text(
                "subscribe",
                word(topic, "the topic"),
                mode,
                at and f"at {word(at, 'the digest time')}",
                tz and f"tz {word(tz, 'the time zone')}",
                f"min-sources {min_sources}" if min_sources is not None else None,
                f"new-story-sources {new_story_sources}" if new_story_sources is not None else None,
                switch(threaded, "threaded", "unthreaded"),
                switch(webhook, "webhook", "no-webhook"),
            ),
        )

    @subscribe.autocomplete("tz")
    async def _zones(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return timezone_choices(typed)

    @app_commands.command(description="Stop following a topic in this channel")
    @app_commands.describe(topic="A topic this channel follows")
    async def unsubscribe(self, interaction: discord.Interaction, topic: TopicId) -> None:
        await self.run(interaction, lambda: command_text("unsubscribe", word(topic, "the topic")))

    @unsubscribe.autocomplete("topic")
    async def _followed(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        channel = request_for(interaction, "").channel_destination
        return await subscribed_choices(self.context.lookups, channel, typed)

    @app_commands.command(name="list", description="This channel's subscriptions")
    async def list_subscriptions(self, interaction: discord.Interaction) -> None:
        await self.run(interaction, lambda: "list")

    @app_commands.command(description="The topics you can follow")
    async def topics(self, interaction: discord.Interaction) -> None:
        await self.run(interaction, lambda: "topics")

    @topic.command(name="add", description='Add a topic: keywords, "phrases", OR, NOT')
    @app_commands.rename(topic_id="id")
    @app_commands.describe(
        topic_id="Short id: lowercase letters, digits, - and _", query='e.g. "TSMC" OR chips NOT stocks'
    )
    async def topic_add(
        self, interaction: discord.Interaction, topic_id: TopicId, query: app_commands.Range[str, 1, 500]
    ) -> None:
        await self.run(interaction, lambda: command_text("topic add", word(topic_id, "the topic id"), query))

    @topic.command(name="remove", description="Remove a topic (its subscriptions end with it)")
    async def topic_remove(self, interaction: discord.Interaction, topic: TopicId) -> None:
        await self.run(interaction, lambda: command_text("topic remove", word(topic, "the topic")))

    @app_commands.command(description="Search recent developments")
    async def lookup(self, interaction: discord.Interaction, words: app_commands.Range[str, 1, 200]) -> None:
        await self.run(interaction, lambda: command_text("lookup", words))

    @app_commands.command(description="The latest developments of a topic or of a story")
    @app_commands.describe(topic="A topic", story="A story number (shown in alerts)")
    async def timeline(
        self, interaction: discord.Interaction, topic: TopicId | None = None, story: STORY_ID | None = None
    ) -> None:
        def text() -> str:
            if (topic is None) == (story is None):
                raise OptionError("give a topic or a story number (one of them)")
            if story is not None:
                return f"timeline story {story}"
            return f"timeline topic {word(topic or '', 'the topic')}"

        await self.run(interaction, text)

    @subscribe.autocomplete("topic")
    @topic_remove.autocomplete("topic")
    @timeline.autocomplete("topic")
    async def _topics(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return await topic_choices(self.context.lookups, typed)

    @app_commands.command(name="story", description="A story: when it started, its latest developments")
    async def show_story(self, interaction: discord.Interaction, story: STORY_ID) -> None:
        await self.run(interaction, lambda: f"story {story}")

    @app_commands.command(description="Stop alerts about one story in this channel")
    async def mute(self, interaction: discord.Interaction, story: STORY_ID) -> None:
        await self.run(interaction, lambda: f"mute {story}")

    @app_commands.command(description="Alert about a muted story again")
    async def unmute(self, interaction: discord.Interaction, story: STORY_ID) -> None:
        await self.run(interaction, lambda: f"unmute {story}")

    @app_commands.command(description="Send this channel's digest now")
    async def digest(self, interaction: discord.Interaction) -> None:
        await self.run(interaction, lambda: "digest now")

    @app_commands.command(description="The feeds the bot reads and their health")
    async def sources(self, interaction: discord.Interaction) -> None:
        await self.run(interaction, lambda: "sources")

    @app_commands.command(name="help", description="The commands, or one in detail")
    @app_commands.choices(command=HELP_CHOICES)
    async def help_command(self, interaction: discord.Interaction, command: str | None = None) -> None:
        await self.run(interaction, lambda: command_text("help", command))
