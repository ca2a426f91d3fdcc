"""Story labels: names and terms the story's developments share, re-derived as the story grows."""

from __future__ import annotations

from bot.stories.labels import story_label
from bot.stories.text import stem

KOREA_QUERY = [stem(w) for w in ["north", "korea", "pyongyang", "kim", "jong", "un", "dprk", "icbm"]]
# In a Korea topic every story says 'North Korea'; only 'Trump', 'Russia' and 'Putin' tell stories apart.
SPREAD = {"north": 12, "korea": 12, "kim": 8, "trump": 4, "russia": 2, "putin": 2, "missil": 5}
TOPIC = {"common": KOREA_QUERY, "story_frequency": SPREAD, "stories": 12}

MISSILE_2017 = [
    "N. Korea fires ballistic missile toward East Sea: JCS",
    "North Korea fires ICBM that lands in Japan's waters",
    "North Korea says new Hwasong-15 ICBM can reach all of US mainland",
]
DMZ_2019 = [
    "Trump becomes first sitting U.S. president to step into North Korea",
    "Trump and Kim shake hands at the DMZ in historic border meeting",
]
RUSSIA = [
    [
        "Kremlin says North Korea's Kim will visit Russia in coming days",
        "Kim Jong Un's armored train crosses into Russia ahead of Putin meeting",
    ],
    ["Putin greets Kim at Russian spaceport, hints at help with satellites"],
    ["Russia's Lavrov arrives in North Korea for talks"],
    ["Putin arrives in North Korea on first visit in 24 years"],
    ["North Korea has sent troops to help Russia's war, South Korea says"],
]


def words(label: str) -> set[str]:
    return {part.lower() for part in label.split(" · ")}


def test_a_label_is_the_terms_most_developments_share_names_first() -> None:
    label = story_label(RUSSIA, **TOPIC)
    assert label.split(" · ")[0] == "Russia"
    assert "Putin" in label.split(" · ")
    assert 1 <= len(label.split(" · ")) <= 3


def test_words_every_story_of_the_topic_has_are_no_label() -> None:
    label = story_label(RUSSIA, **TOPIC)
    assert "north korea" not in words(label) and "korea" not in words(label)


def test_the_label_follows_the_story_as_it_grows() -> None:
    first = story_label([MISSILE_2017], **TOPIC)
    assert words(first) & {"icbm", "missile", "ballistic", "hwasong"}
    grown = story_label([MISSILE_2017, DMZ_2019, DMZ_2019], **TOPIC)
    # Two of three developments are the DMZ meeting: the label says so, not 2017's launch.
    assert "Trump" in grown.split(" · ") and first != grown


def test_names_of_several_words_stay_whole() -> None:
    label = story_label(
        [["North Korea's Kim Yong Chol lands in New York for talks with Pompeo"]],
        case_hints=["A close aide arrived in New York for meetings with Pompeo and Kim Yong Chol."],
    )
    parts = label.split(" · ")
    assert "Kim Yong Chol" in parts and "New York" in parts and "York" not in parts


def test_a_name_does_not_run_across_punctuation_or_a_possessive() -> None:
    label = story_label([["North Korean missile lands in Japan's EEZ, Abe condemns launch"]])
    assert "EEZ Abe" not in label and "Japan EEZ" not in label


def test_attribution_and_numbers_are_no_label() -> None:
    label = story_label(
        [["N. Korea fires ICBM toward East Sea: JCS"], ["Putin arrives on first visit in 24 years"]]
    )
    assert "JCS" not in label and "24" not in label


def test_nothing_to_say_gives_an_empty_label() -> None:
    assert story_label([]) == ""
    assert story_label([["2024 — 10:00"]]) == ""


def test_a_label_is_plain_words_whatever_the_headlines_hold() -> None:
    hostile = [
        ["<!channel> *Kim* meets [Putin](https://evil.example) in Vladivostok @everyone"],
        ["<@U123> Kim and Putin `sign` a pact in Vladivostok ||spoiler||"],
    ]
    label = story_label(hostile)
    parts = [part.replace(" ", "").replace(".", "") for part in label.split(" · ")]
    assert label and all(part.isalnum() for part in parts), label


def test_dates_are_no_label_but_a_protest_march_is_a_subject() -> None:
    summit = [
        ["Trump says June 12 summit with North Korea's Kim is back on"],
        ["Trump and Kim meet at June summit in Singapore"],
    ]
    label = story_label(summit, **TOPIC)
    assert "june" not in words(label) and "Trump" in label.split(" · ")
    marches = [["Thousands march in Seoul against the deal"], ["Second march in Seoul draws thousands"]]
    assert "march" in words(story_label(marches))


def test_a_word_written_as_a_name_only_inside_a_longer_name_is_no_name_alone() -> None:
    # 'Sea' is capitalised only in 'East Sea'; elsewhere it is 'the sea'. A bare 'Sea' names nothing.
    launches = [
        ["N. Korea fires ballistic missile toward East Sea: JCS"],
        ["North Korea fires missile into the sea"],
        ["North Korea fires missile from sea, Japan protests"],
        ["N. Korea fires missile into East Sea: JCS"],
        ["Missile falls into the sea off Japan"],
    ]
    hints = [
        "The missile flew toward the East Sea.",
        "It landed in the East Sea.",
        "Another fell in the East Sea.",
    ]
    parts = story_label(launches, **TOPIC, case_hints=hints).split(" · ")
    assert "Sea" not in parts and "missile" in parts
