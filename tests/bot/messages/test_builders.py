"""build_alert and build_digest: content, ranking, the 'and N more' cap, time zones, caps on feed text."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.messages import Capabilities, build_alert, build_digest, check_fits, split_message
from bot.models import Button, Link
from tests.bot.commands.fake_services import T0, development


def test_alert_for_a_development_that_continues_a_story() -> None:
    view = development(12, story_id=3, headline="Summit ends early", what_is_new="No agreement.", sources=7)
    alert = build_alert(view, topic_name="Korea diplomacy", timezone="Asia/Seoul")
    assert alert.title == "Story: North Korea–US talks"
    assert alert.text == "Summit ends early (story: North Korea–US talks)"
    (section,) = alert.sections
    assert section.heading == "Summit ends early"
    assert section.text == "No agreement."
    assert [link.label for link in section.links] == [f"Outlet {n}" for n in range(5)]
    assert section.context == "3 Mar 2026 14:00 KST · 7 sources (5 linked) · Korea diplomacy · story 3"
    assert alert.buttons == (
        Button("Mute this story", "mute_story", "3"),
        Button("Open timeline", "open_timeline", "3"),
    )
    assert alert.metadata == {"kind": "alert", "development_id": "12", "story_id": "3"}
    assert not alert.ephemeral


def test_alert_for_a_new_story() -> None:
    view = development(
        1,
        story_id=9,
        story_title="Chip export rules",
        headline="US tightens chip exports",
        sources=1,
        story_is_new=True,
    )
    alert = build_alert(view, topic_name="Chips")
    assert alert.title == "New story: Chip export rules"
    assert alert.text == "New story in Chips: US tightens chip exports"
    assert alert.sections[0].context == "3 Mar 2026 05:00 UTC · 1 source · Chips · story 9"


def test_alert_whose_story_has_no_label_shows_the_headline() -> None:
    alert = build_alert(development(4, story_id=2, story_title="", headline="Talks resume"), topic_name="K")
    assert alert.title == "Talks resume" and alert.text == "Talks resume"
    fresh = build_alert(
        development(5, story_id=3, story_title="", headline="Talks", story_is_new=True), topic_name="Korea"
    )
    assert fresh.title == "New story in Korea"


def test_a_digest_shows_each_development_once() -> None:
    """One development: its headline once, in its line; the heading is the label, the link its outlet."""
    view = development(
        7,
        story_id=4,
        story_title="Guterres · UN",
        headline="South Korea urges UN's Guterres to visit",
        what_is_new="Wi suggested the UN chief travel to Pyongyang.",
        story_is_new=True,
    )
    digest = build_digest([view], topic_id="korea", topic_name="Korea", timezone="UTC", until=T0)
    rendered = [digest.title, digest.text] + [
        part for s in digest.sections for part in (s.heading or "", s.text, s.context or "")
    ]
    rendered += [link.label for s in digest.sections for link in s.links]
    assert sum(part.count("South Korea urges") for part in rendered) == 1
    assert digest.sections[0].heading == "New story: Guterres · UN"
    assert [link.label for link in digest.sections[0].links] == ["Outlet 0"]


def test_alert_without_a_story_has_no_buttons() -> None:
    alert = build_alert(development(5, story_id=None), topic_name="Korea")
    assert alert.buttons == () and "story_id" not in alert.metadata


def test_alert_caps_and_flattens_feed_text() -> None:
    view = development(1, headline="Breaking:\n\n" + "word " * 200, what_is_new="x " * 2_000)
    view = replace(view, sources=(Link("A\nB " * 100, "https://a.example/"),))
    alert = build_alert(view, topic_name="T")
    section = alert.sections[0]
    assert section.heading is not None and "\n" not in section.heading and len(section.heading) <= 300
    assert section.heading.endswith("…") and len(section.text) <= 1_000
    assert len(section.links[0].label) <= 80 and "\n" not in section.links[0].label
    assert [check_fits(part, Capabilities()) for part in split_message(alert, Capabilities())] == [[]]


def test_digest_ranks_by_sources_then_recency_and_groups_by_story() -> None:
    developments = [
        development(1, story_id=1, headline="Minor note", sources=1, hours=5),
        development(2, story_id=2, story_title="Chips", headline="Big chip news", sources=8, hours=1),
        development(3, story_id=1, headline="Summit set", sources=5, hours=2),
        development(4, story_id=1, headline="Summit ends", sources=5, hours=3),
        development(
            5,
            story_id=3,
            story_title="Elections",
            headline="Vote called",
            sources=2,
            hours=4,
            story_is_new=True,
        ),
    ]
    digest = build_digest(
        developments, topic_id="korea", topic_name="Korea", timezone="UTC", until=T0 + timedelta(days=1)
    )
    assert digest.title == "Korea: digest for 4 Mar 2026"
    assert digest.text == "Korea: 5 new developments in 3 stories"
    assert [s.heading for s in digest.sections] == [
        "Story: Chips",
        "Story: North Korea–US talks",
        "New story: Elections",
    ]
    story_one = digest.sections[1]
    assert [line.split(" — ")[0] for line in story_one.text.splitlines()] == [
        "• Summit ends",
        "• Summit set",
        "• Minor note",
    ]
    assert story_one.context == "story 1 · 3 new developments"
    # Several developments: each link says whose it is; alone, a development's link names only its outlet.
    assert story_one.links[0] == Link("Outlet 0: Summit ends", "https://outlet0.example/4")
    assert digest.sections[0].links[0] == Link("Outlet 0", "https://outlet0.example/2")
    assert digest.buttons == (Button("Open timeline", "open_topic_timeline", "korea"),)
    assert digest.metadata == {"kind": "digest", "topic_id": "korea"}


def test_digest_caps_with_and_n_more() -> None:
    developments = [development(n, story_id=n % 4, sources=n, hours=n) for n in range(1, 41)]
    digest = build_digest(
        developments, topic_id="korea", topic_name="Korea", timezone="UTC", until=T0, max_developments=15
    )
    lines = [line for section in digest.sections for line in section.text.splitlines()]
    assert len(lines) == 15
    assert "(40 sources" in lines[0]
    assert digest.sections[-1].context == "and 25 more: type 'timeline korea' to see them all"
    assert digest.text == "Korea: 40 new developments in 4 stories"


def test_digest_times_in_the_subscriptions_zone() -> None:
    digest = build_digest(
        [development(1, hours=16)],
        topic_id="korea",
        topic_name="Korea",
        timezone="America/New_York",
        since=T0 - timedelta(days=1),
        until=T0 + timedelta(hours=20),
    )
    assert digest.title == "Korea: digest for 3 Mar 2026"
    assert digest.text == "Korea: 1 new development in 1 story since 2 Mar 2026 00:00 EST"
    assert digest.sections[0].text.endswith("(2 sources, 3 Mar 16:00 EST)")


def test_an_empty_digest_says_so() -> None:
    digest = build_digest([], topic_id="korea", topic_name="Korea", timezone="UTC", until=T0, since=T0)
    assert digest.text == "Korea: no new developments since 3 Mar 2026 05:00 UTC"
    assert digest.sections[0].text == "No new developments since 3 Mar 2026 05:00 UTC."


def test_a_long_story_continues_in_another_section_instead_of_losing_lines() -> None:
    developments = [development(n, what_is_new="detail " * 40, sources=2, hours=n) for n in range(15)]
    digest = build_digest(developments, topic_id="korea", topic_name="Korea", timezone="UTC", until=T0)
    assert [s.heading for s in digest.sections] == [
        "Story: North Korea–US talks",
        "Story: North Korea–US talks (continued)",
    ]
    assert all(len(s.text) <= 2_800 for s in digest.sections)
    assert sum(len(s.text.splitlines()) for s in digest.sections) == 15
    slack_like = Capabilities(max_total=None, max_sections=50, max_section_text=3_000)
    assert [check_fits(part, slack_like) for part in split_message(digest, slack_like)] == [[]]
