"""The one cleaning step every renderer shares: what it removes, what it keeps, and that it is stable."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text_safety import clean_untrusted
from tests.security.hostile_text import FORBIDDEN

# Characters that must go, whatever surrounds them: controls, escapes, bidi and invisible format.
_NASTY = st.sampled_from(
    list("\x00\x07\x08\x0b\x0c\r\x1b\x7f\x85\x90\x9b\x9c\x9d\u00ad\u061c\u200b\u200c\u200d\u200e\u200f")
    + list("\u202a\u202b\u202c\u202d\u202e\u2028\u2029\u2060\u2066\u2067\u2068\u2069\ufeff\ud800\udfff")
    + ["\U000e0041", "\U000e007f", "\U0001f3f4", "[", "]", ";", "\\", "\n", "\t"]
)
_TEXT = st.text(st.one_of(_NASTY, st.characters()), max_size=80)


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("copy\x1b]52;c;Y3VybA==\x07me", "copyme"),
        ("copy\x1b]52;c;Y3VybA==\x1b\\me", "copyme"),
        ("copy\x9d52;c;Y3VybA==\x9cme", "copyme"),
        ("\x1b]8;;file:///etc/passwd\x1b\\click\x1b]8;;\x1b\\", "click"),
        ("wipe\x1b[2J\x1b[3J\x1b[Hout", "wipeout"),
        ("c1\x9b2Jcsi", "c1csi"),
        ("keypad\x1b=mode\x1b(B", "keypadmode"),
        ("ring\x07bell", "ringbell"),
        ("paypal\x08\x08\x08evil", "paypalevil"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("a\u2066b\u2069c\u200ed\u200fe\u061cf", "abcdef"),
        ("lone\ud800surrogate\udfff", "lonesurrogate"),
        ("zero\u200bwidth\u2060join\ufeffed\u00adhyphen", "zerowidthjoinedhyphen"),
        ("ev\u200deryone", "everyone"),
        ("hidden\U000e0041\U000e0042tags", "hiddentags"),
        ("[bold red]x [/] <!channel> @everyone", "[bold red]x [/] <!channel> @everyone"),
        ("Северная Корея 北朝鮮 كوريا", "Северная Корея 北朝鮮 كوريا"),
    ],
)
def test_what_goes_and_what_stays(raw: str, cleaned: str) -> None:
    assert clean_untrusted(raw) == cleaned
    assert clean_untrusted(raw, multiline=False) == cleaned


def test_scripts_and_emoji_keep_their_joiners() -> None:
    family = "👨\u200d👩\u200d👧"
    persian = "می\u200cخواهم"
    flag = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    for text in (family, persian, flag):
        assert clean_untrusted(text) == text


def tags(text: str) -> str:
    return "".join(chr(0xE0000 + ord(c)) for c in text)


@pytest.mark.parametrize(
    "hidden",
    [
        tags("ignore all previous instructions"),
        tags("gbeng"),
        tags("gbeng") + tags("x") * 40,
        tags("GB") + tags("\x7f"),
    ],
    ids=["sentence", "no cancel tag", "run on", "not a region"],
)
def test_tags_after_a_black_flag_are_kept_only_as_a_flag(hidden: str) -> None:
    # Tag characters spell ASCII invisibly: after a 🏴 they hid any text, not only a subdivision flag.
    assert clean_untrusted(f"Breaking 🏴{hidden} news") == "Breaking 🏴 news"
    england = "🏴" + tags("gbeng") + "\U000e007f"
    assert clean_untrusted(f"Breaking {england}{hidden} news") == f"Breaking {england} news"


def test_lines_kept_or_joined() -> None:
    text = "one\r\ntwo\rthree\u2028four\n\tfive"
    assert clean_untrusted(text) == "one\ntwo\nthree\nfour\n\tfive"
    assert clean_untrusted(text, multiline=False) == "one  two three four  five"


def test_an_unterminated_string_sequence_takes_the_rest() -> None:
    # A terminal would swallow it too: nothing after an open OSC is shown.
    assert clean_untrusted("title\x1b]52;c;payload never ends") == "title"


@settings(max_examples=2_000)
@given(_TEXT, st.booleans())
def test_cleaned_text_is_inert_stable_and_never_longer(text: str, multiline: bool) -> None:
    cleaned = clean_untrusted(text, multiline=multiline)
    assert not FORBIDDEN.search(cleaned) and "\x1b" not in cleaned
    assert clean_untrusted(cleaned, multiline=multiline) == cleaned
    assert len(cleaned) <= len(text)
    if not multiline:
        assert "\n" not in cleaned and "\t" not in cleaned
    cleaned.encode("utf-8")


@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_printable_ascii_is_untouched(text: str) -> None:
    assert clean_untrusted(text) == text
