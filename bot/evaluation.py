"""`storywatch eval`: replay a stream through normalise + engine and write one prediction per item."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.models import Article, Topic
from bot.stories.engine import StoryEngine
from bot.stories.events import Decision
from bot.stories.query import keywords_query


def read_stream(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def read_topics(path: Path) -> list[Topic]:
    """Accept topics.json (`[{"id","name","keywords":[...],"description"}]`); keywords become an OR query."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    topics = []
    for entry in raw:
        query = entry.get("query") or keywords_query(entry.get("keywords", []))
        topics.append(Topic(entry["id"], entry.get("name", entry["id"]), query, description=entry.get("description", "")))
    return topics


def _published(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def item_article(item: dict[str, Any], number: int, source_ids: dict[str, int]) -> Article:
    source = str(item.get("source", ""))
    source_id = source_ids.setdefault(source, len(source_ids) + 1)
    return Article(
        url=str(item.get("url", "")),
        title=str(item.get("title", "")),
        text=str(item.get("summary", "")),
        published=_published(item["published"]),
        source_id=source_id,
        item_key=str(item["id"]),
        language=str(item.get("lang", "")),
        source_name=source,
        id=number,
    )


def prediction(item_id: str, decision: Decision, with_topics: bool) -> dict[str, Any]:
    first = decision.assignments[0] if decision.assignments else None
    pred: dict[str, Any] = {
        "id": item_id,
        "development": f"d{first.development_id}" if first else None,
        "story": f"s{first.story_id}" if first else None,
        "new_development": decision.new_development,
    }
    if with_topics:
        pred["topics"] = list(decision.topics)
    return pred


def run_eval(stream: Path, out: Path, topics: Path | None = None, gold: Path | None = None) -> dict[str, Any] | None:
    engine = StoryEngine(read_topics(topics) if topics else ())
    source_ids: dict[str, int] = {}
    with out.open("w", encoding="utf-8") as handle:
        for number, item in enumerate(read_stream(stream), start=1):
            decision = engine.process(item_article(item, number, source_ids))
            handle.write(json.dumps(prediction(str(item["id"]), decision, topics is not None)) + "\n")
    if gold is None:
        return None
    return score(gold, out)


def score(gold: Path, pred: Path) -> dict[str, Any]:
    """Run the shared scorer's own logic, found beside the gold file or in ../shared/eval."""
    import importlib.util

    for folder in (gold.resolve().parent, gold.resolve().parent.parent, Path("../shared/eval").resolve()):
        candidate = folder / "score.py"
        if candidate.is_file():
            spec = importlib.util.spec_from_file_location("storywatch_score", candidate)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            result: dict[str, Any] = module.evaluate(module.load_gold(str(gold)), module.load_pred(str(pred)))
            print(module.format_text(result))
            return result
    raise FileNotFoundError("score.py not found beside the gold file")


if __name__ == "__main__":
    args = sys.argv[1:]
    opts = {k: Path(v) for k, v in zip(args[1::2], args[2::2], strict=False)}
    run_eval(Path(args[0]), opts["--out"], opts.get("--topics"), opts.get("--gold"))
