"""`storywatch eval`: replay a stream through normalise + engine and write one prediction per item."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from bot.clock import ManualClock
from bot.ingest.normalise import clean_text, clean_title
from bot.ingest.urls import canonical_url
from bot.models import Article, Topic
from bot.store import Store, open_store
from bot.store.articles import save_articles
from bot.store.sources import add_source
from bot.store.topics import upsert_topic
from bot.stories.embedding import load_embedder
from bot.stories.engine import StoryEngine
from bot.stories.events import Decision
from bot.stories.persist import open_engine, process_and_record, save_snapshot
from bot.stories.query import keywords_query
from bot.stories.topics import IMPLICIT_TOPIC


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
        topics.append(
            Topic(
                entry["id"], entry.get("name", entry["id"]), query, description=entry.get("description", "")
            )
        )
    return topics


def _published(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def item_article(item: dict[str, Any], source_id: int, used_urls: set[str] | None = None) -> Article:
    """A stream item as the ingest normaliser would have made it (canonical URL, plain text)."""
    url = canonical_url(str(item.get("url", "")))
    if used_urls is not None:
        # Every item needs a prediction, so items sharing a URL are kept apart rather than de-duplicated.
        if not url or url in used_urls:
            url = f"{url or 'urn:storywatch:eval'}#item-{item['id']}"
        used_urls.add(url)
    return Article(
        url=url,
        title=clean_title(str(item.get("title", ""))),
        text=clean_text(str(item.get("summary", ""))),
        published=_published(item["published"]),
        source_id=source_id,
        item_key=str(item["id"]),
        language=str(item.get("lang", "")),
        source_name=str(item.get("source", "")),
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


_BATCH = 256
# Items are stored in larger chunks: one transaction per source and chunk is what a replay mostly waits on.
_SAVE_CHUNK = 2048


def run_eval(
    stream: Path, out: Path, topics: Path | None = None, gold: Path | None = None
) -> dict[str, Any] | None:
    """Replay STREAM in order through normalise + engine on a fresh temporary store; score with GOLD."""
    asyncio.run(_replay(stream, out, topics))
    if gold is None:
        return None
    return score(gold, out)


async def _replay(stream: Path, out: Path, topics_path: Path | None) -> None:
    topics = read_topics(topics_path) if topics_path else []
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    with tempfile.TemporaryDirectory(prefix="storywatch-eval-") as tmp:
        store = await open_store(f"sqlite+aiosqlite:///{Path(tmp) / 'eval.sqlite'}")
        try:
            for topic in topics or [Topic(IMPLICIT_TOPIC, "Every article", "*")]:
                await upsert_topic(store, topic, now=clock.now())
            engine = await open_engine(store, topics, embedder=load_embedder("auto"))
            sources: dict[str, int] = {}
            used_urls: set[str] = set()
            with out.open("w", encoding="utf-8") as handle:
                batch: list[dict[str, Any]] = []
                for item in read_stream(stream):
                    batch.append(item)
                    if len(batch) == _SAVE_CHUNK:
                        await _replay_batch(
                            store, engine, batch, sources, used_urls, clock, handle, bool(topics)
                        )
                        batch = []
                if batch:
                    await _replay_batch(store, engine, batch, sources, used_urls, clock, handle, bool(topics))
            # One snapshot at the end: a replay is never restarted midway, and each one costs a full dump.
            await save_snapshot(store, engine, now=clock.now())
        finally:
            await store.close()


async def _replay_batch(
    store: Store,
    engine: StoryEngine,
    items: list[dict[str, Any]],
    sources: dict[str, int],
    used_urls: set[str],
    clock: ManualClock,
    handle: TextIO,
    with_topics: bool,
) -> None:
    by_source: dict[int, list[Article]] = {}
    order: list[tuple[str, int, str]] = []
    for item in items:
        name = str(item.get("source", ""))
        if name not in sources:
            source = await add_source(
                store, f"https://eval.invalid/source/{len(sources) + 1}", now=clock.now(), title=name
            )
            sources[name] = source.id
        article = item_article(item, sources[name], used_urls)
        by_source.setdefault(sources[name], []).append(article)
        order.append((str(item["id"]), sources[name], article.item_key))
    saved: dict[str, Article] = {}
    for source_id, batch in by_source.items():
        clock.set(max(a.published for a in batch))
        result = await save_articles(store, source_id, batch, now=clock.now())
        saved.update({a.item_key: a for a in result.saved})
    names = {v: k for k, v in sources.items()}
    articles = []
    for _, source_id, key in order:
        stored = saved.get(key) or next(a for a in by_source[source_id] if a.item_key == key)
        articles.append(replace(stored, source_name=names[source_id]))
    # The engine takes the saved chunk in its usual batches, each decided before the next is seen.
    for start in range(0, len(articles), _BATCH):
        part = articles[start : start + _BATCH]
        clock.set(max(a.published for a in part))
        decisions = await process_and_record(store, engine, part, now=clock.now(), snapshot=False)
        for (item_id, _, _), decision in zip(order[start : start + _BATCH], decisions, strict=True):
            handle.write(json.dumps(prediction(item_id, decision, with_topics)) + "\n")


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


def eval_command(
    stream: Annotated[Path, typer.Argument(help="stream JSONL, one item a line, in arrival order")],
    out: Annotated[Path, typer.Option("--out", help="where to write one prediction per item (JSONL)")],
    topics: Annotated[
        Path | None,
        typer.Option("--topics", help='topics JSON: [{"id","name","keywords":[...],"description"}]'),
    ] = None,
    gold: Annotated[
        Path | None, typer.Option("--gold", help="gold JSONL: print the scorer's metrics")
    ] = None,
) -> None:
    """Replay a stream through normalise + engine, as the bot would have seen it, and write predictions."""
    if not stream.is_file():
        raise typer.BadParameter(f"{stream}: no such file", param_hint="STREAM")
    run_eval(stream, out, topics, gold)


if __name__ == "__main__":
    typer.run(eval_command)
