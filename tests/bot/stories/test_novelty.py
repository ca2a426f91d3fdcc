"""The 'what is new' line: a cleaned sentence from the reports, carrying what the story had not said."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.models import Article
from bot.stories.novelty import known_stems, new_sentence, tidy_terms
from bot.stories.sentences import clean_sentence, is_usable, shorten, split_sentences

T0 = datetime(2024, 6, 19, 3, 0, tzinfo=UTC)


def report(title: str, text: str, source: str = "Outlet") -> Article:
    return Article(
        url=f"https://{source.lower()}.example/{abs(hash(title + text))}",
        title=title,
        text=text,
        published=T0,
        source_id=1,
        item_key=title,
        source_name=source,
    )


def test_sentences_split_at_ends_but_not_at_abbreviations_or_initials() -> None:
    text = (
        "N. Korea fired a missile at 7 a.m. on Oct. 5, the U.S. military said. "
        "President John F. Kennedy was not mentioned! Was it Gen. Kim's order? "
        '"It was," Mr. Lee said. Talks follow.'
    )
    assert split_sentences(text) == [
        "N. Korea fired a missile at 7 a.m. on Oct. 5, the U.S. military said.",
        "President John F. Kennedy was not mentioned!",
        "Was it Gen. Kim's order?",
        '"It was," Mr. Lee said.',
        "Talks follow.",
    ]
    assert split_sentences("") == []


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "North Korea fired a ballistic missile early on Wednesday that Japan said came down in its zone.",
            "North Korea fired a ballistic missile that Japan said came down in its zone.",
        ),
        (
            "Secretary of State Mike Pompeo said Thursday that his meetings had moved things forward.",
            "Secretary of State Mike Pompeo said that his meetings had moved things forward.",
        ),
        (
            "Kim Yong-chol had dinner in Manhattan on Wednesday (local time) as the two sides talk.",
            "Kim Yong-chol had dinner in Manhattan as the two sides talk.",
        ),
        (
            "The two sides ended talks without agreement Saturday, with Pyongyang blaming Washington.",
            "The two sides ended talks without agreement, with Pyongyang blaming Washington.",
        ),
        ("On Monday, the ministry said the drills would go on.", "The ministry said the drills would go on."),
        ("Putin landed early on Wednesday local time and was greeted.", "Putin landed and was greeted."),
        ("Wednesday's launch was the third this year.", "Wednesday's launch was the third this year."),
        (
            "SEOUL, Oct. 5 (Yonhap) -- North Korea fired what appeared to be an SLBM, the JCS said.",
            "North Korea fired what appeared to be an SLBM, the JCS said.",
        ),
        (
            "(LEAD) URGENT: North Korea fired a missile into the sea.",
            "North Korea fired a missile into the sea.",
        ),
        ("Updated 10:32 a.m. ET | The Fed held rates steady.", "The Fed held rates steady."),
    ],
)
def test_sentences_are_cleaned_of_wire_tags_datelines_and_weekdays(raw: str, clean: str) -> None:
    assert clean_sentence(raw) == clean


def test_fragments_and_page_furniture_are_no_sentence() -> None:
    assert is_usable("North Korea fired a missile into the sea.")
    for fragment in (
        "24, 2000, airport",
        "The missile flew about …",
        "Click here to read more about it.",
        "x",
    ):
        assert not is_usable(fragment), fragment


def test_long_sentences_are_cut_after_a_clause() -> None:
    sentence = "The launch came days before talks, " + "and analysts said it was a warning " * 10 + "to all."
    short = shorten(sentence, 120)
    assert len(short) <= 121 and short.endswith("…") and short.startswith("The launch came days before talks")
    assert shorten("Short.", 120) == "Short."


PUTIN = [
    report(
        "Putin arrives in North Korea on first visit in 24 years",
        "Russian President Vladimir Putin landed in Pyongyang early on Wednesday local time and was greeted "
        "at the airport by Kim Jong Un, state media showed, his first trip to the country since 2000.",
        "Reuters",
    ),
    report("Putin lands in Pyongyang", "", "Daily Mail"),
]


def test_a_new_story_gets_the_lead_sentence_of_its_best_summary() -> None:
    line = new_sentence(PUTIN, PUTIN[0].title, known=set())
    assert line == (
        "Russian President Vladimir Putin landed in Pyongyang and was greeted at the airport by Kim Jong Un, "
        "state media showed, his first trip to the country since 2000."
    )


def test_the_sentence_carries_what_the_storys_earlier_developments_did_not_have() -> None:
    earlier = known_stems(
        [
            "Kim Jong Un met Vladimir Putin at the Vostochny spaceport in Russia's Far East.",
            "Putin accepted an invitation to visit Pyongyang at a convenient time.",
        ]
    )
    reports = [
        report(
            "Putin and Kim meet in Pyongyang",
            "Vladimir Putin met Kim Jong Un in Pyongyang. "
            "The two leaders signed a mutual defence treaty obliging each to aid the other if attacked.",
            "Reuters",
        )
    ]
    line = new_sentence(reports, reports[0].title, earlier)
    assert line.startswith("The two leaders signed a mutual defence treaty")


def test_a_summary_that_only_repeats_the_headline_is_passed_over() -> None:
    reports = [
        report("North Korea sends troops to Russia", "North Korea sends troops to Russia.", "Wire"),
        report(
            "Seoul: troops sent",
            "South Korea's spy agency said about 1,500 special forces had moved to Russia's Far East.",
            "Paper",
        ),
    ]
    line = new_sentence(reports, reports[0].title, known=set())
    assert line.startswith("South Korea's spy agency said about 1,500 special forces")


def test_no_usable_sentence_gives_nothing_and_the_word_list_is_tidied() -> None:
    flash = [report("(URGENT) N. Korea fires ICBM toward East Sea: JCS", "")]
    assert new_sentence(flash, "N. Korea fires ICBM toward East Sea: JCS", known=set()) == ""
    assert tidy_terms("URGENT", "N. Korea fires ICBM toward East Sea: JCS") == ""
    assert tidy_terms("24, 2000, airport, Wednesday, local, greeted", "Putin arrives in North Korea") == (
        "airport, local, greeted"
    )
    assert tidy_terms("Lavrov, arrived, Pyongyang", "Russia's Lavrov arrives in North Korea") == "Pyongyang"


def test_feed_markup_in_a_sentence_is_left_as_text_for_the_renderers_to_escape() -> None:
    text = (
        "Officials told <!channel> and @everyone that *talks* would resume in [Hanoi](https://evil.example)."
    )
    line = new_sentence([report("Talks to resume", text)], "Talks to resume", known=set())
    # Taken as it was written: no markup added or half-removed here (each adapter escapes it).
    assert line == text
