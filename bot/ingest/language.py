"""A cheap language guess for entries whose feed names no language: script ranges, then stopwords.

Deliberately small (no model): it answers "" when unsure, which callers treat as "unknown".
"""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the and of to in is that for on with as was by at from it are be this has have an not "
        "but after over says said will who their its were been",
        "de": "der die das und ist nicht mit den von zu sich des auf für ein eine im dem auch es "
        "wird bei nach wie aus sind hat oder",
        "fr": "le la les et des est une dans pour que qui sur du au pas par plus sont avec ce il "
        "elle aux ont cette été",
        "es": "el la los las y de que en un una por con para es del se no su al lo como más pero "
        "sus ha fue este",
        "pt": "o os as e de que em um uma para com não do da dos das no na se por mais foi ao são "
        "como pelo pela",
        "it": "il lo la gli le e di che un una per con non del della è sono nel alla si anche più "
        "dei delle ha",
        "nl": "de het een en van is dat op te in met voor niet zijn er aan ook als bij door werd naar over",
        "sv": "och att det som en på är av för med till den har inte om ett var från jag men",
        "no": "og i det som en på er av for med til den har ikke om et var fra jeg men blir",
        "da": "og i det som en på er af for med til den har ikke om et var fra jeg men bliver",
        "pl": "i w na z że do się nie jest to o jak po przez dla od za ale czy",
        "tr": "ve bir bu için ile da de olarak olan daha çok gibi en ama ne kadar sonra",
        "id": "yang dan di ini itu dengan untuk dari tidak dalam akan pada juga ke karena",
    }.items()
}

_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _lang, _words in _STOPWORDS.items():
    for _word in _words:
        _LANGUAGES_OF[_word] = (*_LANGUAGES_OF.get(_word, ()), _lang)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("uk", re.compile(r"[їєґі]", re.IGNORECASE)),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("bn", re.compile(r"[\u0980-\u09ff]")),
    ("ta", re.compile(r"[\u0b80-\u0bff]")),
    ("kn", re.compile(r"[\u0c80-\u0cff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)


def guess_language(text: str) -> str:
    """ISO 639-1 code of the likely language of `text`, or "" when the evidence is thin."""
    sample = text[:1000]
    if not sample.isascii():
        letters = len(_LETTER.findall(sample))
        for lang, script in _SCRIPTS:
            # A script must carry a fair share of the letters, so one quoted word does not decide.
            if len(script.findall(sample)) >= max(2, letters // 5):
                return lang
    words = _WORD.findall(sample.lower())
    scores: Counter[str] = Counter()
    for word in words:
        scores.update(_LANGUAGES_OF.get(word, ()))
    ranked = scores.most_common(2)
    if not ranked or ranked[0][1] < 3:
        return ""
    best, score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    return best if score >= runner_up * 1.5 and score >= len(words) * 0.08 else ""
