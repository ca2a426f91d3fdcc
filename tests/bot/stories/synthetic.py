"""A small deterministic news stream for state tests: topics, bursty developments, noise, slug-only items.

Made-up words, so it needs no model; quick enough for a few thousand articles in a test.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from bot.models import Article, Topic

_SYLLABLES = ["ka", "lo", "mi", "ren", "tas", "vo", "qui", "bar", "nel", "dor", "sa", "pex", "ul", "tri"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def synthetic_stream(
    n_topics: int = 12, *, seed: int = 3, step_s: int = 600, start: datetime | None = None
) -> tuple[list[Topic], Iterator[Article]]:
    rng = random.Random(seed)
    lexicon = list(dict.fromkeys(_word(rng) for _ in range(4000)))
    common, rare = lexicon[:600], lexicon[600:]
    names = [w.capitalize() for w in rng.sample(rare, n_topics)]
    topics = [
        Topic(f"t{i}", f"Topic {name}", f"{name} OR {name.lower()}land") for i, name in enumerate(names)
    ]
    began = start or datetime(2024, 1, 1, tzinfo=UTC)

    def articles() -> Iterator[Article]:
        active: list[tuple[int, list[str], int]] = []
        n = 0
        while True:
            if not active or rng.random() < 0.2:
                event = [w.capitalize() for w in rng.sample(rare, 3)] + rng.sample(rare, 3)
                active.append((rng.randrange(n_topics), event, rng.randint(2, 6)))
                active = active[-40:]
            n += 1
            if rng.random() < 0.5:
                title = " ".join(rng.sample(common, 7)).capitalize()
                text = " ".join(rng.sample(common, 15))
            else:
                k = rng.randrange(len(active))
                topic, event, left = active[k]
                words = [*rng.sample(event, 3), *rng.sample(common, 3), names[topic]]
                rng.shuffle(words)
                title = " ".join(words)
                text = " ".join(rng.sample(event, 3) + rng.sample(common, 10))
                active[k] = (topic, event, left - 1)
                if left <= 1:
                    active.pop(k)
            if rng.random() < 0.05:
                # An item with no text of its own: the engine reads its URL's slug.
                text = ""
            yield Article(
                url=f"https://news.invalid/{n}/{'-'.join(title.lower().split()[:4])}",
                title=title,
                text=text,
                published=began + timedelta(seconds=n * step_s),
                source_id=rng.randrange(30),
                item_key=str(n),
                source_name=f"outlet{rng.randrange(30)}",
                id=n,
            )

    return topics, articles()
