"""Story engine throughput with 100 topics, at 10k and at 200k articles of history; prints one JSON line.

Synthetic, deterministic news: 100 topics, each a stream of stories made of bursty developments
(several outlets reporting one event within hours), mixed with off-topic noise. About 3,000 articles
a day, so 200k articles are two months of history; 70% of them match no topic.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.models import Article, Topic
from bot.stories.embedding import load_embedder
from bot.stories.engine import StoryEngine
from bot.stories.state import dump_engine, load_engine

N_TOPICS = 100
# Most of what feeds deliver matches no subscribed topic.
NOISE_SHARE = 0.7
_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ren",
    "tas",
    "vo",
    "qui",
    "bar",
    "nel",
    "dor",
    "sa",
    "pex",
    "ul",
    "tri",
    "gon",
]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def _lexicon(rng: random.Random) -> list[str]:
    """Real English words when the model extra is installed (its tokenizer's whole-word entries), so the
    model sees text like news rather than noise; made-up words otherwise."""
    spec = importlib.util.find_spec("wordllama")
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "tokenizers" / "l2_supercat_tokenizer_config.json"
        if path.is_file():
            vocab = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
            words = sorted(
                (
                    (rank, key[1:].lower())
                    for key, rank in vocab.items()
                    if key.startswith("▁") and key[1:].isalpha()
                ),
            )
            unique = list(dict.fromkeys(w for _, w in words if len(w) >= 4))
            if len(unique) > 8000:
                return unique
    return list(dict.fromkeys(_word(rng) for _ in range(12000)))


def synthetic_stream(seed: int = 7) -> tuple[list[Topic], Iterator[Article]]:
    rng = random.Random(seed)
    lexicon = _lexicon(rng)
    common = lexicon[:3000]
    rare = lexicon[3000:]
    topic_words = [w.capitalize() for w in rng.sample(rare, N_TOPICS)]
    topics = [Topic(f"t{i}", f"Topic {i}", f"{w} OR {w}land") for i, w in enumerate(topic_words)]

    def articles() -> Iterator[Article]:
        start = datetime(2024, 1, 1, tzinfo=UTC)
        n = 0
        active: list[tuple[int, list[str], int]] = []
        while True:
            if not active or rng.random() < 0.25:
                topic = rng.randrange(N_TOPICS)
                event = [w.capitalize() for w in rng.sample(rare, 4)] + rng.sample(rare, 3)
                active.append((topic, event, rng.randint(2, 8)))
                active = active[-400:]
            published = start + timedelta(seconds=n * 29)
            if rng.random() < NOISE_SHARE:
                words = rng.sample(common, 8)
                title = " ".join(words).capitalize()
                text = " ".join(rng.sample(common, 20))
            else:
                k = rng.randrange(len(active))
                topic, event, left = active[k]
                words = rng.sample(event, 4) + rng.sample(common, 3) + [topic_words[topic]]
                rng.shuffle(words)
                title = " ".join(words)
                text = " ".join(rng.sample(event, 3) + rng.sample(common, 15))
                if left <= 1:
                    active.pop(k)
                else:
                    active[k] = (topic, event, left - 1)
            n += 1
            yield Article(
                url=f"https://news.invalid/{n}",
                title=title,
                text=text,
                published=published,
                source_id=rng.randrange(200),
                item_key=str(n),
                source_name=f"outlet{rng.randrange(200)}",
                id=n,
            )

    return topics, articles()


def _feed(engine: StoryEngine, stream: Iterator[Article], count: int, batch: int = 256) -> None:
    while count > 0:
        size = min(batch, count)
        engine.process_batch([next(stream) for _ in range(size)])
        # The store layer takes the changed rows after each batch; so does the benchmark.
        engine.take_dirty()
        count -= size


def _timed(engine: StoryEngine, chunk: list[Article]) -> tuple[float, float]:
    """Wall-clock and CPU seconds this process takes to decide one slice, in the engine's 256-item batches."""
    began, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(chunk), 256):
        engine.process_batch(chunk[start : start + 256])
        engine.take_dirty()
    return time.perf_counter() - began, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--slice", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", choices=["auto", "none", "wordllama"], default="auto")
    args = parser.parse_args()
    topics, stream = synthetic_stream()
    embedder = load_embedder(args.model)
    engine = StoryEngine(topics, embedder=embedder)
    _feed(engine, stream, args.small)
    # The engine at 10k is kept as its snapshot (what a restart loads), with the slices that follow it; the
    # same engine then goes on to 200k. Both are timed at the end, slice for slice in turn, so the machine's
    # load (2 shared cores) weighs on both alike and the ratio compares like with like.
    at_small = dump_engine(engine)
    follow = [next(stream) for _ in range(args.slice * args.repeats)]
    for start in range(0, len(follow), 256):
        engine.process_batch(follow[start : start + 256])
        engine.take_dirty()
    _feed(engine, stream, args.large - args.small - len(follow))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    small_engine = load_engine(at_small, topics, embedder=embedder)
    small, large = [], []
    for k in range(args.repeats):
        small.append(_timed(small_engine, follow[k * args.slice : (k + 1) * args.slice]))
        large.append(_timed(engine, [next(stream) for _ in range(args.slice)]))

    size: int = args.slice

    def rate(times: list[tuple[float, float]], which: int) -> float:
        return size / float(statistics.median(t[which] for t in times))

    print(
        json.dumps(
            {
                "bench": "engine",
                "articles_per_s_10k": round(rate(small, 0), 1),
                "articles_per_s_200k": round(rate(large, 0), 1),
                "ratio": round(rate(large, 0) / rate(small, 0), 3),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "cpu_articles_per_s_10k": round(rate(small, 1), 1),
                "cpu_articles_per_s_200k": round(rate(large, 1), 1),
                "topics": N_TOPICS,
                "model": embedder is not None,
                "active_developments": len(engine.developments),
                "stories": len(engine.stories),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
