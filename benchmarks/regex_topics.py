"""Regex topics: what one costs per article; prints one JSON line.

(a) The search itself, for patterns at the bounds (repetition 100, span 200, 10,000 RE2 instructions)
    chosen to be hard for RE2, over texts of the largest normalised article (500 + 4,000 characters)
    built to be hard for them, each text new to the program: the worst median found (and the worst for
    three everyday patterns). Beside it, what the refused patterns of the issue (`(?:\\w+\\s){1000}`,
    `(.*){1000}`) cost when compiled the old way (lower-cased pattern, captures on).
(b) The engine with the 100 synthetic topics of benchmarks/engine.py, with and without 5 regex-only topics
    added, timed slice for slice in turn: articles/s each and their ratio.

Usage: python benchmarks/regex_topics.py [--model auto|none] [--slice 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import re2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from engine import _feed, _timed, synthetic_stream  # noqa: E402

from bot.models import Topic  # noqa: E402
from bot.stories.embedding import load_embedder  # noqa: E402
from bot.stories.engine import StoryEngine  # noqa: E402
from bot.stories.patterns import compile_pattern  # noqa: E402
from bot.stories.text import fold  # noqa: E402

ARTICLE_CHARS = 4_500
AT_THE_BOUNDS = [
    r"(?:\w+\s){100}",
    r"(?:\w+\s){99}qq",
    r"(?:\w+\W+){66}0",
    r"(.*){100}",
    r"(?:.*a.{23}){7}0",
    r"(?:.*a.{11}){15}0",
    r".*a.{100}0",
    r".*a.{100}.*a.{90}0",
    r"(?:[^0]*a[^0]{48}){3}0",
    r"[a-z ]*a[a-z ]{100}0",
    r"(?:(?:a|b)*a(?:a|b){8}){10}c",
    r".{100}x",
    r"\w{100}\w{99}",
    r"[\p{Han}]{2,8}",
    r"(?:\pL+\s){8}0",
]
REFUSED = [r"(?:\w+\s){1000}", r"(.*){1000}"]
REGEX_TOPICS = [
    r"re:/\bhwasong-1[5-9]\b/",
    r"re:/\d{4} (?:election|census)/",
    r"re:/(?:ukrain\w+|kyiv) (?:war|peace)/",
    r"re:/(?:\w+\s){98}qqq/",
    r"re:/.{100}xq/",
]


def hostile_texts(seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda"]
    return {
        "words without punctuation": " ".join(rng.choice(words) for _ in range(ARTICLE_CHARS // 5))[
            :ARTICLE_CHARS
        ],
        "a and b": "".join(rng.choice("ab ") for _ in range(ARTICLE_CHARS)),
        "letters digits punctuation": "".join(rng.choice("abcdefghij .,0123") for _ in range(ARTICLE_CHARS)),
        "accented": fold(
            " ".join(rng.choice(["café", "crème", "à", "Paris,", "très", "bon;"]) for _ in range(900))
        )[:ARTICLE_CHARS],
    }


def median_ms(search: Callable[[str], object], texts: list[str]) -> float:
    """Each text is new to the program, as each article is (RE2 keeps its DFA states between searches)."""
    times = []
    for text in texts:
        began = time.perf_counter()
        search(text)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def old_compile(pattern: str) -> object:
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    return re2.compile(fold(pattern), options)


def search_costs(repeats: int) -> dict[str, object]:
    samples = [hostile_texts(seed) for seed in range(repeats)]
    families = {name: [sample[name] for sample in samples] for name in samples[0]}
    worst = (0.0, "", "")
    for pattern in AT_THE_BOUNDS:
        for name, texts in families.items():
            # A fresh program per text family (re2 caches compiled patterns): no DFA states carried over.
            re2.purge()
            program = compile_pattern(pattern)
            worst = max(worst, (median_ms(program.search, texts), pattern, name))
    refused = {
        pattern: round(max(median_ms(old_compile(pattern).search, texts) for texts in families.values()), 2)  # type: ignore[attr-defined]
        for pattern in REFUSED
    }
    everyday = [query[4:-1] for query in REGEX_TOPICS[:3]]
    typical = max(
        median_ms(compile_pattern(pattern).search, texts)
        for pattern in everyday
        for texts in families.values()
    )
    return {
        "everyday_patterns_worst_search_ms": round(typical, 3),
        "bounded_patterns": len(AT_THE_BOUNDS),
        "worst_search_ms": round(worst[0], 3),
        "worst_pattern": worst[1],
        "worst_text": worst[2],
        "refused_before_ms": refused,
    }


def engine_costs(model: str, slice_size: int, repeats: int) -> dict[str, object]:
    embedder = load_embedder(model)
    topics, stream = synthetic_stream()
    regex_topics = [Topic(f"re{i}", f"Regex {i}", query) for i, query in enumerate(REGEX_TOPICS)]
    plain = StoryEngine(topics, embedder=embedder)
    with_regex = StoryEngine(topics + regex_topics, embedder=embedder)
    warm = [next(stream) for _ in range(2_000)]
    for engine in (plain, with_regex):
        _feed(engine, iter(warm), len(warm))
    slices = [[next(stream) for _ in range(slice_size)] for _ in range(repeats)]
    times: dict[str, list[float]] = {"plain": [], "regex": []}
    for chunk in slices:
        times["plain"].append(_timed(plain, chunk)[0])
        times["regex"].append(_timed(with_regex, chunk)[0])
    rate = {key: slice_size / statistics.median(value) for key, value in times.items()}
    return {
        "model": embedder is not None,
        "articles_per_s_100_topics": round(rate["plain"], 1),
        "articles_per_s_plus_5_regex_topics": round(rate["regex"], 1),
        "regex_ratio": round(rate["regex"] / rate["plain"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=["auto", "none", "wordllama"], default="auto")
    parser.add_argument("--slice", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    figures: dict[str, object] = {"bench": "regex_topics", "article_chars": ARTICLE_CHARS}
    figures.update(search_costs(args.repeats))
    figures.update(engine_costs(args.model, args.slice, args.repeats))
    figures["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
