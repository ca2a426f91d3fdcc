"""split_message against Slack-like, Discord-like and escaping capabilities, with random messages."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages import Capabilities, check_fits, fit_message, split_message, truncate
from bot.messages.splitting import section_size
from bot.models import Button, Link, Message, Section

SLACK_LIKE = Capabilities(
    max_text=40_000,
    max_title=150,
    max_sections=50,
    max_heading=150,
    max_section_text=3_000,
    max_context=3_000,
    max_fields=10,
    max_field=2_000,
    max_total=None,
    max_buttons=25,
    max_button_label=75,
)
DISCORD_LIKE = Capabilities(
    max_text=2_000,
    max_title=256,
    max_sections=10,
    max_heading=256,
    max_section_text=4_096,
    max_context=2_048,
    max_fields=25,
    max_field=1_024,
    max_total=6_000,
    max_buttons=25,
    max_button_label=80,
)


def _escaped_len(text: str) -> int:
    """Slack-style escaping makes '&' five characters and '<', '>' four."""
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


ESCAPING_TINY = Capabilities(
    max_text=120,
    max_title=40,
    max_sections=3,
    max_heading=30,
    max_section_text=200,
    max_context=50,
    max_fields=2,
    max_field=80,
    max_total=400,
    max_buttons=2,
    max_button_label=10,
    measure=_escaped_len,
)
ALL_CAPS = [SLACK_LIKE, DISCORD_LIKE, ESCAPING_TINY]

_alphabet = st.sampled_from(list("abcdefghij klmnop\n\t&<>.,-é漢😀\u200b"))
# Ready-made pieces keep generation cheap; the character-level and repeated texts add variety.
_FRAGMENTS = [
    "",
    "a",
    "Reuters",
    "naïve café",
    "emoji 😀😀 here",
    "& <b>escaped</b> &amp;",
    "line\nbreak\n\nparagraph",
    "word " * 60,
    "x" * 300,
    "漢字 " * 120,
    "Supercalifragilisticexpialidocious" * 10,
]
fragment = st.sampled_from(_FRAGMENTS)
long_text = st.builds(
    lambda word, times: (word + " ") * times, st.text(_alphabet, min_size=1, max_size=15), st.integers(0, 900)
)
any_text = st.one_of(fragment, st.text(_alphabet, max_size=40), long_text)
urls = st.builds(
    lambda path, pad: f"https://example.org/{path}{'x' * pad}",
    st.sampled_from(["", "a/b", "漢"]),
    st.integers(0, 2_100),
)
links = st.builds(Link, label=fragment, url=urls)
sections = st.builds(
    Section,
    text=any_text,
    heading=st.none() | any_text,
    # Mostly a few links, sometimes more than any platform takes in one section.
    links=st.integers(0, 9)
    .flatmap(lambda k: st.lists(links, max_size=3) if k else st.lists(links, min_size=24, max_size=30))
    .map(tuple),
    context=st.none() | any_text,
)
buttons = st.builds(Button, label=any_text, action=st.just("mute_story"), value=st.just("1"))
messages = st.builds(
    Message,
    text=any_text,
    title=st.none() | any_text,
    # Mostly short messages, sometimes more sections than Slack's 50 blocks.
    sections=st.integers(0, 3)
    .flatmap(
        lambda k: (
            st.lists(sections, max_size=12)
            if k
            else st.lists(sections, min_size=8, max_size=12).map(lambda few: few * 6)
        )
    )
    .map(tuple),
    buttons=st.lists(buttons, max_size=30).map(tuple),
    ephemeral=st.booleans(),
)
_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Whole random messages are costly to draw; three capability sets share the load.
_MESSAGE_SETTINGS = settings(_SETTINGS, max_examples=60)


@pytest.mark.parametrize("caps", ALL_CAPS, ids=["slack", "discord", "escaping"])
@_MESSAGE_SETTINGS
@given(message=messages)
def test_no_part_exceeds_any_limit(caps: Capabilities, message: Message) -> None:
    parts = split_message(message, caps)
    assert parts
    for part in parts:
        assert check_fits(part, caps) == []
        assert part.ephemeral == message.ephemeral
    assert all(not part.buttons and part.title is None for part in parts[1:])


@pytest.mark.parametrize("caps", ALL_CAPS, ids=["slack", "discord", "escaping"])
@_MESSAGE_SETTINGS
@given(message=messages)
def test_fit_message_gives_one_fitting_message(caps: Capabilities, message: Message) -> None:
    assert check_fits(fit_message(message, caps), caps) == []


@_SETTINGS
@given(texts=st.lists(st.text("abcdef ", max_size=3_000), min_size=1, max_size=40))
def test_section_order_is_kept_and_nothing_lost_when_sections_fit(texts: list[str]) -> None:
    originals = tuple(Section(text=f"s{index:03d} {text}".strip()) for index, text in enumerate(texts))
    parts = split_message(Message(text="t", title="Title", sections=originals), DISCORD_LIKE)
    flattened = [section for part in parts for section in part.sections]
    assert flattened == list(originals)


@pytest.mark.parametrize("caps", ALL_CAPS, ids=["slack", "discord", "escaping"])
@_SETTINGS
@given(texts=st.lists(any_text, min_size=1, max_size=60))
def test_order_is_kept_when_sections_are_trimmed(caps: Capabilities, texts: list[str]) -> None:
    originals = [Section(text=f"s{index:03d} {text}") for index, text in enumerate(texts)]
    parts = split_message(Message(text="t", sections=tuple(originals)), caps)
    markers = [re.match(r"s\d{3}", section.text) for part in parts for section in part.sections]
    assert [m.group() if m else None for m in markers] == [f"s{index:03d}" for index in range(len(texts))]


@_SETTINGS
@given(text=any_text, limit=st.integers(0, 400))
def test_truncate_cuts_at_a_word_boundary_with_an_ellipsis(text: str, limit: int) -> None:
    cut = truncate(text, limit)
    assert len(cut.encode("utf-16-le")) // 2 <= limit
    if cut != text and cut:
        assert cut.endswith("…")
        assert text.startswith(cut[:-1])


def test_truncate_prefers_the_last_whole_word() -> None:
    assert truncate("the summit in Hanoi ended early", 20) == "the summit in Hanoi…"
    assert truncate("Supercalifragilistic", 10) == "Supercali…"
    assert truncate("short", 10) == "short"
    assert truncate("anything", 0) == ""


def test_a_short_message_is_one_part_unchanged() -> None:
    message = Message(
        text="fallback",
        title="Title",
        sections=(Section(text="body", heading="Head", links=(Link("Reuters", "https://r.example/a"),)),),
        buttons=(Button("Mute this story", "mute_story", "12"),),
        metadata={"kind": "alert"},
    )
    assert split_message(message, DISCORD_LIKE) == [message]


def test_long_digest_becomes_a_parent_and_continuations() -> None:
    sections = tuple(Section(heading=f"Story {n}", text="word " * 500) for n in range(25))
    message = Message(text="Korea: 25 developments", title="Korea digest", sections=sections)
    parts = split_message(message, DISCORD_LIKE)
    assert len(parts) > 2
    assert parts[0].title == "Korea digest"
    assert parts[1].text == f"Korea digest (2/{len(parts)})"
    assert [s.heading for p in parts for s in p.sections] == [f"Story {n}" for n in range(25)]
    for part in parts:
        assert sum(section_size(section, DISCORD_LIKE) for section in part.sections) <= 6_000


def test_overlong_fields_are_trimmed_and_extra_links_move_on() -> None:
    many = tuple(Link(f"outlet {n}", f"https://o{n}.example/") for n in range(30))
    huge = Link("huge", "https://example.org/" + "x" * 2_000)
    section = Section(text="a " * 3_000, heading="h " * 200, links=(*many, huge), context="c " * 2_000)
    parts = split_message(Message(text="x", sections=(section,)), DISCORD_LIKE)
    out = [s for part in parts for s in part.sections]
    assert out[0].heading is not None and out[0].heading.endswith("…") and len(out[0].heading) <= 256
    assert out[0].text.endswith("…")
    assert [link.label for s in out for link in s.links] == [f"outlet {n}" for n in range(30)]
    assert len(out[0].links) == 25


def test_buttons_are_dropped_where_unsupported() -> None:
    caps = Capabilities(buttons=False)
    message = Message(text="x", buttons=(Button("Mute this story", "mute_story", "1"),))
    assert split_message(message, caps)[0].buttons == ()


def test_fit_message_notes_what_it_left_out() -> None:
    sections = tuple(Section(text=f"line {n}") for n in range(30))
    fitted = fit_message(Message(text="list", sections=sections), DISCORD_LIKE)
    assert len(fitted.sections) == 10
    assert fitted.sections[-1].context == "… and 21 more not shown"


def test_capabilities_refuse_non_positive_limits() -> None:
    with pytest.raises(ValueError, match="max_sections"):
        Capabilities(max_sections=0)
