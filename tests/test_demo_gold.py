"""The demo's alerts read against the scenario's gold labels, as a user of the followed topic reads them.

Each alert is mapped, by the article ids of its development, to the gold development most of them
belong to. An alert is a development's first (precision counts these), a rewrite of one already alerted,
or off the topic. Recall is the share of the topic's gold developments alerted at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.demo.session import DEMO_TOPIC
from tests.test_demo import SEED_DEVELOPMENTS, FirstRun, first_run

__all__ = ["first_run"]


@dataclass
class AlertScore:
    alerts: int = 0
    firsts: int = 0
    rewrites: list[str] = field(default_factory=list)
    off_topic: list[str] = field(default_factory=list)
    new_stories: int = 0
    gold_developments: list[str] = field(default_factory=list)
    gold_stories: int = 0
    alerted: Counter[str] = field(default_factory=Counter)

    @property
    def precision(self) -> float:
        return self.firsts / self.alerts if self.alerts else 0.0

    @property
    def recall(self) -> float:
        hit = sum(1 for d in self.gold_developments if self.alerted[d])
        return hit / len(self.gold_developments) if self.gold_developments else 0.0

    @property
    def missed(self) -> list[str]:
        return [d for d in self.gold_developments if not self.alerted[d]]


def score_alerts(database: Path, gold_path: Path, topic: str) -> AlertScore:
    gold = [json.loads(line) for line in gold_path.open(encoding="utf-8") if line.strip()]
    label = {g["id"]: g["development"] for g in gold} | SEED_DEVELOPMENTS
    in_topic = [g for g in gold if topic in (g["topics"] or [])]
    score = AlertScore(
        gold_developments=list(dict.fromkeys(g["development"] for g in in_topic)),
        gold_stories=len({g["story"] for g in in_topic}),
    )
    with sqlite3.connect(database) as db:
        items: dict[int, list[str]] = {}
        for key, article_id in db.execute("SELECT item_key, article_id FROM source_items"):
            # guids are tag URIs ending in the stream id (seeds/README.md).
            items.setdefault(article_id, []).append(str(key).rsplit(":", 1)[-1])
        story_of = dict(db.execute("SELECT id, story_id FROM developments").fetchall())
        first_of_story: dict[int, int] = {}
        for dev_id, story_id in sorted(story_of.items()):
            first_of_story.setdefault(story_id, dev_id)
        alerts = db.execute(
            "SELECT development_id FROM outbox WHERE kind = 'alert' AND status = 'sent' ORDER BY id"
        ).fetchall()
        for (dev_id,) in alerts:
            articles = db.execute(
                "SELECT article_id FROM development_articles WHERE development_id = ?"
                " ORDER BY joined_at, article_id",
                (dev_id,),
            ).fetchall()
            labels = [
                label.get(item, "?") for (article_id,) in articles for item in items.get(article_id, [])
            ]
            counts = Counter(labels)
            # The most common label; a tie goes to the development's earliest article.
            best = max(counts, key=lambda lab: (counts[lab], -labels.index(lab))) if labels else "?"
            score.alerts += 1
            score.new_stories += first_of_story.get(story_of.get(dev_id, -1)) == dev_id
            if best not in score.gold_developments:
                score.off_topic.append(best)
            elif score.alerted[best]:
                score.rewrites.append(best)
            else:
                score.firsts += 1
            score.alerted[best] += 1
    return score


@pytest.fixture(scope="module")
def demo_score(first_run: FirstRun, shared_dir: Path) -> AlertScore:
    score = score_alerts(
        first_run.data / "storywatch.sqlite", shared_dir / "eval/scenarios/gold.jsonl", DEMO_TOPIC
    )
    print(
        f"\ndemo alerts={score.alerts} precision={score.precision:.3f} recall={score.recall:.3f} "
        f"rewrites={score.rewrites} off_topic={score.off_topic} new_stories={score.new_stories} "
        f"missed={score.missed}"
    )
    return score


def test_demo_alerts_are_mostly_first_reports(demo_score: AlertScore) -> None:
    assert demo_score.alerts > 0
    # At most one alert rewrites a development already alerted; no gold development alerted twice more.
    assert len(demo_score.rewrites) <= 1, demo_score.rewrites
    assert demo_score.precision >= 0.9, f"precision {demo_score.precision:.3f}"
    assert demo_score.recall >= 0.9, f"recall {demo_score.recall:.3f}, missed {demo_score.missed}"


def test_every_gold_development_is_alerted_exactly_once(demo_score: AlertScore) -> None:
    assert demo_score.missed == []
    assert all(demo_score.alerted[d] == 1 for d in demo_score.gold_developments)


def test_new_story_alerts_are_few(demo_score: AlertScore) -> None:
    # One more than the topic's storylines: an off-topic obituary naming Pyongyang in passing is one.
    assert demo_score.new_stories <= demo_score.gold_stories + 1
