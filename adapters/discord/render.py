"""A neutral Message as a Discord message: content, embeds and buttons, within Discord's limits.

The core has already split and trimmed the Message by DISCORD_CAPABILITIES (measured escaped), so this
only maps: each Section is an embed (heading: title, text: description, links: fields, context: footer),
the Message title is the first embed's author line (an embed's own title is its section's heading),
every text escaped by markup.escape or plain (both begin with the cleaning all renderers share),
and buttons carry a custom id the adapter turns back into command text when clicked.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import discord

from adapters.discord.markup import discord_len, escape, plain
from bot.messages import truncate
from bot.messages.text import one_line
from bot.models import Button, Message, Section, web_link

# One colour for every storywatch embed, so its posts are recognisable in a busy channel.
EMBED_COLOUR = discord.Colour(0x3B6EA5)
FIELD_NAME_LIMIT = 256
THREAD_NAME_LIMIT = 100
CUSTOM_ID_LIMIT = 100
# Discord checks a nonce of up to 25 characters for uniqueness for a few minutes (enforce_nonce).
NONCE_LENGTH = 25
_CUSTOM_ID = re.compile(r"^storywatch:(?P<action>[a-z_]{1,40}):(?P<value>[A-Za-z0-9_-]{1,64})$")
# Labels this short sit side by side (three to a row); longer ones get a row each.
_INLINE_LABEL = 32
# A field's value for a report with no web address: Discord refuses an empty one, and the core counts
# one character for it (bot.messages.splitting).
NO_LINK = "\u200b"
# Every message the bot sends pings nobody, whatever its text says.
NO_MENTIONS = discord.AllowedMentions.none()


@dataclass(frozen=True, slots=True)
class Rendered:
    """What one Discord message carries; the keyword arguments of every send the adapter makes."""

    content: str | None
    embeds: list[discord.Embed]
    view: discord.ui.View | None

    # discord.py marks an absent argument with MISSING (None would mean "clear it").
    @property
    def content_arg(self) -> Any:
        return self.content if self.content is not None else discord.utils.MISSING

    @property
    def view_arg(self) -> Any:
        return self.view if self.view is not None else discord.utils.MISSING


def render(message: Message, *, reply: bool = False) -> Rendered:
    """`message` for Discord. A reply shows its text above the embeds (it is the answer); a delivered
    alert or digest is its embeds alone (their text only repeats the title and headline)."""
    embeds = [embed for section in message.sections if (embed := _embed(section)) is not None]
    # A title of only invisible characters is no title: Discord refuses an empty embed or author.
    title = message.title if message.title and plain(message.title).strip() else None
    if title and embeds:
        embeds[0].set_author(name=plain(title))
    elif title:
        embeds = [discord.Embed(title=escape(title), colour=EMBED_COLOUR)]
    content = escape(message.text) if message.text and (reply or not embeds) else None
    return Rendered(content=content, embeds=embeds, view=button_view(message.buttons))


def _embed(section: Section) -> discord.Embed | None:
    """The section as an embed; None when nothing of it is left once cleaned (Discord refuses those)."""
    heading, text, footer = escape(section.heading or ""), escape(section.text), plain(section.context or "")
    if not (heading.strip() or text.strip() or footer.strip() or section.links):
        return None
    embed = discord.Embed(title=heading or None, description=text or None, colour=EMBED_COLOUR)
    if section.heading and section.links and _opens(section.links[0].url):
        # The headline opens its first source (an address with hidden characters opens nothing).
        embed.url = section.links[0].url
    inline = len(section.links) > 1 and all(len(link.label) <= _INLINE_LABEL for link in section.links)
    for link in section.links:
        # Discord refuses a blank field name: the address stands in for a missing label.
        name = truncate(plain(link.label).strip() or plain(link.url), FIELD_NAME_LIMIT, discord_len)
        # A URL stays whole (and clickable) in the escaping; anything around it is shown literally.
        value = escape(link.url) if _opens(link.url) else NO_LINK
        embed.add_field(name=escape(name), value=value, inline=inline)
    if footer.strip():
        embed.set_footer(text=footer)
    return embed


def _opens(url: str) -> bool:
    """True for an http(s) address without hidden characters; anything else opens nothing."""
    return bool(web_link(url)) and plain(url) == url


def button_view(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """Buttons as a message component row. Clicks are handled by their custom id (see `button_of`),
    whatever message they are on, so the view is stopped: discord.py must not keep one per message."""
    items: list[discord.ui.Button[discord.ui.View]] = [
        discord.ui.Button(label=plain(button.label), style=discord.ButtonStyle.secondary, custom_id=custom_id)
        for button in buttons
        if (custom_id := custom_id_for(button)) is not None
    ]
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    view.stop()
    return view


def custom_id_for(button: Button) -> str | None:
    custom_id = f"storywatch:{button.action}:{button.value}"
    return custom_id if _CUSTOM_ID.fullmatch(custom_id) else None


def button_of(custom_id: str) -> Button | None:
    """The Button a component's custom id stands for, or None if it is not one of ours."""
    match = _CUSTOM_ID.fullmatch(custom_id)
    if match is None:
        return None
    return Button(label="", action=match["action"], value=match["value"])


def thread_name(message: Message) -> str:
    """The name of the thread (or forum post) a message starts: the story's title where there is one."""
    name = message.metadata.get("thread_name") or message.title or message.text
    return truncate(one_line(plain(name)), THREAD_NAME_LIMIT) or "storywatch"


def nonce_for(idempotency_key: str) -> str:
    """A client message id within Discord's 25 characters, the same for every retry of the same part."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:NONCE_LENGTH]
