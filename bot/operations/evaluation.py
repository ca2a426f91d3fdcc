"""`storywatch eval`: replay a stream through normalise + engine and write one prediction per item.

The inputs are checked before anything is replayed: a bad line is reported by its number, in one line
(EvalInputError), and no prediction file is left half-written by it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

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

# Called as items are decided: (items done, items in all).
Progress = Callable[[int, int], None]
_TEXT_FIELDS = ("source", "url", "title", "summary", "lang")


class EvalInputError(ValueError):
    """A stream, topics or gold file the replay cannot use; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class EvalReport:
    items: int
    # The scorer's metrics and their readable text, with a gold file.
    metrics: dict[str, Any] | None = None
    text: str = ""


def read_stream(path: Path) -> Iterator[dict[str, Any]]:
    """The stream's items in order (check_stream first: this trusts them)."""
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                yield json.loads(raw.decode("utf-8"))


def check_stream(path: Path) -> int:
    """The number of items in the stream; EvalInputError names the first bad line."""
    seen: dict[str, int] = {}
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            where = f"{path} line {number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise EvalInputError(f"{where}: not UTF-8 text") from None
            if not line.strip():
                continue
            item_id = _checked_item(line, where)
            if item_id in seen:
                raise EvalInputError(f"{where}: id {item_id[:40]!r} was used on line {seen[item_id]}")
            seen[item_id] = number
    if not seen:
        raise EvalInputError(f"{path}: no items")
    return len(seen)


def _checked_item(line: str, where: str) -> str:
    try:
        item = json.loads(line.strip())
    except json.JSONDecodeError as exc:
        raise EvalInputError(f"{where}: not JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(item, dict):
        raise EvalInputError(f"{where}: not a JSON object")
    item_id = item.get("id")
    if not isinstance(item_id, str | int) or isinstance(item_id, bool) or str(item_id) == "":
        raise EvalInputError(f"{where}: 'id' must be a non-empty string")
    for key in _TEXT_FIELDS:
        if not isinstance(item.get(key, ""), str):
            raise EvalInputError(f"{where}: {key!r} must be a string")
    try:
        _published(item["published"])
    except (KeyError, TypeError, ValueError, AttributeError):
        shown = json.dumps(item.get("published"))[:40]
        raise EvalInputError(
            f"{where}: 'published' must be a time like 2024-10-18T03:12:00Z, not {shown}"
        ) from None
    return str(item_id)


def read_topics(path: Path) -> list[Topic]:
    """Accept topics.json (`[{"id","name","keywords":[...],"description"}]`); keywords become an OR query."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: not JSON ({exc})") from None
    if not isinstance(raw, list):
        raise EvalInputError(f"{path}: expected a list of topics")
    topics = []
    for number, entry in enumerate(raw, 1):
        where = f"{path} topic {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            raise EvalInputError(f"{where}: needs an 'id' (a string)")
        keywords = entry.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise EvalInputError(f"{where}: 'keywords' must be a list of strings")
        query = entry.get("query") or keywords_query(keywords)
        if not isinstance(query, str) or not query.strip():
            raise EvalInputError(f"{where}: needs a 'query' or some 'keywords'")
        topics.append(
            Topic(
                entry["id"],
                str(entry.get("name", entry["id"])),
                query,
                description=str(entry.get("description", "")),
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
    stream: Path,
    out: Path,
    topics: Path | None = None,
    gold: Path | None = None,
    *,
    progress: Progress | None = None,
) -> dict[str, Any] | None:
    """Replay STREAM in order through normalise + engine on a fresh temporary store; score with GOLD."""
    return evaluate_stream(stream, out, topics, gold, progress=progress).metrics


def evaluate_stream(
    stream: Path,
    out: Path,
    topics: Path | None = None,
    gold: Path | None = None,
    *,
    progress: Progress | None = None,
) -> EvalReport:
    """run_eval with what the command line shows: the item count and the scorer's text as well."""
    total = check_stream(stream)
    topic_list = read_topics(topics) if topics else []
    scorer = _scorer(gold) if gold is not None else None
    gold_rows = _checked(scorer, lambda: scorer.load_gold(str(gold))) if scorer is not None else None
    asyncio.run(_replay(stream, out, topic_list, total, progress))
    if scorer is None:
        return EvalReport(total)
    metrics: dict[str, Any] = _checked(scorer, lambda: scorer.evaluate(gold_rows, scorer.load_pred(str(out))))
    return EvalReport(total, metrics, str(scorer.format_text(metrics)))


@dataclass
class _Replay:
    """One replay's running state: the store and engine, the sources made so far, where predictions go."""

    store: Store
    engine: StoryEngine
    clock: ManualClock
    handle: TextIO
    with_topics: bool
    total: int
    progress: Progress | None
    sources: dict[str, int]
    used_urls: set[str]
    done: int = 0


async def _replay(
    stream: Path, out: Path, topics: list[Topic], total: int, progress: Progress | None
) -> None:
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    with tempfile.TemporaryDirectory(prefix="storywatch-eval-") as tmp:
        store = await open_store(f"sqlite+aiosqlite:///{Path(tmp) / 'eval.sqlite'}")
        try:
            for topic in topics or [Topic(IMPLICIT_TOPIC, "Every article", "*")]:
                await upsert_topic(store, topic, now=clock.now())
            engine = await open_engine(store, topics, embedder=load_embedder("auto"))
            with out.open("w", encoding="utf-8") as handle:
                run = _Replay(store, engine, clock, handle, bool(topics), total, progress, {}, set())
                batch: list[dict[str, Any]] = []
                for item in read_stream(stream):
                    batch.append(item)
                    if len(batch) == _SAVE_CHUNK:
                        await _replay_batch(run, batch)
                        batch = []
                if batch:
                    await _replay_batch(run, batch)
            # One snapshot at the end: a replay is never restarted midway, and each one costs a full dump.
            await save_snapshot(store, engine, now=clock.now())
        finally:
            await store.close()


async def _replay_batch(run: _Replay, items: list[dict[str, Any]]) -> None:
    by_source: dict[int, list[Article]] = {}
    order: list[tuple[str, int, str]] = []
    sources, clock = run.sources, run.clock
    for item in items:
        name = str(item.get("source", ""))
        if name not in sources:
            source = await add_source(
                run.store, f"https://eval.invalid/source/{len(sources) + 1}", now=clock.now(), title=name
            )
            sources[name] = source.id
        article = item_article(item, sources[name], run.used_urls)
        by_source.setdefault(sources[name], []).append(article)
        order.append((str(item["id"]), sources[name], article.item_key))
    saved: dict[str, Article] = {}
    for source_id, batch in by_source.items():
        clock.set(max(a.published for a in batch))
        result = await save_articles(run.store, source_id, batch, now=clock.now())
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
        decisions = await process_and_record(run.store, run.engine, part, now=clock.now(), snapshot=False)
        for (item_id, _, _), decision in zip(order[start : start + _BATCH], decisions, strict=True):
            run.handle.write(json.dumps(prediction(item_id, decision, run.with_topics)) + "\n")
        run.done += len(part)
        if run.progress is not None:
            run.progress(run.done, run.total)


def score(gold: Path, pred: Path) -> dict[str, Any]:
    """The shared scorer's metrics for a prediction file (score.py found beside the gold file)."""
    scorer = _scorer(gold)
    return dict(
        _checked(scorer, lambda: scorer.evaluate(scorer.load_gold(str(gold)), scorer.load_pred(str(pred))))
    )


def _scorer(gold: Path) -> ModuleType:
    """The shared scorer (score.py beside the gold file, a folder up, or in ../shared/eval), loaded once."""
    for folder in (gold.resolve().parent, gold.resolve().parent.parent, Path("../shared/eval").resolve()):
        candidate = folder / "score.py"
        if candidate.is_file():
            spec = importlib.util.spec_from_file_location("storywatch_score", candidate)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise EvalInputError(f"{gold.name}: the scorer (score.py) is not beside it nor in ../shared/eval")


def _checked(scorer: ModuleType, work: Callable[[], Any]) -> Any:
    """The scorer's own input errors (a bad gold line, ids that differ) as EvalInputError."""
    try:
        return work()
    except scorer.InputError as exc:
        raise EvalInputError(str(exc).replace("\n", " ")) from None
