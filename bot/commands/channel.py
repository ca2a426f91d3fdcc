"""Handlers for what a channel receives: subscribe, unsubscribe, list, digest now."""

from __future__ import annotations

from dataclasses import replace

from bot.commands.replies import Context, channel_timezone, lines_section, private, public, unknown_topic
from bot.commands.request import CommandError
from bot.commands.syntax import DigestNow, ListSubscriptions, Subscribe, Unsubscribe
from bot.messages.text import format_local, plural
from bot.models import AlertMode, Message, Subscription


async def subscribe(command: Subscribe, ctx: Context) -> Message:
    services = ctx.services
    topic = await services.get_topic(command.topic_id)
    if topic is None:
        raise await unknown_topic(ctx, command.topic_id)
    destination = ctx.request.channel_destination
    existing = next(
        (sub for sub in await services.list_subscriptions(destination) if sub.topic_id == topic.id), None
    )
    base = existing or Subscription(destination=destination, topic_id=topic.id)
    mode = command.mode or base.mode
    if command.mode is None and command.digest_at is not None and not base.mode.digest:
        # A digest time alone asks for a digest; an existing instant subscription keeps its alerts too.
        mode = AlertMode.BOTH if existing else AlertMode.DIGEST
    wanted = replace(
        base,
        mode=mode,
        digest_at=command.digest_at if command.digest_at is not None else base.digest_at,
        timezone=command.timezone or base.timezone,
        min_sources=command.min_sources or base.min_sources,
        new_story_sources=command.new_story_sources or base.new_story_sources,
        threaded=base.threaded if command.threaded is None else command.threaded,
        broadcast=base.broadcast if command.broadcast is None else command.broadcast,
        webhook=base.webhook if command.webhook is None else command.webhook,
        paused_reason=None,
    )
    saved = await services.subscribe(wanted)
    verb = "Updated: this channel follows" if existing else "This channel now follows"
    return public(f"{verb} {topic.name or topic.id} ({topic.id}): {describe(saved)}.")


def describe(subscription: Subscription) -> str:
    """`instant alerts and a digest at 08:00 Asia/Seoul, from 2 sources, threaded`."""
    digest = f"a digest at {subscription.digest_at:%H:%M} {subscription.timezone}"
    if subscription.mode is AlertMode.INSTANT:
        text = "instant alerts"
        if subscription.timezone != "UTC":
            text += f" (times in {subscription.timezone})"
    elif subscription.mode is AlertMode.DIGEST:
        text = digest
    else:
        text = f"instant alerts and {digest}"
    if subscription.min_sources > 1:
        text += f", once {subscription.min_sources} sources report"
    if subscription.new_story_sources > max(1, subscription.min_sources):
        text += f", new stories once {subscription.new_story_sources} sources report"
    if subscription.threaded:
        text += ", threaded by story"
        if subscription.broadcast:
            text += " (replies also in the channel)"
    if subscription.webhook:
        text += ", through a webhook"
    if subscription.paused_reason:
        text += f" (paused: {subscription.paused_reason})"
    return text


async def unsubscribe(command: Unsubscribe, ctx: Context) -> Message:
    if not await ctx.services.unsubscribe(ctx.request.channel_destination, command.topic_id):
        raise CommandError(f"this channel does not follow '{command.topic_id}' (see 'list')")
    return public(f"This channel no longer follows {command.topic_id}.")


async def list_subscriptions(command: ListSubscriptions, ctx: Context) -> Message:
    subscriptions = await ctx.services.list_subscriptions(ctx.request.channel_destination)
    if not subscriptions:
        return private("This channel follows no topics yet: see 'topics', then 'subscribe <topic>'.")
    names = {topic.id: topic.name for topic in await ctx.services.list_topics()}
    lines = [
        f"{sub.topic_id} ({names.get(sub.topic_id) or 'removed topic'}): {describe(sub)}"
        for sub in sorted(subscriptions, key=lambda sub: sub.topic_id)
    ]
    text = f"This channel follows {plural(len(subscriptions), 'topic')}."
    return private(text, lines_section(lines), title="Subscriptions")


async def digest_now(command: DigestNow, ctx: Context) -> Message:
    destination = ctx.request.channel_destination
    nothing = private("This channel follows no topics, so there is no digest to send (see 'list').")
    # A channel with nothing to send costs no turn.
    if not await ctx.services.list_subscriptions(destination):
        return nothing
    again_at = await ctx.services.claim_digest_now(destination, ctx.request.user)
    if again_at is not None:
        when = format_local(again_at, await channel_timezone(ctx))
        return private(f"you asked for this channel's digest a short while ago; ask again after {when}")
    count = await ctx.services.request_digest(destination)
    if not count:
        return nothing
    return private(f"Digest on its way ({plural(count, 'topic')}).")
