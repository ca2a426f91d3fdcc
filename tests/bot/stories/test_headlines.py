"""Headlines as shown: wire flags and datelines off; a development's plainest, most shared headline chosen."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.models import Article
from bot.stories.headlines import bait_penalty, choose_headline, clean_headline, strip_wire_tags

T0 = datetime(2024, 10, 18, 3, 0, tzinfo=UTC)


def report(title: str, source: str = "Outlet", text: str = "") -> Article:
    return Article(
        url=f"https://{source.lower().replace(' ', '')}.example/{abs(hash(title))}",
        title=title,
        text=text,
        published=T0,
        source_id=1,
        item_key=title,
        source_name=source,
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("(URGENT) N. Korea fires ICBM toward East Sea: JCS", "N. Korea fires ICBM toward East Sea: JCS"),
        (
            "(LEAD) N. Korea fires apparent ICBM, first since 2017",
            "N. Korea fires apparent ICBM, first since 2017",
        ),
        (
            "(2nd LD) N. Korea says it sought only partial relief",
            "N. Korea says it sought only partial relief",
        ),
        ("(3rd LD, News Focus) Talks end", "Talks end"),
        ("(News Focus) Kim's year-end deadline looms", "Kim's year-end deadline looms"),
        ("URGENT: Quake hits Tokyo", "Quake hits Tokyo"),
        ("FLASH - Quake hits Tokyo", "Quake hits Tokyo"),
        ("UPDATE 2-Fed raises rates", "Fed raises rates"),
        ("BREAKING NEWS: Fed raises rates", "Fed raises rates"),
        ("EXCLUSIVE-Fed weighs bigger hike", "Fed weighs bigger hike"),
        ("(LEAD) (URGENT) Two flags", "Two flags"),
        ("Fed raises rates (UPDATE 3)", "Fed raises rates"),
        # No flag: left as it is, parentheses and colons in the middle included.
        ("Lead poisoning cases rise (report)", "Lead poisoning cases rise (report)"),
        ("Trump: Singapore summit is ON", "Trump: Singapore summit is ON"),
        ("  Line\nbreaks   and  spaces ", "Line breaks and spaces"),
    ],
)
def test_wire_flags_come_off(raw: str, clean: str) -> None:
    assert clean_headline(raw) == clean


def test_an_outlets_own_name_at_the_end_comes_off() -> None:
    assert clean_headline("Fed raises rates - Reuters", "Reuters") == "Fed raises rates"
    assert clean_headline("Fed raises rates | The Guardian", "The Guardian") == "Fed raises rates"
    assert clean_headline("Fed raises rates - Reuters", "AP") == "Fed raises rates - Reuters"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("SEOUL, Oct. 5 (Yonhap) -- North Korea fired a missile.", "North Korea fired a missile."),
        ("WASHINGTON (Reuters) - The Fed raised rates.", "The Fed raised rates."),
        ("TOKYO, March 24 (AFP) — A missile landed.", "A missile landed."),
        ("SEOUL, South Korea (AP) — Officials said.", "Officials said."),
        ("GENEVA — Talks resumed.", "Talks resumed."),
        ("NATO said the drills would go on.", "NATO said the drills would go on."),
        ("US-led talks - a recap of the day.", "US-led talks - a recap of the day."),
    ],
)
def test_datelines_come_off(raw: str, clean: str) -> None:
    assert strip_wire_tags(raw) == clean


def test_questions_teasers_and_shouting_are_penalised() -> None:
    plain = bait_penalty("North Korea fires missile over Japan")
    assert plain == 0.0
    for bait in (
        "Why is North Korea firing missiles over Japan again?",
        "SIRENS WAIL as Kim's missile screams over Japan",
        "Kim goes full Top Gun: bizarre missile launch video",
        "You won't believe this summit!",
        "What we know about North Korea's troops in Russia",
    ):
        assert bait_penalty(bait) > 1.0, bait


def test_the_plain_shared_headline_is_chosen_over_questions_and_clickbait() -> None:
    reports = [
        report("Why is North Korea firing missiles over Japan again?", "The Guardian"),
        report("SIRENS WAIL as Kim's missile screams over Japan, sending millions scrambling", "The Sun"),
        report("North Korea fires missile over Japan for first time in five years", "Reuters"),
        report("North Korean missile flies over Japan, J-Alert urges residents to take cover", "Kyodo News"),
        report("North Korean missile flies over Japan, J-Alert urges residents to take cover", "Japan Times"),
    ]
    best = choose_headline(reports)
    assert best is not None and "?" not in best.title and "SIRENS" not in best.title


def test_a_question_is_shown_only_when_nothing_plainer_exists() -> None:
    question = report("Breaking the Deadlock? S. Korean Adviser Urges UN Chief to Visit Pyongyang", "Digest")
    plain = report("South Korea urges UN's Guterres to consider North Korea trip: reports", "AFP")
    assert choose_headline([question, plain]) is plain
    assert choose_headline([question]) is question
    assert choose_headline([]) is None


def test_a_headline_carried_by_several_outlets_and_wires_win_ties() -> None:
    copy = "Putin and Kim sign pact pledging mutual aid if either country is attacked"
    reports = [
        report("Putin Hands Kim Another Aurus Limousine Along With a Defense Pact", "The Moscow Times"),
        report(copy, "Associated Press"),
        report(copy, "Yahoo News"),
        report("Putin and Kim sign 'comprehensive strategic partnership' in Pyongyang", "BBC News"),
    ]
    best = choose_headline(reports)
    assert best is not None and best.title == copy and best.source_name == "Associated Press"
